//! Admin: the delivery log, replays of failed deliveries, and webhook endpoint health.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::{page, page_args, JsonBody, PageQuery, Path, Query};
use super::problem::ApiError;
use super::AppState;
use crate::service::deliveries::{self, Delivery, DeliveryStatus};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/deliveries", get(list))
        .route("/orgs/{org}/deliveries/{id}/retry", post(retry))
        .route("/orgs/{org}/webhook-endpoints", get(list_endpoints))
        .route("/orgs/{org}/webhook-endpoints/enable", post(enable_endpoint))
}

async fn list_endpoints(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (items, next) = deliveries::endpoints(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(|e| json!(e)).collect(), next)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableBody {
    url: Option<String>,
}

async fn enable_endpoint(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EnableBody>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        deliveries::enable_endpoint(&state, &admin, body.url.as_deref()).await?
    )))
}

/// A delivery as the log shows it (not the queued job, which holds the whole event).
fn view(d: &Delivery) -> Value {
    json!({
        "id": d.delivery_id, "event_id": d.event_id, "channel": d.channel, "target": d.target,
        "status": d.status, "attempts": d.attempts, "last_error": d.last_error, "reason": d.reason,
        "updated_at": d.updated_at,
        "log": d.log,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<DeliveryStatus>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = page_args(query.limit, query.cursor.as_deref(), 50)?;
    let (items, next) = deliveries::list(&state, &admin, query.status, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(view).collect(), next)))
}

async fn retry(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let delivery = deliveries::retry(&state, &admin, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&delivery))))
}
