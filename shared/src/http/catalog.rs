//! Admin: APIs, policies and catalog entries, one generic set of handlers over [`AdminResource`];
//! and the portal's published catalog. PATCH merges the changed fields into the current values and
//! validates the result exactly as a create, so the two can never disagree.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::future::Future;

use super::auth::OrgAdmin;
use super::problem::ApiError;
use super::{json::JsonBody, load_org, page_limit, raise, AppState};
use crate::domain::catalog::{
    check_description, check_listen_path, check_name, check_quota, check_rate, check_url, Api, ApprovalMode,
    CatalogEntry, Policy, Quota, Rate,
};
use crate::domain::{
    now_rfc3339, ApiId, CatalogId, Event, EventKind, FieldError, OrgId, Organisation, PolicyId, ValidationErrors,
};
use crate::store::resources::{self, Resource};
use crate::store::StoreError;

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

/// Fields the server owns; never part of an input.
const SERVER_FIELDS: [&str; 4] = ["id", "org_id", "created_at", "updated_at"];

/// A resource admins create, change and delete through the generic handlers.
pub(crate) trait AdminResource: Resource + Clone + 'static {
    /// Its name in messages (`api`, `policy`, `catalog entry`).
    const NAME: &'static str;
    type Input: DeserializeOwned + Send;

    fn new_id() -> String;

    /// The resource `input` describes, checking references against the store.
    fn build(
        state: &AppState,
        org: &OrgId,
        id: String,
        input: Self::Input,
        created_at: String,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send;

    /// The events a change raises (`before`/`after` absent for a create/delete).
    fn events(_state: &AppState, _org: &Organisation, _before: Option<&Self>, _after: Option<&Self>) -> Vec<Event> {
        Vec::new()
    }

    /// Refuses a delete that would leave something pointing at nothing.
    fn check_unused(_state: &AppState, _resource: &Self) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    fn view(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("resources serialize");
        if let Some(map) = value.as_object_mut() {
            map.remove("org_id");
        }
        value
    }
}

/// Parses an input object, naming the offending field.
fn parse_input<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        ValidationErrors::from(FieldError::new(field, e.into_inner().to_string())).into()
    })
}

fn not_found<R: AdminResource>() -> ApiError {
    ApiError::NotFound(R::NAME)
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::ConditionFailed { .. } => {
            ApiError::Conflict(FieldError::new("id", "changed by someone else meanwhile; try again"))
        }
        e => e.into(),
    }
}

async fn create<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let input = parse_input::<R::Input>(body)?;
    let resource = R::build(&state, &org.id, R::new_id(), input, now_rfc3339()).await?;
    let events = R::events(&state, &org, None, Some(&resource));
    resources::save(state.store.as_ref(), &resource, 0, &events)
        .await
        .map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(resource.view())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
    after: Option<String>,
}

async fn list<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(query.limit, 50)?;
    let (items, next) = resources::list::<R>(state.store.as_ref(), &admin.org, query.after.as_deref(), limit).await?;
    Ok(Json(
        json!({"items": items.iter().map(R::view).collect::<Vec<_>>(), "next_after": next}),
    ))
}

async fn find<R: AdminResource>(
    state: &AppState,
    org: &OrgId,
    id: &str,
) -> Result<crate::store::orgs::Versioned<R>, ApiError> {
    resources::get::<R>(state.store.as_ref(), org, id)
        .await?
        .ok_or_else(not_found::<R>)
}

async fn read<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(find::<R>(&state, &admin.org, &id).await?.value.view()))
}

async fn update<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let current = find::<R>(&state, &org.id, &id).await?;
    let mut input = match serde_json::to_value(&current.value).expect("resources serialize") {
        Value::Object(map) => map,
        _ => unreachable!("resources serialize to objects"),
    };
    let created_at = input
        .get("created_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for field in SERVER_FIELDS {
        input.remove(field);
    }
    for (field, value) in patch {
        if SERVER_FIELDS.contains(&field.as_str()) {
            return Err(ValidationErrors::from(FieldError::new(field, "cannot be changed")).into());
        }
        if value.is_null() {
            input.remove(&field);
        } else {
            input.insert(field, value);
        }
    }
    let changed = R::build(&state, &org.id, id, parse_input(Value::Object(input))?, created_at).await?;
    let events = R::events(&state, &org, Some(&current.value), Some(&changed));
    resources::save(state.store.as_ref(), &changed, current.version, &events)
        .await
        .map_err(conflict)?;
    Ok(Json(changed.view()))
}

