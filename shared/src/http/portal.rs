//! The developer portal: sign-up, login and logout, the developer's own profile, password reset.
//!
//! Answers never tell whether an email has an account: sign-up and reset requests get the same
//! answer and take about as long either way (both hash a password or write a token either way), and a
//! failed login says only that the email or password is wrong.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{new_session_token, ClientAddress, DeveloperSession};
use super::json::JsonBody;
use super::problem::ApiError;
use super::{load_org, raise, AppState};
use crate::domain::fields::{check_values, merge, Completeness};
use crate::domain::{
    now_epoch, now_rfc3339, required, Developer, DeveloperStatus, Email, Event, EventKind, FieldError, Organisation,
    Password, SignUp, SignupMode, ValidationErrors,
};
use crate::secret::{new_token, token_hash};
use crate::store::developers::{self, SaveError, SignUpOutcome};
use crate::store::orgs::event_write;
use crate::store::sessions::{self, ResetToken, Session};
use crate::store::Write;

/// Failed logins allowed per email, and per source address, in one window.
const MAX_FAILURES_PER_EMAIL: u32 = 5;
const MAX_FAILURES_PER_ADDRESS: u32 = 20;
const FAILURE_WINDOW_SECS: i64 = 15 * 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/signup", post(sign_up))
        .route("/portal/{org}/login", post(login))
        .route("/portal/{org}/logout", post(logout))
        .route("/portal/{org}/me", get(me).patch(edit_me))
        .route("/portal/{org}/password-reset", post(request_reset))
        .route("/portal/{org}/password-reset/complete", post(complete_reset))
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("password hashing task")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpBody {
    email: Option<String>,
    password: Option<String>,
    fields: Option<Value>,
}

/// The one answer every accepted sign-up gets, whether or not the email had an account.
fn sign_up_received() -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "received", "detail": "Check your email to continue."})),
    )
}

/// Holds an answer back until a fixed time after the request began, so the work done for an email
/// with an account and for one without cannot be told apart by timing.
struct ResponseFloor(tokio::time::Instant);

impl ResponseFloor {
    fn start(state: &AppState) -> Self {
        Self(tokio::time::Instant::now() + state.config.account_response_floor)
    }

    async fn wait<T>(self, answer: T) -> T {
        if tokio::time::Instant::now() > self.0 {
            tracing::warn!(
                "an account request took longer than ACCOUNT_RESPONSE_FLOOR_MS; raise it to keep timing uniform"
            );
        }
        tokio::time::sleep_until(self.0).await;
        answer
    }
}

async fn sign_up(
    Path(org): Path<String>,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let floor = ResponseFloor::start(&state);
    let org = load_org(&state, &org).await?;
    if org.settings.disable_signup || org.settings.signup_mode == SignupMode::InviteOnly {
        return Err(ApiError::Forbidden("this portal does not take sign-ups".into()));
    }
    let sign_up = SignUp::parse(
        body.email.as_deref(),
        body.password.as_deref(),
        body.fields.as_ref(),
        &org.settings.signup_fields,
    )?;
    let status = match org.settings.signup_mode {
        SignupMode::AdminApproval => DeveloperStatus::Pending,
        _ => DeveloperStatus::Active,
    };
    let now = now_rfc3339();
    let developer = {
        let (org_id, now) = (org.id.clone(), now.clone());
        blocking(move || sign_up.into_developer(org_id, status, now)).await?
    };
    let event = raise(
        &state,
        &org,
        EventKind::DeveloperSignedUp,
        json!({"developer_id": developer.id, "email": developer.email, "fields": developer.fields, "status": developer.status}),
        None,
    );
    match developers::create(state.store.as_ref(), &developer, &event, vec![]).await? {
        SignUpOutcome::Created => {
            tracing::info!(org = %org.id, developer = %developer.id, event_id = %event.id, "developer signed up");
        }
        SignUpOutcome::EmailTaken => {
            // The owner of the address is told someone tried; the caller learns nothing.
            if let Some(existing) = developers::find_by_email(state.store.as_ref(), &org.id, &developer.email).await? {
                let notice = raise(
                    &state,
                    &org,
                    EventKind::SignUpWithExistingEmail,
                    json!({"developer_id": existing.value.id, "email": existing.value.email}),
                    None,
                );
                state.store.transact(vec![event_write(&notice)]).await?;
            }
            tracing::info!(org = %org.id, "sign-up with an email that has an account");
        }
    }
    Ok(floor.wait(sign_up_received()).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: Option<String>,
    password: Option<String>,
}

fn too_many(retry_after: i64) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: retry_after.max(1),
    }
}

