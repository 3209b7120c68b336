//! Sending the digests of pending key requests at once (rules in `service::digests`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::problem::ApiError;
use super::AppState;
use crate::service::digests;

pub fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{org}/notifications/digest", post(send_now))
}

/// 202: the digests are written to the outbox; their emails follow.
async fn send_now(admin: OrgAdmin, State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let run = digests::send_now(&state, &admin).await?;
    Ok((StatusCode::ACCEPTED, Json(json!(run))))
}
