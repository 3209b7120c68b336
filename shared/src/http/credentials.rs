//! The account routes developers and admin users share, written once over the account kind
//! (`service::credentials::Holder`): log in, ask for a reset link, set a password from a link, and
//! the caller's own account (log out, read, edit). `portal` and `admin_accounts` mount them under
//! their own paths.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::ClientAddress;
use super::extract::{JsonBody, Path};
use super::problem::ApiError;
use super::{AppState, ShownOnce};
use crate::domain::{AdminUser, Developer};
use crate::service::credentials::{
    self, Holder, LinkPurpose, LoginInput, OwnSession, ResetCompleteInput, ResetRequestInput,
};

/// The routes every account kind has, under `base` (`/portal/{org}`, `/orgs/{org}`): log in and
/// out, the caller's own account, a reset link asked for and used. `S` is the kind's session.
pub(crate) fn routes<S>(base: &str) -> Router<AppState>
where
    S: OwnSession + FromRequestParts<AppState> + Send + 'static,
    S::Account: Shown,
{
    Router::new()
        .route(&format!("{base}/login"), post(login::<S::Account>))
        .route(&format!("{base}/logout"), post(logout::<S>))
        .route(&format!("{base}/me"), get(me::<S>).patch(edit_me::<S>))
        .route(&format!("{base}/password-reset"), post(request_reset::<S::Account>))
        .route(
            &format!("{base}/password-reset/complete"),
            post(complete_reset::<S::Account>),
        )
}

/// How an account kind appears in answers.
pub(crate) trait Shown: Holder {
    /// The answer's field holding the account (`developer`, `admin`).
    const FIELD: &'static str;
    fn shown(&self) -> Value;
    /// What else a login answer carries for this kind of account.
    fn add_to_login(&self, _answer: &mut Value) {}
}

impl Shown for Developer {
    const FIELD: &'static str = "developer";
    fn shown(&self) -> Value {
        self.profile()
    }
}

impl Shown for AdminUser {
    const FIELD: &'static str = "admin";
    fn shown(&self) -> Value {
        self.view()
    }
    /// What the role allows, so a frontend shows only that; the API still checks every call.
    fn add_to_login(&self, answer: &mut Value) {
        answer["permissions"] = json!(self.role.permissions());
    }
}

/// A new session, its token shown once.
async fn login<A: Shown>(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<LoginInput>,
) -> Result<ShownOnce, ApiError> {
    let session = credentials::login::<A>(&state, &org, address, body).await?;
    let mut answer = json!({"token": session.token.expose(), "expires_at": session.expires_at});
    answer[A::FIELD] = session.account.shown();
    session.account.add_to_login(&mut answer);
    Ok(ShownOnce(StatusCode::OK, answer))
}

/// The one answer every reset request gets, whether or not the email has an account.
async fn request_reset<A: Shown>(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetRequestInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    credentials::request_reset::<A>(&state, &org, address, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "detail": "If an account has this email, a reset link is on its way."})),
    ))
}

/// A new password from a reset link.
async fn complete_reset<A: Shown>(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetCompleteInput>,
) -> Result<Json<Value>, ApiError> {
    credentials::set_password::<A>(&state, &org, address, LinkPurpose::Reset, body).await?;
    Ok(Json(json!({"status": "password_changed"})))
}

/// The first password from an invitation link: the account as it now is.
pub(crate) async fn accept_invitation<A: Shown>(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetCompleteInput>,
) -> Result<Json<Value>, ApiError> {
    let account = credentials::set_password::<A>(&state, &org, address, LinkPurpose::Invitation, body).await?;
    Ok(Json(account.shown()))
}

/// Ends the caller's session.
async fn logout<S>(session: S, State(state): State<AppState>) -> Result<StatusCode, ApiError>
where
    S: OwnSession + FromRequestParts<AppState>,
{
    credentials::log_out(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
async fn me<S>(session: S, State(state): State<AppState>) -> Result<Json<Value>, ApiError>
where
    S: OwnSession + FromRequestParts<AppState>,
    S::Account: Shown,
{
    Ok(Json(credentials::own_account(&state, &session).await?.shown()))
}

/// The caller changes their own profile.
async fn edit_me<S>(
    session: S,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<S::ProfileInput>,
) -> Result<Json<Value>, ApiError>
where
    S: OwnSession + FromRequestParts<AppState>,
    S::Account: Shown,
{
    Ok(Json(session.edit_profile(&state, body).await?.shown()))
}
