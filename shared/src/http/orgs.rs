//! Organisations: created by the operator (`POST /orgs`), read and changed by their admins; the
//! webhook signing secret's rotation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{Operator, OrgAdmin};
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use super::ShownOnce;
use crate::domain::Organisation;
use crate::service::orgs::{self, CreateInput, PatchInput, RotateInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs", post(create))
        .route("/orgs/{org}", get(read).patch(update))
        .route("/orgs/{org}/webhook-secret/rotate", post(rotate_secret))
}

/// The organisation as admins see it (its secrets never).
fn view(org: &Organisation) -> Value {
    json!({
        "id": org.id,
        "name": org.name,
        "settings": org.settings,
        "event_options": org.event_options,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    })
}

async fn create(
    operator: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateInput>,
) -> Result<ShownOnce, ApiError> {
    let created = orgs::create(&state, &operator, body).await?;
    let mut body = view(&created.org);
    // Shown once: only hashes and sealed copies are kept.
    body["admin_key"] = json!(created.admin_key.expose());
    body["admin_key_prefix"] = json!(created.admin_key_prefix);
    body["webhook_secret"] = json!(created.webhook_secret.expose());
    if let Some(owner) = &created.owner {
        body["owner"] = owner.view();
    }
    Ok(ShownOnce(StatusCode::CREATED, body))
}

async fn read(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&orgs::get(&state, &admin).await?)))
}

async fn update(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PatchInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&orgs::update(&state, &admin, body).await?)))
}

async fn rotate_secret(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RotateInput>,
) -> Result<ShownOnce, ApiError> {
    let rotated = orgs::rotate_secret(&state, &admin, body).await?;
    let previous_until = rotated.previous_valid_until.and_then(|until| {
        time::OffsetDateTime::from_unix_timestamp(until)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    Ok(ShownOnce(
        StatusCode::OK,
        json!({"webhook_secret": rotated.webhook_secret.expose(), "previous_secret_valid_until": previous_until}),
    ))
}
