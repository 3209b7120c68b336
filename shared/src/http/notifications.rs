//! A person's notifications: a developer's inbox and preferences under `/portal/{org}/…`, an admin
//! user's under `/orgs/{org}/me/…` (rules in `service::notifications`).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{DeveloperSession, OrgAdmin};
use super::extract::{page, page_args, JsonBody, Path, Query};
use super::problem::ApiError;
use super::AppState;
use crate::domain::notifications::Preferences;
use crate::service::notifications::{self, Filters, Recipient};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/notifications", get(developer_list))
        .route("/portal/{org}/notifications/count", get(developer_count))
        .route("/portal/{org}/notifications/read-all", post(developer_read_all))
        .route("/portal/{org}/notifications/{id}/read", post(developer_read))
        .route("/portal/{org}/notifications/{id}/archive", post(developer_archive))
        .route(
            "/portal/{org}/preferences",
            get(developer_preferences).put(developer_set_preferences),
        )
        .route(
            "/orgs/{org}/me/preferences",
            get(admin_preferences).put(admin_set_preferences),
        )
        .route("/orgs/{org}/me/notifications", get(admin_list))
        .route("/orgs/{org}/me/notifications/count", get(admin_count))
        .route("/orgs/{org}/me/notifications/read-all", post(admin_read_all))
        .route("/orgs/{org}/me/notifications/{id}/read", post(admin_read))
        .route("/orgs/{org}/me/notifications/{id}/archive", post(admin_archive))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    unread: Option<bool>,
    archived: Option<bool>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(state: &AppState, inbox: &Recipient<'_>, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let (after, limit) = page_args(query.limit, query.cursor.as_deref(), 50)?;
    let filters = Filters {
        unread: query.unread,
        archived: query.archived,
    };
    let (items, next) = notifications::list(state, inbox, filters, after.as_deref(), limit).await?;
    Ok(Json(page(items.iter().map(|i| json!(i)).collect(), next)))
}

async fn count(state: &AppState, inbox: &Recipient<'_>) -> Result<Json<Value>, ApiError> {
    let (unread, more) = notifications::unread_count(state, inbox).await?;
    Ok(Json(json!({"unread": unread, "more": more})))
}

async fn read_all(state: &AppState, inbox: &Recipient<'_>) -> Result<Json<Value>, ApiError> {
    let marked = notifications::mark_all_read(state, inbox).await?;
    Ok(Json(json!({"marked_read": marked})))
}

fn preferences_view((chosen, effective): (Preferences, Vec<notifications::Effective>)) -> Json<Value> {
    Json(json!({
        "categories": chosen.categories,
        "types": chosen.types,
        "digests": chosen.digests,
        "effective": effective,
    }))
}

async fn developer_preferences(
    session: DeveloperSession,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(preferences_view(
        notifications::preferences(&state, &Recipient::of_developer(&session)).await?,
    ))
}

async fn developer_set_preferences(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let person = Recipient::of_developer(&session);
    Ok(preferences_view(
        notifications::set_preferences(&state, &person, &body).await?,
    ))
}

async fn admin_preferences(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(preferences_view(
        notifications::preferences(&state, &Recipient::of_admin(&admin)?).await?,
    ))
}

async fn admin_set_preferences(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    Ok(preferences_view(
        notifications::set_preferences(&state, &Recipient::of_admin(&admin)?, &body).await?,
    ))
}

async fn developer_list(
    session: DeveloperSession,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list(&state, &Recipient::of_developer(&session), query).await
}

async fn developer_count(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    count(&state, &Recipient::of_developer(&session)).await
}

async fn developer_read_all(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    read_all(&state, &Recipient::of_developer(&session)).await
}

async fn developer_read(
    session: DeveloperSession,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        notifications::mark_read(&state, &Recipient::of_developer(&session), &id).await?
    )))
}

async fn developer_archive(
    session: DeveloperSession,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        notifications::archive(&state, &Recipient::of_developer(&session), &id).await?
    )))
}

async fn admin_list(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    list(&state, &Recipient::of_admin(&admin)?, query).await
}

async fn admin_count(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    count(&state, &Recipient::of_admin(&admin)?).await
}

async fn admin_read_all(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    read_all(&state, &Recipient::of_admin(&admin)?).await
}

async fn admin_read(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        notifications::mark_read(&state, &Recipient::of_admin(&admin)?, &id).await?
    )))
}

async fn admin_archive(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        notifications::archive(&state, &Recipient::of_admin(&admin)?, &id).await?
    )))
}
