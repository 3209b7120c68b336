//! One TLS client configuration for every outgoing HTTPS call: the AWS SDK's clients, webhooks and
//! the email providers' APIs. rustls (ring) with the Mozilla root certificates compiled in
//! (`webpki-roots`), built once per process when first used. Nothing reads certificate files at
//! start: the SDK's own client and reqwest's platform verifier would each read and parse the
//! system's whole certificate folder during a Lambda function's init.

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// How long a new connection may take before the call fails (the SDK's own default).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_millis(3_100);

/// The process's TLS client configuration.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the default protocol versions are supported")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    CONFIG.clone()
}

/// The AWS SDK's HTTP client: hyper over this process's TLS configuration. Connections are pooled
/// across the SDK clients of a process.
pub fn sdk_http_client() -> SharedHttpClient {
    let connector = SharedHttpConnector::new(SdkConnector::new());
    http_client_fn(move |_, _| connector.clone())
}

#[derive(Clone)]
struct SdkConnector {
    client: Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, SdkBody>,
}

impl std::fmt::Debug for SdkConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SdkConnector(hyper, rustls, webpki roots)")
    }
}

impl SdkConnector {
    fn new() -> Self {
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        // The emulator and stand-ins are plain HTTP on loopback; AWS is HTTPS.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*client_config()).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let response = client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    ConnectorError::io(Box::new(e))
                } else {
                    ConnectorError::other(Box::new(e), None)
                }
            })?;
            let response = response.map(SdkBody::from_body_1_x);
            Response::try_from(response).map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_configuration_trusts_the_compiled_in_roots() {
        let config = super::client_config();
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        assert!(std::sync::Arc::ptr_eq(&config, &super::client_config()), "built once");
    }
}
