//! APIs, policies and catalog entries (and budgets, `service::budgets`), one generic set of use cases
//! over [`AdminResource`]; and the portal's published catalog. An update merges the changed fields into the current values and
//! validates the result exactly as a create, so the two can never disagree.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::net::IpAddr;

use super::auth::OrgAdmin;
use super::limits;
use super::{audit, AppState, OrConflict, Paged, ServiceError};
use crate::domain::audit::FieldChange;
use crate::domain::catalog::{
    check_description, check_listen_path, check_name, check_quota, check_rate, check_trigger_limits,
    default_trigger_limits, Api, ApprovalMode, CatalogEntry, Policy, Quota, Rate,
};
use crate::domain::event_data::{ApiChanged, EventData};
use crate::domain::limits::Limit;
use crate::domain::roles::Permission;
use crate::domain::{now_rfc3339, ApiId, CatalogId, Event, FieldError, HttpUrl, OrgId, PolicyId, ValidationErrors};
use crate::store::outbox::event_write;
use crate::store::resources::{self, Resource};
use crate::store::{Versioned, Write};

/// Fields the server owns; never part of an input.
const SERVER_FIELDS: [&str; 4] = ["id", "org_id", "created_at", "updated_at"];

/// A resource admins create, change and delete through the generic use cases.
pub trait AdminResource: Resource + Clone + 'static {
    /// Its name in messages (`api`, `policy`, `catalog entry`).
    const NAME: &'static str;
    /// What reading it takes, and changing it.
    const READ: Permission = Permission::ReadCatalog;
    const MANAGE: Permission = Permission::ManageCatalog;
    type Input: DeserializeOwned + Send;

    fn new_id() -> String;

    /// The resource `input` describes, checking references against the store.
    fn build(
        state: &AppState,
        org: &OrgId,
        id: String,
        input: Self::Input,
        created_at: String,
    ) -> impl Future<Output = Result<Self, ServiceError>> + Send;

    /// The events a change raises (`before`/`after` absent for a create/delete).
    fn events(_state: &AppState, _org: &OrgId, _before: Option<&Self>, _after: Option<&Self>) -> Vec<Event> {
        Vec::new()
    }

    /// Refuses a delete that would leave something pointing at nothing.
    fn check_unused(_state: &AppState, _resource: &Self) -> impl Future<Output = Result<(), ServiceError>> + Send {
        async { Ok(()) }
    }
}

/// Parses an input object, naming the offending field.
fn parse_input<T: DeserializeOwned>(value: Value) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        ValidationErrors::from(FieldError::new(field, e.into_inner().to_string())).into()
    })
}

fn not_found<R: AdminResource>() -> ServiceError {
    ServiceError::NotFound(R::NAME)
}

/// Writes `resource` at `version` (0 creates) with its events and its audit entry (`before`: the
/// resource as it was, for the fields changed), one transaction.
async fn save<R: AdminResource>(
    state: &AppState,
    admin: &OrgAdmin,
    before: Option<&R>,
    resource: &R,
    version: u64,
    events: &[Event],
) -> Result<(), ServiceError> {
    let (action, changes) = match before {
        None => ("created", vec![]),
        Some(before) => ("updated", resource_changes(before, resource)),
    };
    let mut writes = vec![
        resources::write(resource, version),
        audit_entry::<R>(state, admin, action, resource.id(), changes),
    ];
    writes.extend(events.iter().map(event_write));
    state.store.transact(writes).await.or_changed_meanwhile("id")
}

/// The audit entry of a change to a resource: action `<kind>.<verb>` (`catalog_entry.updated`).
fn audit_entry<R: AdminResource>(
    state: &AppState,
    admin: &OrgAdmin,
    verb: &str,
    id: &str,
    changes: Vec<FieldChange>,
) -> Write {
    let action = format!("{}.{verb}", R::NAME.replace(' ', "_"));
    audit::entry(state, admin, &action, Some(id), changes)
}

/// The fields an update changed (the server's own timestamps left out).
fn resource_changes<R: AdminResource>(before: &R, after: &R) -> Vec<FieldChange> {
    let shown = |r: &R| {
        let mut v = serde_json::to_value(r).expect("resources serialize");
        if let Some(map) = v.as_object_mut() {
            map.remove("updated_at");
        }
        v
    };
    crate::domain::audit::changes("", &shown(before), &shown(after), &[])
}

pub async fn create<R: AdminResource>(state: &AppState, admin: &OrgAdmin, body: Value) -> Result<R, ServiceError> {
    admin.require(R::MANAGE)?;
    let input = parse_input::<R::Input>(body)?;
    let resource = R::build(state, &admin.org, R::new_id(), input, now_rfc3339()).await?;
    let events = R::events(state, &admin.org, None, Some(&resource));
    save(state, admin, None, &resource, 0, &events).await?;
    Ok(resource)
}

