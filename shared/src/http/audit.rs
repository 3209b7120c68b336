//! The audit log, read-only: `GET /orgs/{org}/audit-log` with filters and a cursor (rules in
//! `service::audit`). No route changes or removes an entry.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::OrgAdmin;
use super::extract::{page, page_args, Query};
use super::problem::ApiError;
use super::AppState;
use crate::service::audit::{self, Filters};

pub fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{org}/audit-log", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = page_args(query.limit, query.cursor.as_deref(), 50)?;
    let filters = Filters {
        actor: query.actor,
        action: query.action,
        target: query.target,
        from: query.from,
        to: query.to,
    };
    let (entries, next) = audit::list(&state, &admin, &filters, after.as_deref(), limit).await?;
    Ok(Json(page(entries.iter().map(|e| json!(e)).collect(), next)))
}