async fn login(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let org = load_org(&state, &org).await?;
    if org.settings.disable_login {
        return Err(ApiError::Forbidden("this portal does not take logins".into()));
    }
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", body.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let password = required(&mut errors, "password", body.password.as_deref()).map(str::to_string);
    let (Some(email), Some(password)) = (email, password) else {
        return Err(errors.into());
    };

    let store = state.store.as_ref();
    // Counters are keyed by hashes: of the email (known or not, so a lock-out reveals nothing) and of
    // the source address.
    let email_key = token_hash(&email.normalized());
    let address_key = token_hash(&address.to_string());
    let by_email = sessions::login_failures(store, &org.id, "email", &email_key).await?;
    let by_address = sessions::login_failures(store, &org.id, "address", &address_key).await?;
    let now = now_epoch();
    if by_email.failures >= MAX_FAILURES_PER_EMAIL {
        return Err(too_many(by_email.window_start + FAILURE_WINDOW_SECS - now));
    }
    if by_address.failures >= MAX_FAILURES_PER_ADDRESS {
        return Err(too_many(by_address.window_start + FAILURE_WINDOW_SECS - now));
    }

    let found = developers::find_by_email(store, &org.id, &email).await?;
    let hash = found.as_ref().map(|d| d.value.password_hash.clone());
    let verified = blocking(move || match (Password::parse(&password), hash) {
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
    })
    .await?;
    let Some(found) = found.filter(|_| verified) else {
        sessions::count_login_failure(store, &org.id, "email", &email_key, FAILURE_WINDOW_SECS).await?;
        sessions::count_login_failure(store, &org.id, "address", &address_key, FAILURE_WINDOW_SECS).await?;
        tracing::info!(org = %org.id, "login failed");
        return Err(ApiError::InvalidCredentials);
    };
    let mut developer = found.value;
    if developer.status != DeveloperStatus::Active {
        return Err(ApiError::Forbidden(match developer.status {
            DeveloperStatus::Pending => "this account is waiting for approval".into(),
            _ => "this account is not active".into(),
        }));
    }

    let previous_email = developer.email.clone();
    let new_address = developer.remember_address(address_key);
    let mut events = Vec::new();
    if new_address && by_email.failures > 0 {
        events.push(raise(
            &state,
            &org,
            EventKind::SuspiciousLogin,
            json!({"developer_id": developer.id, "email": developer.email, "failed_attempts": by_email.failures}),
            Some(json!({"address": address.to_string()})),
        ));
    }
    let (token, token_hash) = new_session_token(&org.id, &developer.id);
    let expires_at = now + org.settings.session_ttl_secs;
    let session = Session {
        developer_id: developer.id.clone(),
        created_at: now_rfc3339(),
        expires_at,
    };
    let writes = vec![
        sessions::start(&org.id, &token_hash, &session),
        sessions::clear_login_failures(&org.id, "email", &email_key),
    ];
    developers::save(store, &developer, found.version, &previous_email, writes, &events).await?;
    tracing::info!(org = %org.id, developer = %developer.id, suspicious = !events.is_empty(), "developer logged in");
    let body = json!({"token": token.expose(), "expires_at": expires_at, "developer": developer.profile()});
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn logout(session: DeveloperSession, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state
        .store
        .transact(vec![sessions::end(
            &session.org,
            &session.developer,
            &session.token_hash,
        )])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let developer = developers::get(state.store.as_ref(), &session.org, &session.developer)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(developer.value.profile()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditMeBody {
    fields: Option<Value>,
}

async fn edit_me(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EditMeBody>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, session.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let changes = check_values(
        &org.settings.signup_fields,
        body.fields.as_ref(),
        Completeness::Partial,
        &mut errors,
    );
    errors.into_result()?;
    let found = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let mut developer = found.value;
    developer.fields = merge(developer.fields, changes);
    developer.updated_at = now_rfc3339();
    let event = raise(
        &state,
        &org,
        EventKind::DeveloperUpdated,
        json!({"developer_id": developer.id, "email": developer.email, "fields": developer.fields, "by": "developer"}),
        None,
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
    Ok(Json(developer.profile()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequestBody {
    email: Option<String>,
}

/// The one answer every reset request gets.
fn reset_requested() -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "detail": "If an account has this email, a reset link is on its way."})),
    )
}

async fn request_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResetRequestBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let floor = ResponseFloor::start(&state);
    let org = load_org(&state, &org).await?;
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", body.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let Some(email) = email else {
        return Err(errors.into());
    };
    let found = developers::find_by_email(state.store.as_ref(), &org.id, &email).await?;
    // The token is made either way, so both paths do the same work up to the write.
    let link = PasswordLink::new(&state, &org, org.settings.password_reset_ttl_secs);
    let Some(developer) = found.map(|f| f.value).filter(|d| d.status == DeveloperStatus::Active) else {
        return Ok(floor.wait(reset_requested()).await);
    };
    let (token, event) = link.issue(&state, &org, &developer, EventKind::PasswordResetRequested);
    state.store.transact(vec![token, event_write(&event)]).await?;
    tracing::info!(org = %org.id, developer = %developer.id, "password reset requested");
    Ok(floor.wait(reset_requested()).await)
}

