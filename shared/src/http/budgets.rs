//! Budgets (rules in `service::budgets`), made, changed and deleted by the generic resource handlers
//! of `http::catalog`; spend is reported at `POST /orgs/{org}/usage` (`http::usage`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::auth::OrgAdmin;
use super::catalog::{create, remove, update};
use super::extract::{page, PageQuery, Path, Query};
use super::problem::ApiError;
use super::{without_org, AppState};
use crate::domain::budgets::Budget;
use crate::service::budgets::{self, BudgetStatus};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/budgets", get(list).post(create::<Budget>))
        .route(
            "/orgs/{org}/budgets/{id}",
            get(read).patch(update::<Budget>).delete(remove::<Budget>),
        )
}

fn view(status: &BudgetStatus) -> Value {
    without_org(status)
}

async fn list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (items, next) = budgets::list(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(view).collect(), next)))
}

async fn read(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&budgets::status(&state, &admin, &id).await?)))
}
