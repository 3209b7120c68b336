//! Admin: an organisation's developers — search by email prefix, invite, view, edit, remove.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::{page, page_args, JsonBody, Path, Query};
use super::problem::ApiError;
use super::AppState;
use crate::service::developers::{self, EditInput, InviteInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/developers", get(search).post(invite))
        .route("/orgs/{org}/developers/{id}", get(read).patch(edit).delete(remove))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    email: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn search(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = page_args(query.limit, query.cursor.as_deref(), 20)?;
    let prefix = query.email.unwrap_or_default();
    let (found, next) = developers::search(&state, &admin, &prefix, after.as_deref(), limit).await?;
    Ok(Json(page(found.iter().map(|d| json!(d.profile())).collect(), next)))
}

async fn invite(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InviteInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let developer = developers::invite(&state, &admin, body).await?;
    Ok((StatusCode::CREATED, Json(developer.profile())))
}

async fn read(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(developers::get(&state, &admin, &id).await?.profile()))
}

async fn edit(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EditInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(developers::edit(&state, &admin, &id, body).await?.profile()))
}

async fn remove(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    developers::remove(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
