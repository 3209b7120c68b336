//! The notification types and the organisation's switches (rules in
//! `service::notification_types`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::JsonBody;
use super::problem::ApiError;
use super::AppState;
use crate::service::notification_types::{self, SwitchesInput};

pub fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{org}/notification-types", get(list).put(set))
}

async fn list(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"items": notification_types::list(&state, &admin).await?})))
}

async fn set(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SwitchesInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"items": notification_types::set_switches(&state, &admin, body).await?}),
    ))
}