/// A page of the organisation's resources of this kind, in creation order.
pub async fn list<R: AdminResource>(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<R>, ServiceError> {
    admin.require(R::READ)?;
    Ok(resources::list::<R>(state.store.as_ref(), &admin.org, after, limit).await?)
}

async fn find<R: AdminResource>(state: &AppState, org: &OrgId, id: &str) -> Result<Versioned<R>, ServiceError> {
    resources::get::<R>(state.store.as_ref(), org, id)
        .await?
        .ok_or_else(not_found::<R>)
}

pub async fn get<R: AdminResource>(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<R, ServiceError> {
    admin.require(R::READ)?;
    Ok(find::<R>(state, &admin.org, id).await?.value)
}

/// Merges `patch` into the resource (`null` removes a field) and validates the result as a create.
pub async fn update<R: AdminResource>(
    state: &AppState,
    admin: &OrgAdmin,
    id: &str,
    patch: Map<String, Value>,
) -> Result<R, ServiceError> {
    admin.require(R::MANAGE)?;
    let current = find::<R>(state, &admin.org, id).await?;
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
    let changed = R::build(
        state,
        &admin.org,
        id.to_string(),
        parse_input(Value::Object(input))?,
        created_at,
    )
    .await?;
    let events = R::events(state, &admin.org, Some(&current.value), Some(&changed));
    save(state, admin, Some(&current.value), &changed, current.version, &events).await?;
    Ok(changed)
}

pub async fn remove<R: AdminResource>(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(R::MANAGE)?;
    let current = find::<R>(state, &admin.org, id).await?;
    R::check_unused(state, &current.value).await?;
    let events = R::events(state, &admin.org, Some(&current.value), None);
    let mut writes = vec![
        resources::delete_write(&current.value, current.version),
        audit_entry::<R>(state, admin, "deleted", current.value.id(), vec![]),
    ];
    writes.extend(events.iter().map(event_write));
    state.store.transact(writes).await.or_changed_meanwhile("id")
}

/// Every catalog entry of an organisation (catalogs are small; read in pages of 100).
async fn all_catalog_entries(state: &AppState, org: &OrgId) -> Result<Vec<CatalogEntry>, ServiceError> {
    Ok(resources::all::<CatalogEntry>(state.store.as_ref(), org).await?)
}

fn in_use(what: &str, entries: &[&CatalogEntry]) -> ServiceError {
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ServiceError::conflict("id", format!("{what} is used by catalog entries {}", ids.join(", ")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiInput {
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
    ) -> Result<Self, ServiceError> {
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

    fn events(state: &AppState, org: &OrgId, before: Option<&Self>, after: Option<&Self>) -> Vec<Event> {
        let data = match (before, after) {
            (None, Some(a)) => EventData::ApiCreated(a.into()),
            (Some(_), Some(a)) => EventData::ApiUpdated(a.into()),
            (Some(b), None) => EventData::ApiDeleted(ApiChanged::from(b)),
            (None, None) => return Vec::new(),
        };
        vec![state.raise(org, data)]
    }

    async fn check_unused(state: &AppState, api: &Self) -> Result<(), ServiceError> {
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
pub struct PolicyInput {
    name: String,
    rate: Option<Rate>,
    quota: Option<Quota>,
    #[serde(default)]
    api_ids: Vec<String>,
    trigger_limits: Option<Vec<i64>>,
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
    ) -> Result<Self, ServiceError> {
        let mut errors = ValidationErrors::default();
        let name = check_name(&input.name, &mut errors);
        if let Some(rate) = &input.rate {
            check_rate(rate, &mut errors);
        }
        if let Some(quota) = &input.quota {
            check_quota(quota, &mut errors);
        }
        let trigger_limits = match &input.trigger_limits {
            None => default_trigger_limits(),
            Some(given) => check_trigger_limits(given, &mut errors),
        };
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
            trigger_limits,
            api_ids,
            created_at,
            updated_at: now_rfc3339(),
        })
    }

    async fn check_unused(state: &AppState, policy: &Self) -> Result<(), ServiceError> {
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
pub struct CatalogInput {
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
    ) -> Result<Self, ServiceError> {
        let mut errors = ValidationErrors::default();
        let name = check_name(&input.name, &mut errors);
        let description = check_description(&input.description, &mut errors);
        let redirect_to = input
            .redirect_to
            .as_deref()
            .and_then(|u| errors.check("redirect_to", HttpUrl::parse_field("redirect_to", u)));
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

/// A published entry with its API and the policy that sets its limits.
pub struct PublishedEntry {
    pub entry: CatalogEntry,
    /// How a request for it is decided: the entry's own mode or the organisation's default.
    pub approval: ApprovalMode,
    pub api: Option<Api>,
    pub policy: Option<Policy>,
}

/// A page of the portal's catalog: published entries with their API and the limits their policy
/// grants (unpublished entries are left out after reading, so a page may hold fewer than `limit`).
pub async fn published(
    state: &AppState,
    org: &str,
    source: IpAddr,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<PublishedEntry>, ServiceError> {
    let org = super::load_org_named_recent(state, org).await?;
    limits::per_source(state, &org, Limit::PublicReadsPerSource, source).await?;
    let store = state.store.as_ref();
    let (entries, next) = resources::list::<CatalogEntry>(store, &org.id, after, limit).await?;
    let mut items = Vec::new();
    for entry in entries.into_iter().filter(|e| e.published) {
        let api = resources::get::<Api>(store, &org.id, entry.api_id.as_str())
            .await?
            .map(|v| v.value);
        let policy = resources::get::<Policy>(store, &org.id, entry.policy_id.as_str())
            .await?
            .map(|v| v.value);
        let approval = entry.approval.unwrap_or(org.settings.default_approval);
        items.push(PublishedEntry {
            entry,
            approval,
            api,
            policy,
        });
    }
    Ok((items, next))
}
