//! An organisation's admin users: invite with a role, list, read, change the role, remove (rules
//! in `service::admin_users`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::auth::OrgAdmin;
use super::extract::{page, JsonBody, PageQuery, Path, Query};
use super::problem::ApiError;
use super::AppState;
use crate::service::admin_users::{self, ChangeInput, InviteInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/admins", get(list).post(invite))
        .route("/orgs/{org}/admins/{id}", get(read).patch(change).delete(remove))
}

async fn invite(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InviteInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = admin_users::invite(&state, &admin, body).await?;
    Ok((StatusCode::CREATED, Json(user.view())))
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (users, next) = admin_users::list(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(users.iter().map(|u| u.view()).collect(), next)))
}

async fn read(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(admin_users::get(&state, &admin, &id).await?.view()))
}

async fn change(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ChangeInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(admin_users::change_role(&state, &admin, &id, body).await?.view()))
}

async fn remove(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    admin_users::remove(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
