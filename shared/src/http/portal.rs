//! The developer portal's accounts: sign-up, login and logout, the developer's own profile, password
//! reset (rules in `service::accounts`).

use super::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{ClientAddress, DeveloperSession};
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use super::ShownOnce;
use crate::service::accounts::{
    self, ConfirmEmailInput, LoginInput, ProfileInput, ResetCompleteInput, ResetRequestInput, SignUpInput,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/signup", post(sign_up))
        .route("/portal/{org}/login", post(login))
        .route("/portal/{org}/logout", post(logout))
        .route("/portal/{org}/me", get(me).patch(edit_me))
        .route("/portal/{org}/password-reset", post(request_reset))
        .route("/portal/{org}/password-reset/complete", post(complete_reset))
        .route("/portal/{org}/confirm-email", post(confirm_email))
}

/// The one answer every accepted sign-up gets, whether or not the email had an account.
async fn sign_up(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<SignUpInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    accounts::sign_up(&state, &org, address, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "received", "detail": "Check your email to continue."})),
    ))
}

async fn login(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<LoginInput>,
) -> Result<ShownOnce, ApiError> {
    let session = accounts::login(&state, &org, address, body).await?;
    let body = json!({
        "token": session.token.expose(),
        "expires_at": session.expires_at,
        "developer": session.account.profile(),
    });
    Ok(ShownOnce(StatusCode::OK, body))
}

async fn logout(session: DeveloperSession, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    accounts::logout(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(accounts::profile(&state, &session).await?.profile()))
}

async fn edit_me(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ProfileInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(accounts::edit_profile(&state, &session, body).await?.profile()))
}

/// The one answer every reset request gets.
async fn request_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetRequestInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    accounts::request_reset(&state, &org, address, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "detail": "If an account has this email, a reset link is on its way."})),
    ))
}

async fn complete_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetCompleteInput>,
) -> Result<Json<Value>, ApiError> {
    accounts::complete_reset(&state, &org, address, body).await?;
    Ok(Json(json!({"status": "password_changed"})))
}

async fn confirm_email(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ConfirmEmailInput>,
) -> Result<Json<Value>, ApiError> {
    let developer = accounts::confirm_email(&state, &org, address, body).await?;
    Ok(Json(developer.profile()))
}
