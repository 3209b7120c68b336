//! The developer portal's accounts: sign-up, login and logout, the developer's own profile, password
//! reset (rules in `service::accounts`).

use super::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{ClientAddress, DeveloperSession};
use super::credentials;
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::domain::Developer;
use crate::service::accounts::{self, ConfirmEmailInput, ProfileInput, SignUpInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/signup", post(sign_up))
        .route("/portal/{org}/login", post(credentials::login::<Developer>))
        .route("/portal/{org}/logout", post(logout))
        .route("/portal/{org}/me", get(me).patch(edit_me))
        .route(
            "/portal/{org}/password-reset",
            post(credentials::request_reset::<Developer>),
        )
        .route(
            "/portal/{org}/password-reset/complete",
            post(credentials::complete_reset::<Developer>),
        )
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

async fn confirm_email(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ConfirmEmailInput>,
) -> Result<Json<Value>, ApiError> {
    let developer = accounts::confirm_email(&state, &org, address, body).await?;
    Ok(Json(developer.profile()))
}
