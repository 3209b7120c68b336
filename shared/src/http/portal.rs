//! The developer portal's accounts: sign-up and address confirmation here (rules in
//! `service::accounts`); login, logout, the developer's own profile and password reset are the
//! routes every account kind has (`credentials::routes`).

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
use crate::service::accounts::{self, ConfirmEmailInput, SignUpInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}", get(face))
        .route("/portal/{org}/signup", post(sign_up))
        .route("/portal/{org}/confirm-email", post(confirm_email))
        .merge(credentials::routes::<DeveloperSession>("/portal/{org}"))
}

/// The organisation as its portal shows it before anyone logs in.
async fn face(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
) -> Result<Json<accounts::PortalFace>, ApiError> {
    Ok(Json(accounts::portal_face(&state, &org, address).await?))
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

async fn confirm_email(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ConfirmEmailInput>,
) -> Result<Json<Value>, ApiError> {
    let developer = accounts::confirm_email(&state, &org, address, body).await?;
    Ok(Json(developer.profile()))
}
