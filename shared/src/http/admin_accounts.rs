//! An admin user's own account: accept an invitation, log in and out, reset a forgotten password,
//! read and edit their profile (rules in `service::admin_accounts`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::auth::OrgAdmin;
use super::credentials;
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::domain::AdminUser;
use crate::service::admin_accounts::{self, ProfileInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org}/admins/accept",
            post(credentials::accept_invitation::<AdminUser>),
        )
        .route("/orgs/{org}/login", post(credentials::login::<AdminUser>))
        .route("/orgs/{org}/logout", post(logout))
        .route("/orgs/{org}/me", get(me).patch(edit_me))
        .route(
            "/orgs/{org}/password-reset",
            post(credentials::request_reset::<AdminUser>),
        )
        .route(
            "/orgs/{org}/password-reset/complete",
            post(credentials::complete_reset::<AdminUser>),
        )
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