async fn remove<R: AdminResource>(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let current = find::<R>(&state, &org.id, &id).await?;
    R::check_unused(&state, &current.value).await?;
    let events = R::events(&state, &org, Some(&current.value), None);
    resources::delete(state.store.as_ref(), &current.value, current.version, &events)
        .await
        .map_err(conflict)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every catalog entry of an organisation (catalogs are small; read in pages of 100).
async fn all_catalog_entries(state: &AppState, org: &OrgId) -> Result<Vec<CatalogEntry>, ApiError> {
    Ok(resources::all::<CatalogEntry>(state.store.as_ref(), org).await?)
}

fn in_use(what: &str, entries: &[&CatalogEntry]) -> ApiError {
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ApiError::Conflict(FieldError::new(
        "id",
        format!("{what} is used by catalog entries {}", ids.join(", ")),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiInput {
    name: String,
    #[serde(default)]
    description: String,
    listen_path: Option<String>,
}

impl AdminResource for Api {
    const NAME: &'static str = "api";
    type Input = ApiInput;

    fn new_id() -> String {
        ApiId::generate().to_string()
    }

    async fn build(
        _: &AppState,
        org: &OrgId,
        id: String,
        input: ApiInput,
        created_at: String,
    ) -> Result<Self, ApiError> {
        let mut errors = ValidationErrors::default();
        let name = check_name(&input.name, &mut errors);
        let description = check_description(&input.description, &mut errors);
        let listen_path = input
            .listen_path
            .as_deref()
            .and_then(|p| errors.check("listen_path", check_listen_path(p)));
        errors.into_result()?;
        Ok(Api {
            id: ApiId::parse(&id).ok_or_else(not_found::<Api>)?,
            org_id: org.clone(),
            name,
            description,
            listen_path,
            created_at,
            updated_at: now_rfc3339(),
        })
    }

    fn events(state: &AppState, org: &Organisation, before: Option<&Self>, after: Option<&Self>) -> Vec<Event> {
        let (kind, api) = match (before, after) {
            (None, Some(a)) => (EventKind::ApiCreated, a),
            (Some(_), Some(a)) => (EventKind::ApiUpdated, a),
            (Some(b), None) => (EventKind::ApiDeleted, b),
            (None, None) => return Vec::new(),
        };
        let data = json!({"api_id": api.id, "name": api.name, "listen_path": api.listen_path});
        vec![raise(state, org, kind, data, None)]
    }

    async fn check_unused(state: &AppState, api: &Self) -> Result<(), ApiError> {
        let entries = all_catalog_entries(state, &api.org_id).await?;
        let using: Vec<&CatalogEntry> = entries.iter().filter(|e| e.api_id == api.id).collect();
        if using.is_empty() {
            Ok(())
        } else {
            Err(in_use("this api", &using))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyInput {
    name: String,
    rate: Option<Rate>,
    quota: Option<Quota>,
    #[serde(default)]
    api_ids: Vec<String>,
}

impl AdminResource for Policy {
    const NAME: &'static str = "policy";
    type Input = PolicyInput;

    fn new_id() -> String {
        PolicyId::generate().to_string()
    }

    async fn build(
        state: &AppState,
        org: &OrgId,
        id: String,
        input: PolicyInput,
        created_at: String,
    ) -> Result<Self, ApiError> {
        let mut errors = ValidationErrors::default();
        let name = check_name(&input.name, &mut errors);
        if let Some(rate) = &input.rate {
            check_rate(rate, &mut errors);
        }
        if let Some(quota) = &input.quota {
            check_quota(quota, &mut errors);
        }
        let mut api_ids = Vec::new();
        for (i, raw) in input.api_ids.iter().enumerate() {
            let exists = match ApiId::parse(raw) {
                Some(api) => resources::get::<Api>(state.store.as_ref(), org, api.as_str())
                    .await?
                    .map(|_| api),
                None => None,
            };
            match exists {
                Some(api) if !api_ids.contains(&api) => api_ids.push(api),
                Some(_) => errors.push(format!("api_ids[{i}]"), "appears twice"),
                None => errors.push(format!("api_ids[{i}]"), "is not an api of this organisation"),
            }
        }
        errors.into_result()?;
        Ok(Policy {
            id: PolicyId::parse(&id).ok_or_else(not_found::<Policy>)?,
            org_id: org.clone(),
            name,
            rate: input.rate,
            quota: input.quota,
            api_ids,
            created_at,
            updated_at: now_rfc3339(),
        })
    }

    async fn check_unused(state: &AppState, policy: &Self) -> Result<(), ApiError> {
        let entries = all_catalog_entries(state, &policy.org_id).await?;
        let using: Vec<&CatalogEntry> = entries.iter().filter(|e| e.policy_id == policy.id).collect();
        if using.is_empty() {
            Ok(())
        } else {
            Err(in_use("this policy", &using))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogInput {
    name: String,
    #[serde(default)]
    description: String,
    api_id: String,
    policy_id: String,
    approval: Option<ApprovalMode>,
    redirect_to: Option<String>,
    #[serde(default = "published_by_default")]
    published: bool,
}

fn published_by_default() -> bool {
    true
}

impl AdminResource for CatalogEntry {
    const NAME: &'static str = "catalog entry";
    type Input = CatalogInput;

    fn new_id() -> String {
        CatalogId::generate().to_string()
    }

    async fn build(
        state: &AppState,
        org: &OrgId,
        id: String,
        input: CatalogInput,
        created_at: String,
    ) -> Result<Self, ApiError> {
        let mut errors = ValidationErrors::default();
        let name = check_name(&input.name, &mut errors);
        let description = check_description(&input.description, &mut errors);
        let redirect_to = input
            .redirect_to
            .as_deref()
            .and_then(|u| errors.check("redirect_to", check_url("redirect_to", u)));
        let api = match ApiId::parse(&input.api_id) {
            Some(api) => resources::get::<Api>(state.store.as_ref(), org, api.as_str())
                .await?
                .map(|v| v.value),
            None => None,
        };
        let policy = match PolicyId::parse(&input.policy_id) {
            Some(policy) => resources::get::<Policy>(state.store.as_ref(), org, policy.as_str())
                .await?
                .map(|v| v.value),
            None => None,
        };
        match (&api, &policy) {
            (None, _) => errors.push("api_id", "is not an api of this organisation"),
            (_, None) => errors.push("policy_id", "is not a policy of this organisation"),
            (Some(api), Some(policy)) if !policy.api_ids.contains(&api.id) => {
                errors.push("policy_id", "does not grant access to this api")
            }
            _ => {}
        }
        errors.into_result()?;
        let (Some(api), Some(policy)) = (api, policy) else {
            unreachable!("checked above")
        };
        Ok(CatalogEntry {
            id: CatalogId::parse(&id).ok_or_else(not_found::<CatalogEntry>)?,
            org_id: org.clone(),
            name,
            description,
            api_id: api.id,
            policy_id: policy.id,
            approval: input.approval,
            redirect_to,
            published: input.published,
            created_at,
            updated_at: now_rfc3339(),
        })
    }
}

/// The portal's catalog: published entries with their API and the limits their policy grants.
async fn published(Path(org): Path<String>, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, &org).await?;
    let mut items = Vec::new();
    for entry in all_catalog_entries(&state, &org.id)
        .await?
        .into_iter()
        .filter(|e| e.published)
    {
        let api = resources::get::<Api>(state.store.as_ref(), &org.id, entry.api_id.as_str())
            .await?
            .map(|v| v.value);
        let policy = resources::get::<Policy>(state.store.as_ref(), &org.id, entry.policy_id.as_str())
            .await?
            .map(|v| v.value);
        items.push(json!({
            "id": entry.id,
            "name": entry.name,
            "description": entry.description,
            "api": api.map(|a| json!({"id": a.id, "name": a.name, "description": a.description})),
            "rate": policy.as_ref().and_then(|p| p.rate),
            "quota": policy.as_ref().and_then(|p| p.quota),
        }));
    }
    Ok(Json(json!({"items": items})))
}
