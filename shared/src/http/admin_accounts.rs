//! An admin user's own account: accept an invitation, log in and out, reset a forgotten password,
//! read and edit their profile (rules in `service::admin_accounts`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{ClientAddress, OrgAdmin};
use super::extract::{JsonBody, Path};
use super::problem::ApiError;
use super::AppState;
use super::ShownOnce;
use crate::service::admin_accounts::{
    self, LinkPurpose, LoginInput, ProfileInput, ResetCompleteInput, ResetRequestInput,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/admins/accept", post(accept))
        .route("/orgs/{org}/login", post(login))
        .route("/orgs/{org}/logout", post(logout))
        .route("/orgs/{org}/me", get(me).patch(edit_me))
        .route("/orgs/{org}/password-reset", post(request_reset))
        .route("/orgs/{org}/password-reset/complete", post(complete_reset))
}

async fn accept(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetCompleteInput>,
) -> Result<Json<Value>, ApiError> {
    let user = admin_accounts::set_password(&state, &org, address, LinkPurpose::Invitation, body).await?;
    Ok(Json(user.view()))
}

async fn login(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<LoginInput>,
) -> Result<ShownOnce, ApiError> {
    let session = admin_accounts::login(&state, &org, address, body).await?;
    let body = json!({
        "token": session.token.expose(),
        "expires_at": session.expires_at,
        "admin": session.account.view(),
    });
    Ok(ShownOnce(StatusCode::OK, body))
}

async fn logout(admin: OrgAdmin, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    admin_accounts::logout(&state, &admin).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(admin_accounts::profile(&state, &admin).await?.view()))
}

async fn edit_me(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ProfileInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(admin_accounts::edit_profile(&state, &admin, body).await?.view()))
}

/// The one answer every reset request gets.
async fn request_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetRequestInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admin_accounts::request_reset(&state, &org, address, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "accepted", "detail": "If an admin has this email, a reset link is on its way."})),
    ))
}

async fn complete_reset(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<ResetCompleteInput>,
) -> Result<Json<Value>, ApiError> {
    admin_accounts::set_password(&state, &org, address, LinkPurpose::Reset, body).await?;
    Ok(Json(json!({"status": "password_changed"})))
}
