//! The webhook HTTP client. DNS answers pass through the network policy inside the connector, so the
//! client connects only to addresses it checked (no gap for DNS rebinding); literal IP hosts are
//! checked before the request. Redirects are not followed.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::NetworkPolicy;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("destination {0} is not allowed by the webhook network policy")]
    BlockedAddress(String),
    #[error("timed out")]
    TimedOut,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub duration: Duration,
    /// `Retry-After` in seconds, when the receiver sent one.
    pub retry_after: Option<u64>,
}

#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<NetworkPolicy>,
}

struct GuardedResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved.iter().copied().filter(|a| policy.permits(a.ip())).collect();
            if allowed.is_empty() {
                let ips: Vec<String> = resolved.iter().map(|a| a.ip().to_string()).collect();
                tracing::warn!(host = %host, addresses = ?ips, "webhook destination refused by network policy");
                return Err(
                    Box::new(WebhookError::BlockedAddress(format!("{host} ({})", ips.join(", "))))
                        as Box<dyn std::error::Error + Send + Sync>,
                );
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl WebhookClient {
    pub fn new(policy: NetworkPolicy, timeout: Duration) -> Self {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .dns_resolver(GuardedResolver { policy: policy.clone() })
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Gatehouse-Webhooks/", env!("CARGO_PKG_VERSION")))
            .use_preconfigured_tls((*crate::tls::client_config()).clone())
            .build()
            .expect("the webhook HTTP client configuration is valid");
        Self { http, policy }
    }

    /// POSTs `body` with `headers`; any HTTP status is a response (the caller decides what it means).
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<WebhookResponse, WebhookError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| WebhookError::InvalidUrl(e.to_string()))?;
        // Literal IP hosts never reach the resolver, so they are checked here.
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = literal {
            if !self.policy.permits(ip) {
                tracing::warn!(address = %ip, "webhook destination refused by network policy");
                return Err(WebhookError::BlockedAddress(ip.to_string()));
            }
        }
        let mut request = self.http.post(parsed).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let response = request.body(body).send().await.map_err(classify)?;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        Ok(WebhookResponse {
            status: response.status().as_u16(),
            duration: started.elapsed(),
            retry_after,
        })
    }
}

fn classify(e: reqwest::Error) -> WebhookError {
    if e.is_timeout() {
        return WebhookError::TimedOut;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(WebhookError::BlockedAddress(a)) = err.downcast_ref::<WebhookError>() {
            return WebhookError::BlockedAddress(a.clone());
        }
        source = err.source();
    }
    WebhookError::Connect(e.without_url().to_string())
}
