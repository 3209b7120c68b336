//! One-click unsubscribe (RFC 8058), without login: the token (sealed organisation, address and
//! category) is the only credential. Both the page and the post are counted per source address.

use std::net::IpAddr;

use super::notifications::turn_email_off;
use super::{limits, load_org_named, AppState, ServiceError};
use crate::domain::limits::Limit;
use crate::domain::notifications::notification_type;
use crate::domain::{AdminUserId, DeveloperId};
use crate::mail::UnsubscribeToken;
use crate::store::sessions::Account;
use crate::store::suppression;

/// The opened token of an unsubscribe link for the organisation named `org`.
fn open(state: &AppState, org: &str, token: Option<&str>) -> Result<UnsubscribeToken, ServiceError> {
    let bad = || ServiceError::invalid("token", "is not a valid unsubscribe token");
    let raw = token.ok_or_else(bad)?;
    UnsubscribeToken::open(&state.secrets, raw)
        .filter(|t| t.org.as_str() == org)
        .ok_or_else(bad)
}

/// The opened token, counted against `limit` for the caller's source address.
async fn counted(
    state: &AppState,
    org: &str,
    source: IpAddr,
    token: Option<&str>,
    limit: Limit,
) -> Result<UnsubscribeToken, ServiceError> {
    let token = open(state, org, token)?;
    let org = load_org_named(state, org).await?;
    limits::per_source(state, &org, limit, source).await?;
    Ok(token)
}

/// What the unsubscribe page asks about: the token's address and category.
pub async fn page(
    state: &AppState,
    org: &str,
    source: IpAddr,
    token: Option<&str>,
) -> Result<UnsubscribeToken, ServiceError> {
    counted(state, org, source, token, Limit::PublicReadsPerSource).await
}

/// Turns the person's email preference for the token's notification type off (the preference page
/// shows it), or opts a feed address out of its `event_options` family.
pub async fn unsubscribe(
    state: &AppState,
    org: &str,
    source: IpAddr,
    token: Option<&str>,
) -> Result<UnsubscribeToken, ServiceError> {
    let token = counted(state, org, source, token, Limit::UnsubscribesPerSource).await?;
    match (&token.person, notification_type(&token.category)) {
        // A person's notice: their preference for the type, as if they had set it themselves.
        (Some(person), Some(t)) if t.unsubscribable() => {
            let turned_off = if let Some(id) = DeveloperId::parse(person) {
                turn_email_off(state, &token.org, Account::Developer(&id), t).await
            } else if let Some(id) = AdminUserId::parse(person) {
                turn_email_off(state, &token.org, Account::Admin(&id), t).await
            } else {
                Err(ServiceError::invalid("token", "is not a valid unsubscribe token"))
            };
            turned_off?;
            tracing::info!(org = %token.org, notification = t.name, "unsubscribed: email preference off");
            return Ok(token);
        }
        // A feed address (or a link sent before preferences existed): opted out by address.
        _ => suppression::opt_out(state.store.as_ref(), &token.org, &token.email, &token.category).await?,
    }
    tracing::info!(org = %token.org, category = %token.category, "unsubscribed");
    Ok(token)
}
