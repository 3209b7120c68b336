//! Key use by day, with limits (rules in `service::usage`): a developer's own, an admin's view of a
//! key or developer, and the day's top keys; and spend reports against budgets (`service::budgets`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{DeveloperSession, OrgAdmin};
use super::extract::{JsonBody, Query};
use super::problem::ApiError;
use super::AppState;
use crate::service::budgets::{self, SpendReport};
use crate::service::usage::{self, UsageQuery};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/usage", get(own))
        .route("/orgs/{org}/usage", get(of).post(report))
        .route("/orgs/{org}/usage/top", get(top))
}

async fn own(
    session: DeveloperSession,
    State(state): State<AppState>,
    Query(query): Query<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"items": usage::own(&state, &session, query).await?})))
}

async fn of(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<UsageQuery>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"items": usage::of(&state, &admin, query).await?})))
}

/// A spend report: 200 whether counted now or before (`duplicate`).
async fn report(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SpendReport>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(budgets::report(&state, &admin, body).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopQuery {
    day: Option<String>,
    limit: Option<usize>,
}

async fn top(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<TopQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(10).clamp(1, 100);
    Ok(Json(
        json!({"items": usage::top(&state, &admin, query.day.as_deref(), limit).await?}),
    ))
}
