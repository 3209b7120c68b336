//! Admin: the email templates — list them, preview one with sample data, send a test email.

use super::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::service::email_templates::{self, PreviewInput};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/email-templates", get(list))
        .route("/orgs/{org}/email-templates/{name}/preview", post(preview))
        .route("/orgs/{org}/email-templates/{name}/test", post(send_test))
}

async fn list(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (names, locales, sample) = email_templates::catalogue(&state, &admin)?;
    Ok(Json(
        json!({"templates": names, "locales": locales, "sample_data": sample}),
    ))
}

async fn preview(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PreviewInput>,
) -> Result<Json<Value>, ApiError> {
    let rendered = email_templates::preview(&state, &admin, &name, body).await?;
    Ok(Json(
        json!({"template": name, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}),
    ))
}

async fn send_test(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<PreviewInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let delivery_id = email_templates::send_test(&state, &admin, &name, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"template": name, "delivery_id": delivery_id})),
    ))
}
