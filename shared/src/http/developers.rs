//! Admin: an organisation's developers — search by email prefix, invite, view, edit, remove.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::json::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::service::developers::{self, EditInput, InviteInput};
use crate::service::{page_limit, ServiceError};

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
    let limit = page_limit(query.limit, 20)?;
    let cursor = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ServiceError::invalid("cursor", "is not a cursor from this list"))?,
        ),
    };
    let prefix = query.email.unwrap_or_default();
    let (found, next) = developers::search(&state, &admin, &prefix, cursor.as_deref(), limit).await?;
    Ok(Json(json!({
        "items": found.iter().map(|d| d.profile()).collect::<Vec<_>>(),
        "next_cursor": next.map(|n| URL_SAFE_NO_PAD.encode(n)),
    })))
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
