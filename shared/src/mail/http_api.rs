//! What the email APIs (SendGrid, Mailgun, Mandrill) share: one HTTP client, and how an answer's
//! status decides between "try again later" and "this message will never go".

use super::MailError;

/// The HTTP client for email APIs: bounded time, no redirects (an API answers, it does not move).
pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls((*crate::tls::client_config()).clone())
        .build()
        .expect("the HTTP client builds")
}

/// A failed request: the provider is unreachable or slow, so try again later.
pub(super) fn unreachable(provider: &'static str, e: reqwest::Error) -> MailError {
    // Without the URL: some providers put the account in it, and nothing else in it helps.
    MailError::Unavailable(format!("{provider}: {}", e.without_url()).into())
}

/// A non-2xx answer: throttling and server errors pass, anything else is about this message or the
/// account and will not pass by waiting.
pub(super) async fn refused(provider: &'static str, response: reqwest::Response) -> MailError {
    let status = response.status();
    let body: String = response.text().await.unwrap_or_default().chars().take(300).collect();
    let problem = format!("{provider} answered {status}: {body}");
    if status.as_u16() == 429 || status.is_server_error() {
        MailError::Unavailable(problem.into())
    } else {
        MailError::Rejected(problem)
    }
}
