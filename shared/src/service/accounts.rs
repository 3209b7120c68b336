//! Developer accounts: sign-up, login and logout, the developer's own profile, password reset, and the
//! one-use links to choose a password.
//!
//! Answers never tell whether an email has an account: sign-up and reset requests get the same
//! answer and take about as long either way (both hash a password or write a token either way, and
//! wait for a response floor), and a failed login says only that the email or password is wrong.

use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

use super::auth::{new_session_token, DeveloperSession};
use super::limits::{self, LoginFailures};
use super::{blocking, load_org, load_org_named, AppState, OrConflict, ServiceError};
use crate::domain::event_data::{Actor, DeveloperRef, DeveloperState, EventData, PasswordLinkSent, SuspiciousLogin};
use crate::domain::fields::{check_values, merge, Completeness};
use crate::domain::limits::Limit;
use crate::domain::{
    now_epoch, now_epoch_millis, now_rfc3339, required, Developer, DeveloperId, DeveloperStatus, Email, Event,
    Organisation, Password, SignUp, SignupMode, ValidationErrors,
};
use crate::domain::{Locale, OrgId};
use crate::secret::{new_token, token_hash, Secret};
use crate::store::developers::{self, SaveError, SignUpOutcome};
use crate::store::outbox::event_write;
use crate::store::sessions::{self, Account, ResetToken, Session};
use crate::store::Write;

/// Holds an answer back until a fixed time after the request began, so the work done for an email
/// with an account and for one without cannot be told apart by timing. `None`: the floor is off
/// (`ACCOUNT_RESPONSE_FLOOR_MS=0`).
pub(crate) struct ResponseFloor(Option<tokio::time::Instant>);

impl ResponseFloor {
    pub(crate) fn start(state: &AppState) -> Self {
        let floor = state.config.account_response_floor;
        Self((!floor.is_zero()).then(|| tokio::time::Instant::now() + floor))
    }

