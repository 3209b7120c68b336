//! Outgoing webhooks: Standard Webhooks signatures and an HTTP client that only connects to
//! addresses its network policy allows.

mod client;
mod network;
mod signing;

pub use client::{WebhookClient, WebhookError, WebhookResponse};
pub use network::NetworkPolicy;
pub use signing::{SigningSecret, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
