//! The abuse limits, applied: what a caller without a session can make Gatehouse do is counted per
//! source address (past a limit: 429 with `Retry-After`, nothing done), the emails such a caller can
//! trigger are counted per recipient (past a limit: withheld, the answer unchanged), and failed logins
//! are counted per email and per source address. One mechanism for all: a windowed counter per
//! (organisation, limit, hash of the subject) in the store (`store::rate_counters`), so every
//! instance sees the same count. Which limits exist and their defaults: `domain::limits`.

use std::net::IpAddr;

use super::{AppState, ServiceError};
use crate::domain::limits::{source_subject, Limit, Limits, RateLimit};
use crate::domain::{Email, OrgId, Organisation};
use crate::secret::token_hash;
use crate::store::rate_counters::{self, Count};
use crate::store::{table_keys, Key, Store, StoreError, Write};

fn counter(org: &OrgId, limit: Limit, subject: &str) -> Key {
    table_keys::rate_counter(org, limit.name(), &token_hash(subject))
}

fn too_many(retry_after_secs: i64) -> ServiceError {
    ServiceError::TooManyRequests {
        retry_after_secs,
        field: None,
    }
}

/// Counts one unit of `limit` for `subject` (an organisation, a developer) in `org`; past the
/// limit, 429 naming `field` with `message`, nothing counted. Call it before the thing it counts,
/// once its input is known valid.
pub async fn per_subject(
    state: &AppState,
    org: &OrgId,
    limit: Limit,
    subject: &str,
    (field, message): (&str, &str),
) -> Result<(), ServiceError> {
    let Some(rate) = state.config.limits.get(limit) else {
        return Ok(());
    };
    match count_one(state, org, limit, rate, subject).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(ServiceError::TooManyRequests {
            retry_after_secs,
            field: Some(crate::domain::FieldError::new(
                field,
                format!("{message} ({} at most {rate})", limit.env()),
            )),
        }),
    }
}

/// Counts one unit of `limit` for `subject` within `rate`: `Some(seconds until the window ends)`
/// when it is full (the refusal counted and logged, nothing taken), `None` once counted.
async fn count_one(
    state: &AppState,
    org: &OrgId,
    limit: Limit,
    rate: RateLimit,
    subject: &str,
) -> Result<Option<i64>, ServiceError> {
    let key = counter(org, limit, subject);
    match rate_counters::take(state.store.as_ref(), &key, rate.max, rate.window_secs, None).await? {
        Count::Room { .. } => Ok(None),
        Count::Full { retry_after_secs } => {
            crate::telemetry::count("RequestsRefused", limit.name());
            tracing::info!(org = %org, limit = limit.name(), "request refused by a rate limit");
            Ok(Some(retry_after_secs))
        }
    }
}

/// The limit in force in `org`: the deployment's, lowered by the organisation's own sign-up limit.
fn in_force(limits: &Limits, org: &Organisation, limit: Limit) -> Option<RateLimit> {
    let deployment = limits.get(limit)?;
    match (limit, org.settings.signup_limit_per_source) {
        (Limit::SignUpsPerSource, Some(own)) => Some(RateLimit {
            max: deployment.max.min(own),
            ..deployment
        }),
        _ => Some(deployment),
    }
}

/// Counts one request from `source` against `limit` in `org`; past the limit, 429 with the seconds
/// until the window ends. Call it before the request does anything, once its input is known valid.
pub async fn per_source(
    state: &AppState,
    org: &Organisation,
    limit: Limit,
    source: IpAddr,
) -> Result<(), ServiceError> {
    let Some(rate) = in_force(&state.config.limits, org, limit) else {
        return Ok(());
    };
    match count_one(state, &org.id, limit, rate, &source_subject(source)).await? {
        None => Ok(()),
        Some(retry_after_secs) => Err(too_many(retry_after_secs)),
    }
}

/// One login attempt, counted against the failed-login limits of its email and of its source address
/// *before* the password is checked: each counter gives a unit with one conditional write, so
/// parallel guesses can never be checked more often than the limit allows. A wrong password keeps
/// both units; a right one clears the email's failures (in the login's transaction) and gives the
/// source's unit back. Counters are keyed by hashes, of the email whether or not it has an account
/// (so a lock-out reveals nothing), and of the source address.
pub struct LoginAttempt {
    email: Option<(Key, RateLimit)>,
    source: Option<(Key, RateLimit)>,
    /// Failed logins of this email in the window before this attempt (in flight ones included), for
    /// the suspicious-login notice.
    pub earlier_failures: u32,
}

