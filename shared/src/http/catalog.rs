//! Admin: APIs, policies and catalog entries, one generic set of handlers over
//! `service::catalog::AdminResource`; and the portal's published catalog.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::auth::{ClientAddress, OrgAdmin};
use super::extract::{page, JsonBody, PageQuery, Path, Query};
use super::problem::ApiError;
use super::{without_org, AppState};
use crate::domain::catalog::{Api, CatalogEntry, Policy};
use crate::service::catalog::{self, AdminResource};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org}/apis", get(list::<Api>).post(create::<Api>))
        .route(
            "/orgs/{org}/apis/{id}",
            get(read::<Api>).patch(update::<Api>).delete(remove::<Api>),
        )
        .route("/orgs/{org}/policies", get(list::<Policy>).post(create::<Policy>))
        .route(
            "/orgs/{org}/policies/{id}",
            get(read::<Policy>).patch(update::<Policy>).delete(remove::<Policy>),
        )
        .route(
            "/orgs/{org}/catalog",
            get(list::<CatalogEntry>).post(create::<CatalogEntry>),
        )
        .route(
            "/orgs/{org}/catalog/{id}",
            get(read::<CatalogEntry>)
                .patch(update::<CatalogEntry>)
                .delete(remove::<CatalogEntry>),
        )
        .route("/portal/{org}/catalog", get(published))
}

pub(super) async fn create<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let resource = catalog::create::<R>(&state, &admin, body).await?;
    Ok((StatusCode::CREATED, Json(without_org(&resource))))
}

async fn list<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (items, next) = catalog::list::<R>(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(without_org).collect(), next)))
}

async fn read<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(without_org(&catalog::get::<R>(&state, &admin, &id).await?)))
}

pub(super) async fn update<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(without_org(
        &catalog::update::<R>(&state, &admin, &id, patch).await?,
    )))
}

pub(super) async fn remove<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    catalog::remove::<R>(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The portal's catalog: published entries with their API and the limits their policy grants.
async fn published(
    Path(org): Path<String>,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (entries, next) = catalog::published(&state, &org, address, after.as_deref(), limit).await?;
    let items: Vec<Value> = entries
        .into_iter()
        .map(|p| {
            json!({
                "id": p.entry.id,
                "name": p.entry.name,
                "description": p.entry.description,
                "approval": p.approval,
                "api": p.api.map(|a| json!({"id": a.id, "name": a.name, "description": a.description})),
                "rate": p.policy.as_ref().and_then(|p| p.rate),
                "quota": p.policy.as_ref().and_then(|p| p.quota),
            })
        })
        .collect();
    Ok(Json(page(items, next)))
}
