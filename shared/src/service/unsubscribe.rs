//! One-click unsubscribe (RFC 8058), without login: the token (sealed organisation, address and
//! category) is the only credential.

use super::{AppState, ServiceError};
use crate::mail::UnsubscribeToken;
use crate::store::suppression;

/// The opened token of an unsubscribe link for the organisation named `org`.
pub fn open(state: &AppState, org: &str, token: Option<&str>) -> Result<UnsubscribeToken, ServiceError> {
    let bad = || ServiceError::invalid("token", "is not a valid unsubscribe token");
    let raw = token.ok_or_else(bad)?;
    UnsubscribeToken::open(&state.secrets, raw)
        .filter(|t| t.org.as_str() == org)
        .ok_or_else(bad)
}

/// Opts the token's address out of its category of the organisation's emails.
pub async fn unsubscribe(state: &AppState, org: &str, token: Option<&str>) -> Result<UnsubscribeToken, ServiceError> {
    let token = open(state, org, token)?;
    suppression::opt_out(state.store.as_ref(), &token.org, &token.email, &token.category).await?;
    tracing::info!(org = %token.org, category = %token.category, "unsubscribed");
    Ok(token)
}