impl LoginAttempt {
    /// Takes this attempt's units; past either limit, 429 and nothing is left taken.
    pub async fn take(state: &AppState, org: &OrgId, email: &Email, source: IpAddr) -> Result<Self, ServiceError> {
        let limits = &state.config.limits;
        let store = state.store.as_ref();
        let mut attempt = LoginAttempt {
            email: None,
            source: None,
            earlier_failures: 0,
        };
        if let Some(rate) = limits.get(Limit::LoginFailuresPerSource) {
            let key = counter(org, Limit::LoginFailuresPerSource, &source_subject(source));
            if let Count::Full { retry_after_secs } =
                rate_counters::take(store, &key, rate.max, rate.window_secs, None).await?
            {
                refused(org, Limit::LoginFailuresPerSource);
                return Err(too_many(retry_after_secs));
            }
            attempt.source = Some((key, rate));
        }
        if let Some(rate) = limits.get(Limit::LoginFailuresPerEmail) {
            let key = counter(org, Limit::LoginFailuresPerEmail, &email.normalized());
            match rate_counters::take(store, &key, rate.max, rate.window_secs, None).await? {
                Count::Room { used } => attempt.earlier_failures = used,
                Count::Full { retry_after_secs } => {
                    attempt.give_back_source(state).await?;
                    refused(org, Limit::LoginFailuresPerEmail);
                    return Err(too_many(retry_after_secs));
                }
            }
            attempt.email = Some((key, rate));
        }
        Ok(attempt)
    }

    /// The write that forgets this email's failures, for the transaction of a successful login.
    pub fn clear(&self) -> Option<Write> {
        self.email.as_ref().map(|(key, _)| rate_counters::clear(key))
    }

    /// After a successful login: the source address's unit back.
    pub async fn give_back_source(&self, state: &AppState) -> Result<(), ServiceError> {
        if let Some((key, rate)) = &self.source {
            rate_counters::give_back(state.store.as_ref(), key, rate.window_secs).await?;
        }
        Ok(())
    }

    /// The right password of an account that may not log in (not active): not a failed guess, so
    /// both units go back.
    pub async fn give_back(&self, state: &AppState) -> Result<(), ServiceError> {
        self.give_back_source(state).await?;
        if let Some((key, rate)) = &self.email {
            rate_counters::give_back(state.store.as_ref(), key, rate.window_secs).await?;
        }
        Ok(())
    }
}

fn refused(org: &OrgId, limit: Limit) {
    crate::telemetry::count("RequestsRefused", limit.name());
    tracing::info!(org = %org, limit = limit.name(), "login refused by a rate limit");
}

/// The write that forgets an email's failed logins (a password changed by a reset link).
pub fn clear_login_failures(org: &OrgId, email: &Email) -> Write {
    rate_counters::clear(&counter(org, Limit::LoginFailuresPerEmail, &email.normalized()))
}

/// The per-recipient limit of an email template, for the emails a caller without a session can
/// trigger.
pub fn recipient_limit(template: &str) -> Option<Limit> {
    match template {
        "password_reset" | "admin_password_reset" => Some(Limit::ResetEmailsPerRecipient),
        "signup_existing_account" => Some(Limit::SignUpNoticesPerRecipient),
        "developer_welcome" | "signup_received" | "email_confirmation" => Some(Limit::WelcomeEmailsPerRecipient),
        _ => None,
    }
}

/// Whether an email of `template` to `to` in `org` may go out, counting it if so. `delivery_id`
/// names the unit, so a retried delivery is counted once. `Some(limit)`: withheld by that limit.
pub async fn withhold_email(
    store: &dyn Store,
    limits: &Limits,
    org: &OrgId,
    template: &str,
    to: &Email,
    delivery_id: &str,
) -> Result<Option<Limit>, StoreError> {
    let Some(limit) = recipient_limit(template) else {
        return Ok(None);
    };
    let Some(rate) = limits.get(limit) else {
        return Ok(None);
    };
    let key = counter(org, limit, &to.normalized());
    match rate_counters::take(store, &key, rate.max, rate.window_secs, Some(delivery_id)).await? {
        Count::Room { .. } => Ok(None),
        Count::Full { .. } => Ok(Some(limit)),
    }
}
