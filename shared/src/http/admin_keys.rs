//! Admin keys of an organisation: create with a role (the key shown once), list, revoke (rules in
//! `service::admin_keys`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::{page, JsonBody, PageQuery, Path, Query};
use super::problem::ApiError;
use super::AppState;
use super::ShownOnce;
use crate::service::admin_keys::{self, CreateInput, StoredAdminKey};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/admin-keys", get(list).post(create))
        .route("/orgs/{org}/admin-keys/{id}", delete(revoke))
}

/// An admin key as listed: its prefix, never its hash.
fn view(k: &StoredAdminKey) -> Value {
    json!({
        "id": k.id,
        "name": k.key.name,
        "prefix": k.key.prefix,
        "role": k.key.role,
        "created_at": k.key.created_at,
        "last_used_at": k.key.last_used_at,
    })
}

async fn create(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateInput>,
) -> Result<ShownOnce, ApiError> {
    let (secret, key) = admin_keys::create(&state, &admin, body).await?;
    let mut body = view(&key);
    body["key"] = json!(secret.expose());
    Ok(ShownOnce(StatusCode::CREATED, body))
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (keys, next) = admin_keys::list(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(keys.iter().map(view).collect(), next)))
}

async fn revoke(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    admin_keys::revoke(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
