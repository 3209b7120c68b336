//! Admin: the delivery log (every email and webhook, with its attempts), replaying a failed one, and
//! the health of webhook endpoints (enabling a disabled one).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::json::JsonBody;
use super::problem::ApiError;
use super::{page_limit, AppState};
use crate::domain::FieldError;
use crate::queue::OutgoingMessage;
use crate::store::deliveries::{self, Delivery, DeliveryStatus};
use crate::store::endpoints::{self, EndpointHealth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/deliveries", get(list))
        .route("/orgs/{org}/deliveries/{id}/retry", post(retry))
        .route("/orgs/{org}/webhook-endpoints", get(list_endpoints))
        .route("/orgs/{org}/webhook-endpoints/enable", post(enable_endpoint))
}

/// The webhook endpoints Gatehouse has a health record for: failing since when, disabled or not.
async fn list_endpoints(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items = endpoints::list(state.store.as_ref(), &admin.org).await?;
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableBody {
    url: String,
}

/// Sends to a disabled endpoint again (its failure clock restarts).
async fn enable_endpoint(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EnableBody>,
) -> Result<Json<Value>, ApiError> {
    let Some(current) = endpoints::get(state.store.as_ref(), &admin.org, &body.url).await? else {
        return Err(ApiError::NotFound("webhook endpoint"));
    };
    let health = EndpointHealth::new(&body.url);
    match endpoints::save(state.store.as_ref(), &admin.org, &health, current.version, &[]).await {
        Ok(()) => {}
        Err(crate::store::StoreError::ConditionFailed { .. }) => {
            return Err(ApiError::Conflict(FieldError::new(
                "url",
                "the endpoint changed at the same time; try again",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %admin.org, "webhook endpoint enabled");
    Ok(Json(json!(health)))
}

/// A delivery as the log shows it (not the queued job, which holds the whole event).
fn view(d: &Delivery) -> Value {
    json!({
        "id": d.delivery_id, "event_id": d.event_id, "channel": d.channel, "target": d.target,
        "status": d.status, "attempts": d.attempts, "last_error": d.last_error, "updated_at": d.updated_at,
        "log": d.log,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<DeliveryStatus>,
    limit: Option<usize>,
    after: Option<String>,
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit, 50)?;
    let (page, next) = deliveries::list(state.store.as_ref(), &admin.org, query.after.as_deref(), limit).await?;
    let items: Vec<Value> = page
        .iter()
        .filter(|d| query.status.is_none_or(|s| d.status == s))
        .map(view)
        .collect();
    Ok(Json(json!({"items": items, "next_after": next})))
}

/// Puts a failed delivery's job back on its queue; the worker attempts it again (and still never
/// delivers twice: a delivery that succeeded meanwhile is skipped).
async fn retry(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let delivery = deliveries::get(state.store.as_ref(), &admin.org, &id)
        .await?
        .ok_or(ApiError::NotFound("delivery"))?;
    if delivery.status != DeliveryStatus::Failed || delivery.job.is_empty() {
        return Err(ApiError::Conflict(FieldError::new(
            "status",
            "only a failed delivery can be replayed",
        )));
    }
    let queue = if delivery.channel == "webhook" {
        &state.webhook_queue
    } else {
        &state.email_queue
    };
    queue
        .send(vec![OutgoingMessage {
            body: delivery.job.clone(),
        }])
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("queueing a replay")))?;
    tracing::info!(org = %admin.org, delivery_id = %delivery.delivery_id, "delivery replayed");
    Ok((StatusCode::ACCEPTED, Json(view(&delivery))))
}
