//! Key requests and API keys (rules in `service::api_keys`): developers request keys and redeem
//! Generate Key links; admins list, approve, decline, subscribe, change and revoke.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{ClientAddress, DeveloperSession, OrgAdmin};
use super::extract::{page, page_args, JsonBody, PageQuery, Path, Query};
use super::problem::ApiError;
use super::{without_org, AppState, ShownOnce};
use crate::domain::api_keys::{ApiKey, KeyRequestStatus};
use crate::service::api_keys::{
    self, Approval, DescribedKey, GenerateInput, KeyRequestInput, PoliciesInput, Requested, RollInput,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/key-requests", post(request_key).get(own_requests))
        .route("/portal/{org}/keys", get(own_keys))
        .route("/portal/{org}/keys/generate", post(generate))
        .route("/portal/{org}/keys/{id}/roll", post(roll))
        .route("/orgs/{org}/key-requests", get(list_requests))
        .route("/orgs/{org}/key-requests/{id}/approve", post(approve))
        .route("/orgs/{org}/key-requests/{id}/decline", post(decline))
        .route("/orgs/{org}/developers/{id}/keys", post(subscribe).get(developer_keys))
        .route("/orgs/{org}/keys", get(list_keys))
        .route(
            "/orgs/{org}/keys/{id}",
            get(read_key).patch(change_key).delete(revoke_key),
        )
}

/// A request whose key this call issued, with the key shown once (only its hash is kept).
fn issued_view(approval: &Approval) -> Value {
    let mut body = without_org(&approval.request);
    if let Some((plain, key)) = &approval.key {
        body["key"] = json!(plain.expose());
        body["key_details"] = key.view();
    }
    body
}

/// An approved request as its approver sees it: the key's details, never the key, which goes to its
/// developer (by email, or a Generate Key link).
fn approval_view(approval: &Approval) -> Value {
    let mut body = without_org(&approval.request);
    if let Some((_, key)) = &approval.key {
        body["key_details"] = key.view();
    }
    body
}

/// A key as its developer sees it: with its policies and catalog entry, or "(No Catalog Entry)".
fn described_view(described: &DescribedKey) -> Value {
    let mut v = described.key.view();
    v["policies"] = json!(described
        .policies
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "rate": p.rate, "quota": p.quota}))
        .collect::<Vec<_>>());
    v["catalog_entry"] = match &described.catalog_entry {
        Some(e) => json!({"id": e.id, "name": e.name}),
        None => json!({"name": "(No Catalog Entry)"}),
    };
    v
}

async fn request_key(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<KeyRequestInput>,
) -> Result<Response, ApiError> {
    Ok(match api_keys::request_key(&state, &session, body).await? {
        Requested::Redirect(target) => (
            StatusCode::OK,
            Json(json!({"status": "redirect", "redirect_to": target})),
        )
            .into_response(),
        // Its 201 shows a key when the request was approved at once: uncached either way.
        Requested::Pending(request) => ShownOnce(StatusCode::CREATED, without_org(&request)).into_response(),
        Requested::Approved(approval) => ShownOnce(StatusCode::CREATED, issued_view(&approval)).into_response(),
    })
}

async fn own_requests(
    session: DeveloperSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (mine, next) = api_keys::own_requests(&state, &session, after.as_deref(), limit).await?;
    Ok(Json(page(mine.iter().map(without_org).collect(), next)))
}

async fn own_keys(
    session: DeveloperSession,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (keys, next) = api_keys::own_keys(&state, &session, after.as_deref(), limit).await?;
    Ok(Json(page(keys.iter().map(described_view).collect(), next)))
}

async fn generate(
    session: DeveloperSession,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(body): JsonBody<GenerateInput>,
) -> Result<ShownOnce, ApiError> {
    let (plain, key) = api_keys::generate(&state, &session, address, body).await?;
    let mut body = key.view();
    body["key"] = json!(plain.expose());
    Ok(ShownOnce(StatusCode::CREATED, body))
}

/// 200 with the key's new secret, shown once; `previous.valid_until` says until when the former works.
async fn roll(
    session: DeveloperSession,
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RollInput>,
) -> Result<ShownOnce, ApiError> {
    let (plain, key) = api_keys::roll(&state, &session, address, &id, body).await?;
    let mut body = key.view();
    body["key"] = json!(plain.expose());
    Ok(ShownOnce(StatusCode::OK, body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    status: Option<KeyRequestStatus>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_requests(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<StatusQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = page_args(query.limit, query.cursor.as_deref(), 50)?;
    let (items, next) = api_keys::list_requests(&state, &admin, query.status, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(without_org).collect(), next)))
}

async fn approve(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(approval_view(&api_keys::approve(&state, &admin, &id).await?)))
}

async fn decline(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    api_keys::decline(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn subscribe(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<PoliciesInput>,
) -> Result<ShownOnce, ApiError> {
    let approval = api_keys::subscribe(&state, &admin, &id, body).await?;
    Ok(ShownOnce(StatusCode::CREATED, issued_view(&approval)))
}

async fn list_keys(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (keys, next) = api_keys::list_keys(&state, &admin, after.as_deref(), limit).await?;
    Ok(Json(page(keys.iter().map(ApiKey::view).collect(), next)))
}

async fn developer_keys(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = query.resolve(50)?;
    let (keys, next) = api_keys::developer_keys(&state, &admin, &id, after.as_deref(), limit).await?;
    Ok(Json(page(keys.iter().map(ApiKey::view).collect(), next)))
}

async fn read_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(api_keys::get_key(&state, &admin, &id).await?.view()))
}

async fn change_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<PoliciesInput>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(api_keys::change_key(&state, &admin, &id, body).await?.view()))
}

async fn revoke_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke_key(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