    pub(crate) async fn wait(self) {
        let Some(until) = self.0 else { return };
        if tokio::time::Instant::now() > until {
            tracing::warn!(
                "an account request took longer than ACCOUNT_RESPONSE_FLOOR_MS; raise it to keep timing uniform"
            );
        }
        tokio::time::sleep_until(until).await;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpInput {
    pub email: Option<String>,
    pub password: Option<String>,
    pub fields: Option<Value>,
    /// The language of their emails (`de`, `pt_BR`); the organisation's default when left out.
    pub locale: Option<String>,
}

/// A locale as given (`null` or absent: none), or a 400 naming `locale`.
fn given_locale(value: Option<&str>) -> Result<Option<Locale>, ServiceError> {
    value
        .map(Locale::parse)
        .transpose()
        .map_err(|e| ServiceError::invalid("locale", &e.message))
}

/// Signs a developer up. Whether or not the email had an account, the caller gets the same `Ok(())`
/// after the same time; the owner of a taken address is told someone tried. Counted per source
/// address (`Limit::SignUpsPerSource`, lowered by the organisation's own setting).
pub async fn sign_up(state: &AppState, org: &str, source: IpAddr, input: SignUpInput) -> Result<(), ServiceError> {
    let floor = ResponseFloor::start(state);
    let org = load_org_named(state, org).await?;
    if org.settings.disable_signup || org.settings.signup_mode == SignupMode::InviteOnly {
        return Err(ServiceError::Forbidden("this portal does not take sign-ups".into()));
    }
    let sign_up = SignUp::parse(
        input.email.as_deref(),
        input.password.as_deref(),
        input.fields.as_ref(),
        &org.settings.signup_fields,
    )?;
    let locale = given_locale(input.locale.as_deref())?;
    limits::per_source(state, &org, Limit::SignUpsPerSource, source).await?;
    let status = match org.settings.signup_mode {
        SignupMode::AdminApproval => DeveloperStatus::Pending,
        _ => DeveloperStatus::Active,
    };
    let developer = {
        let (org_id, now) = (org.id.clone(), now_rfc3339());
        let mut developer = blocking(move || sign_up.into_developer(org_id, status, now)).await?;
        developer.locale = locale;
        developer
    };
    let event = state.raise(
        &org.id,
        EventData::DeveloperSignedUp(DeveloperState::of(&developer, None)),
    );
    match developers::create(state.store.as_ref(), &developer, &event, vec![]).await? {
        SignUpOutcome::Created => {
            tracing::info!(org = %org.id, developer = %developer.id, event_id = %event.id, "developer signed up");
        }
        SignUpOutcome::EmailTaken => {
            if let Some(existing) = developers::find_by_email(state.store.as_ref(), &org.id, &developer.email).await? {
                let notice = state.raise(
                    &org.id,
                    EventData::SignUpWithExistingEmail(DeveloperRef::from(&existing.value)),
                );
                state.store.transact(vec![event_write(&notice)]).await?;
            }
            tracing::info!(org = %org.id, "sign-up with an email that has an account");
        }
    }
    floor.wait().await;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: Option<String>,
    pub password: Option<String>,
}

impl LoginInput {
    /// The email and the password as given (a login checks only that both are there).
    pub(crate) fn checked(self) -> Result<(Email, String), ServiceError> {
        let mut errors = ValidationErrors::default();
        let email =
            required(&mut errors, "email", self.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
        let password = required(&mut errors, "password", self.password.as_deref()).map(str::to_string);
        match (email, password) {
            (Some(email), Some(password)) => Ok((email, password)),
            _ => Err(errors.into()),
        }
    }
}

/// A new session, shown once.
pub struct LoggedIn {
    pub token: Secret,
    pub expires_at: i64,
    pub developer: Developer,
}

/// Logs a developer in. Failures are counted per email and per source address (both hashed) and
/// throttled (`limits::LoginFailures`); a login from a new address after failures raises a
/// suspicious-login notice.
pub async fn login(state: &AppState, org: &str, address: IpAddr, input: LoginInput) -> Result<LoggedIn, ServiceError> {
    let org = load_org_named(state, org).await?;
    if org.settings.disable_login {
        return Err(ServiceError::Forbidden("this portal does not take logins".into()));
    }
    let (email, password) = input.checked()?;
    let store = state.store.as_ref();
    let failures = LoginFailures::check(state, &org.id, &email, address).await?;

    let found = developers::find_by_email(store, &org.id, &email).await?;
    let verified = password_matches(password, found.as_ref().map(|d| d.value.password_hash.clone())).await?;
    let Some(found) = found.filter(|_| verified) else {
        failures.count_failure(state).await?;
        tracing::info!(org = %org.id, "login failed");
        return Err(ServiceError::InvalidCredentials);
    };
    let developer = found.value;
    if developer.status != DeveloperStatus::Active {
        return Err(ServiceError::Forbidden(match developer.status {
            DeveloperStatus::Pending => "this account is waiting for approval".into(),
            _ => "this account is not active".into(),
        }));
    }

    let account = Account::Developer(&developer.id);
    let mut known = sessions::known_addresses(store, &org.id, account).await?;
    let new_address = known.value.remember(token_hash(&address.to_string()));
    let mut events = Vec::new();
    if new_address && failures.of_email > 0 {
        events.push(state.raise(
            &org.id,
            EventData::SuspiciousLogin(SuspiciousLogin {
                developer_id: developer.id.clone(),
                email: developer.email.clone(),
                failed_attempts: failures.of_email,
                address: address.to_string(),
            }),
        ));
    }
    let (token, token_hash) = new_session_token(&org.id, &developer.id);
    let expires_at = now_epoch() + org.settings.session_ttl_secs;
    let session = Session {
        account_id: developer.id.to_string(),
        created_at: now_rfc3339(),
        expires_at,
        started_at: now_epoch_millis(),
    };
    // The account is checked, not rewritten: a login racing a password change or a removal fails.
    let mut writes = vec![
        developers::unchanged(&developer, found.version),
        sessions::remember_addresses(&org.id, account, &known.value, known.version),
        sessions::start(&org.id, &token_hash, account, &session),
    ];
    writes.extend(failures.clear());
    writes.extend(events.iter().map(event_write));
    store.transact(writes).await.or_changed_meanwhile("developer")?;
    tracing::info!(org = %org.id, developer = %developer.id, suspicious = !events.is_empty(), "developer logged in");
    Ok(LoggedIn {
        token,
        expires_at,
        developer,
    })
}

/// Whether `password` matches the stored `hash` (none: no such account, or no password chosen yet),
/// doing the same work in every case so timing tells nothing.
pub(crate) async fn password_matches(password: String, hash: Option<String>) -> Result<bool, ServiceError> {
    blocking(
        move || match (Password::parse(&password), hash.filter(|h| !h.is_empty())) {
            (Ok(p), Some(h)) => p.verify(&h),
            (Ok(p), None) => {
                p.verify_against_nothing();
                false
            }
            (Err(_), _) => {
                Password::parse("the same work either way")
                    .expect("long enough")
                    .verify_against_nothing();
                false
            }
        },
    )
    .await
}

pub async fn logout(state: &AppState, session: &DeveloperSession) -> Result<(), ServiceError> {
    let end = sessions::end(&session.org, &session.token_hash);
    state.store.transact(vec![end]).await?;
    Ok(())
}

/// The developer of a session.
pub async fn profile(state: &AppState, session: &DeveloperSession) -> Result<Developer, ServiceError> {
    Ok(developers::get(state.store.as_ref(), &session.org, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?
        .value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    pub fields: Option<Value>,
    /// A language (`de`, `pt_BR`), or `null` for the organisation's default.
    #[serde(default, deserialize_with = "super::present")]
    pub locale: Option<Option<String>>,
}

/// A developer changes their own profile fields (`null` removes an optional one).
pub async fn edit_profile(
    state: &AppState,
    session: &DeveloperSession,
    input: ProfileInput,
) -> Result<Developer, ServiceError> {
    let org = load_org(state, &session.org).await?;
    let mut errors = ValidationErrors::default();
    let changes = check_values(
        &org.settings.signup_fields,
        input.fields.as_ref(),
        Completeness::Partial,
        &mut errors,
    );
    errors.into_result()?;
    let locale = input.locale.map(|l| given_locale(l.as_deref())).transpose()?;
    let found = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut developer = found.value;
    developer.fields = merge(developer.fields, changes);
    if let Some(locale) = locale {
        developer.locale = locale;
    }
    developer.updated_at = now_rfc3339();
    let event = state.raise(
        &org.id,
        EventData::DeveloperUpdated(DeveloperState::of(&developer, Some(Actor::Developer))),
    );
    let email = developer.email.clone();
    developers::save(
        state.store.as_ref(),
        &developer,
        found.version,
        &email,
        vec![],
        &[event],
    )
    .await?;
    Ok(developer)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestInput {
    pub email: Option<String>,
}

impl ResetRequestInput {
    /// The organisation and the email of a reset request (developer's or admin's), once it is
    /// counted against its source address.
    pub(crate) async fn checked(
        self,
        state: &AppState,
        org: &str,
        source: IpAddr,
    ) -> Result<(Organisation, Email), ServiceError> {
        let org = load_org_named(state, org).await?;
        let mut errors = ValidationErrors::default();
        let email =
            required(&mut errors, "email", self.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
        let Some(email) = email else {
            return Err(errors.into());
        };
        limits::per_source(state, &org, Limit::ResetRequestsPerSource, source).await?;
        Ok((org, email))
    }
}

/// Mails a reset link if an active account has this email; the same `Ok(())`, after the same time,
/// either way. Counted per source address; the emails per recipient (`limits::withhold_email`).
pub async fn request_reset(
    state: &AppState,
    org: &str,
    source: IpAddr,
    input: ResetRequestInput,
) -> Result<(), ServiceError> {
    let floor = ResponseFloor::start(state);
    let (org, email) = input.checked(state, org, source).await?;
    let found = developers::find_by_email(state.store.as_ref(), &org.id, &email).await?;
    // The token is made either way, so both paths do the same work up to the write.
    let link = PasswordLink::new(state, &org, org.settings.password_reset_ttl_secs, "reset-password");
    if let Some(developer) = found.map(|f| f.value).filter(|d| d.status == DeveloperStatus::Active) {
        let (token, event) = link.issue(state, &org, &developer, EventData::PasswordResetRequested);
        state.store.transact(vec![token, event_write(&event)]).await?;
        tracing::info!(org = %org.id, developer = %developer.id, "password reset requested");
    }
    floor.wait().await;
    Ok(())
}

/// A one-use link to choose a password (a reset, or an invitation's first password) of a developer
/// or an admin user: 256 random bits, stored only as a hash, expiring; the link itself travels sealed
/// inside the event that mails it.
pub(crate) struct PasswordLink {
    token: Secret,
    pub(crate) url: String,
    pub(crate) expires_at: i64,
    ttl_secs: i64,
}

impl PasswordLink {
    /// A link to `page` of the organisation's portal (`reset-password`, `admin/accept-invitation`).
    pub(crate) fn new(state: &AppState, org: &Organisation, ttl_secs: i64, page: &str) -> Self {
        let token = new_token("gh_reset_");
        let url = format!("{}/{page}?token={}", state.portal_url(org), token.expose());
        Self {
            token,
            url,
            expires_at: now_epoch() + ttl_secs,
            ttl_secs,
        }
    }

    /// How long the link works, for people ("7 days").
    pub(crate) fn expires_in(&self) -> String {
        human_duration(self.ttl_secs)
    }

    /// The token record for the account whose password the link sets.
    pub(crate) fn record(&self, org: &OrgId, account_id: &str) -> Write {
        let reset = ResetToken {
            account_id: account_id.to_string(),
            expires_at: self.expires_at,
        };
        sessions::issue_reset(org, &token_hash(self.token.expose()), &reset)
    }

    /// The token record, and the event that mails the link to `developer`: `raised` is the kind's
    /// constructor (`EventData::PasswordResetRequested` or `EventData::DeveloperInvited`).
    pub(crate) fn issue(
        &self,
        state: &AppState,
        org: &Organisation,
        developer: &Developer,
        raised: fn(PasswordLinkSent) -> EventData,
    ) -> (Write, Event) {
        let sent = PasswordLinkSent {
            developer_id: developer.id.clone(),
            email: developer.email.clone(),
            expires_at: self.expires_at,
            url: self.url.clone(),
            expires_in: self.expires_in(),
        };
        let event = state.raise(&org.id, raised(sent));
        (self.record(&org.id, developer.id.as_str()), event)
    }
}

/// "45 minutes", "1 hour", "7 days": how long a link works, for people.
pub(crate) fn human_duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s => ((s + 59) / 60, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetCompleteInput {
    pub token: Option<String>,
    pub password: Option<String>,
}

impl ResetCompleteInput {
    /// The organisation, the link's token and the new password (a developer's or an admin's), once
    /// the attempt is counted against its source address.
    pub(crate) async fn checked(
        self,
        state: &AppState,
        org: &str,
        source: IpAddr,
    ) -> Result<(Organisation, String, Password), ServiceError> {
        let org = load_org_named(state, org).await?;
        let mut errors = ValidationErrors::default();
        let token = required(&mut errors, "token", self.token.as_deref()).map(str::to_string);
        let password = required(&mut errors, "password", self.password.as_deref())
            .and_then(|p| errors.check("password", Password::parse(p)));
        let (Some(token), Some(password)) = (token, password) else {
            return Err(errors.into());
        };
        limits::per_source(state, &org, Limit::PasswordLinksPerSource, source).await?;
        Ok((org, token, password))
    }
}

/// Sets a new password from a reset (or invitation) link: the token is used up (only once, even under
/// a race), every session ends, the failed-login count for the email is cleared, and the owner is
/// told — one transaction. Counted per source address (`Limit::PasswordLinksPerSource`).
pub async fn complete_reset(
    state: &AppState,
    org: &str,
    source: IpAddr,
    input: ResetCompleteInput,
) -> Result<(), ServiceError> {
    let (org, token, password) = input.checked(state, org, source).await?;
    let invalid = || ServiceError::invalid("token", "is invalid, used or expired");
    let store = state.store.as_ref();
    let hash = token_hash(&token);
    let reset = sessions::find_reset(store, &org.id, &hash).await?.ok_or_else(invalid)?;
    let developer_id = DeveloperId::parse(&reset.account_id).ok_or_else(invalid)?;
    let found = developers::get(store, &org.id, &developer_id)
        .await?
        .ok_or_else(invalid)?;
    let mut developer = found.value;
    developer.password_hash = blocking(move || password.hash()).await?;
    developer.updated_at = now_rfc3339();
    developer.sessions_valid_after = now_epoch_millis();
    let mut writes = vec![sessions::use_reset(&org.id, &hash)];
    writes.extend(sessions::end_all(store, &org.id, Account::Developer(&developer.id)).await?);
    writes.push(limits::clear_login_failures(&org.id, &developer.email));
    let event = state.raise(&org.id, EventData::PasswordChanged(DeveloperRef::from(&developer)));
    let email = developer.email.clone();
    match developers::save(store, &developer, found.version, &email, writes, &[event]).await {
        Ok(()) => {}
        Err(SaveError::Conflict) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, developer = %developer.id, "password changed by reset");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::human_duration(3600), "1 hour");
        assert_eq!(super::human_duration(7 * 86_400), "7 days");
        assert_eq!(super::human_duration(300), "5 minutes");
        assert_eq!(super::human_duration(5400), "90 minutes");
    }
}