/// A one-use link to choose a password (a reset, or an invitation's first password): 256 random
/// bits, stored only as a hash, expiring; the link itself travels sealed inside the event that mails it.
pub(crate) struct PasswordLink {
    token: crate::secret::Secret,
    url: String,
    expires_at: i64,
    ttl_secs: i64,
}

impl PasswordLink {
    pub(crate) fn new(state: &AppState, org: &Organisation, ttl_secs: i64) -> Self {
        let token = new_token("gh_reset_");
        let url = format!("{}/reset-password?token={}", portal_url(state, org), token.expose());
        Self {
            token,
            url,
            expires_at: now_epoch() + ttl_secs,
            ttl_secs,
        }
    }

    /// The token record, and the event that mails the link to `developer`.
    pub(crate) fn issue(
        &self,
        state: &AppState,
        org: &Organisation,
        developer: &Developer,
        kind: EventKind,
    ) -> (Write, Event) {
        let event = raise(
            state,
            org,
            kind,
            json!({"developer_id": developer.id, "email": developer.email, "expires_at": self.expires_at}),
            Some(json!({"reset_url": self.url, "expires_in": human_duration(self.ttl_secs)})),
        );
        let reset = ResetToken {
            developer_id: developer.id.clone(),
            expires_at: self.expires_at,
        };
        (
            sessions::issue_reset(&org.id, &token_hash(self.token.expose()), &reset),
            event,
        )
    }
}

/// "45 minutes", "1 hour", "7 days": how long a link works, for people.
fn human_duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s => ((s + 59) / 60, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn portal_url<'a>(state: &'a AppState, org: &'a Organisation) -> &'a str {
    org.settings.portal_url(&state.config.portal_url)
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetCompleteBody {
    token: Option<String>,
    password: Option<String>,
}

async fn complete_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResetCompleteBody>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, &org).await?;
    let mut errors = ValidationErrors::default();
    let token = required(&mut errors, "token", body.token.as_deref()).map(str::to_string);
    let password = required(&mut errors, "password", body.password.as_deref())
        .and_then(|p| errors.check("password", Password::parse(p)));
    let (Some(token), Some(password)) = (token, password) else {
        return Err(errors.into());
    };
    let invalid = || {
        ApiError::from(ValidationErrors::from(FieldError::new(
            "token",
            "is invalid, used or expired",
        )))
    };
    let store = state.store.as_ref();
    let hash = token_hash(&token);
    let reset = sessions::find_reset(store, &org.id, &hash).await?.ok_or_else(invalid)?;
    let found = developers::get(store, &org.id, &reset.developer_id)
        .await?
        .ok_or_else(invalid)?;
    let mut developer = found.value;
    developer.password_hash = blocking(move || password.hash()).await?;
    developer.updated_at = now_rfc3339();
    // One transaction: the token is used up (only once, even under a race), every session ends, the
    // failed-login count for the email is cleared, and the owner is told.
    let mut writes = vec![sessions::use_reset(&org.id, &hash)];
    writes.extend(sessions::end_all(store, &org.id, &developer.id).await?);
    writes.push(sessions::clear_login_failures(
        &org.id,
        "email",
        &token_hash(&developer.email.normalized()),
    ));
    let event = raise(
        &state,
        &org,
        EventKind::PasswordChanged,
        json!({"developer_id": developer.id, "email": developer.email}),
        None,
    );
    let email = developer.email.clone();
    match developers::save(store, &developer, found.version, &email, writes, &[event]).await {
        Ok(()) => {}
        Err(SaveError::Conflict) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, developer = %developer.id, "password changed by reset");
    Ok(Json(json!({"status": "password_changed"})))
}
