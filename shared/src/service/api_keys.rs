//! Key requests and API keys: developers request access to catalog entries; each entry's approval mode
//! (or the organisation's default) decides — at once, by an admin, by a third party through the admin
//! API, or by sending the developer elsewhere. An approval issues a key, or with secure key approval a
//! one-use Generate Key link that only the requesting developer, logged in, can redeem.
//!
//! Every decision is one transaction conditioned on the request's version: of two admins approving at
//! once exactly one succeeds, and a failed write leaves the request pending with no key and no event.

use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

use super::auth::{DeveloperSession, OrgAdmin};
use super::{audit, limits};
use super::{load_org, AppState, OrConflict, Paged, ServiceError};
use crate::domain::api_keys::{mint_key, ApiKey, KeyRequest, KeyRequestStatus, MAX_ROLL_GRACE_SECS};
use crate::domain::audit::FieldChange;
use crate::domain::catalog::{ApprovalMode, CatalogEntry, Policy};
use crate::domain::event_data::{
    Actor, Decision, DecisionSecret, EventData, KeyChanged, KeyDelivery, KeyRequestCreated, KeyRequestDecided,
};
use crate::domain::fields::{check_values, Completeness};
use crate::domain::limits::Limit;
use crate::domain::roles::Permission;
use crate::domain::{
    now_epoch, now_rfc3339, required, CatalogId, Developer, DeveloperId, DeveloperStatus, Email, Event, KeyRequestId,
    OrgId, Organisation, PolicyId, ValidationErrors,
};
use crate::secret::{new_token, token_hash, Secret};
use crate::store::outbox::event_write;
use crate::store::pending_requests::{self, PendingKeyRequests};
use crate::store::sessions::{self, KeyLink};
use crate::store::{developers, key_hashes, resources, StoreError, Versioned, Write};

const NO_CATALOG_ENTRY: &str = "(No Catalog Entry)";

/// The name of the request's catalog entry, for emails and listings.
async fn catalog_name(state: &AppState, request: &KeyRequest) -> Result<String, ServiceError> {
    let Some(id) = &request.catalog_id else {
        return Ok(NO_CATALOG_ENTRY.into());
    };
    let entry = resources::get::<CatalogEntry>(state.store.as_ref(), &request.org_id, id.as_str()).await?;
    Ok(entry.map(|e| e.value.name).unwrap_or_else(|| NO_CATALOG_ENTRY.into()))
}

/// What an approval delivered: the key itself (shown once) or, with secure approval, nothing yet.
pub struct Approval {
    pub request: KeyRequest,
    pub key: Option<(Secret, ApiKey)>,
}

/// Approving `request`, read at `version` (0: it is created approved in the same transaction), of
/// `holder` as read: the writes (the request, the key or its Generate Key link, the events) and
/// what they deliver.
fn approval_of(
    state: &AppState,
    org: &Organisation,
    mut request: KeyRequest,
    version: u64,
    catalog_name: String,
    holder: &Versioned<Developer>,
) -> (Vec<Write>, Approval) {
    request.status = KeyRequestStatus::Approved;
    request.updated_at = now_rfc3339();
    let mut decided = KeyRequestDecided::of(&request, catalog_name, Decision::Approved);
    if org.settings.secure_key_approval || org.settings.hide_token_data {
        let token = new_token("gh_keylink_");
        let link = KeyLink {
            developer_id: request.developer_id.clone(),
            request_id: request.id.clone(),
            expires_at: now_epoch() + org.settings.key_link_ttl_secs,
        };
        let url = state.link_base(org).link("keys/generate", &[("token", token.expose())]);
        let hours = org.settings.key_link_ttl_secs / 3600;
        decided.delivery = Some(KeyDelivery::Link);
        decided.private = Some(DecisionSecret::Link {
            url,
            expires_in: format!("{hours} hours"),
        });
        let approved = state.raise(&org.id, EventData::KeyRequestUpdated(decided));
        let writes = vec![
            resources::write(&request, version),
            developers::holds_keys_as_read(holder),
            sessions::issue_key_link(&org.id, &token_hash(token.expose()), &link),
            event_write(&approved),
        ];
        return (writes, Approval { request, key: None });
    }
    let (plain, key, created) = issue_key(state, &mut request);
    decided.delivery = Some(KeyDelivery::Key);
    decided.key_id = Some(key.id.clone());
    decided.private = Some(DecisionSecret::Key(plain.expose().to_string()));
    let approved = state.raise(&org.id, EventData::KeyRequestUpdated(decided));
    let writes = vec![
        resources::write(&request, version),
        developers::holds_keys_as_read(holder),
        resources::write(&key, 0),
        key_hashes::create(&key, holder.value.status == DeveloperStatus::Active),
        event_write(&approved),
        event_write(&created),
    ];
    (
        writes,
        Approval {
            request,
            key: Some((plain, key)),
        },
    )
}

/// A new key for `request` (shown once; the request now names it) and its `key_event.created`.
fn issue_key(state: &AppState, request: &mut KeyRequest) -> (Secret, ApiKey, Event) {
    let (plain, key) = mint_key(
        &request.org_id,
        &request.developer_id,
        request.policy_ids.clone(),
        request.catalog_id.clone(),
        Some(request.id.clone()),
        &request.updated_at,
    );
    request.key_id = Some(key.id.clone());
    let created = state.raise(
        &request.org_id,
        EventData::KeyCreated(KeyChanged::of(&key, &request.developer_email)),
    );
    (plain, key, created)
}

/// The answer to an approval or decline that lost the race for the request.
const DECIDED_MEANWHILE: &str = "the request was decided by someone else meanwhile";

/// Runs an approval's transaction; a lost race on the request is a 409.
async fn commit_approval(
    state: &AppState,
    org: &Organisation,
    writes: Vec<Write>,
    approval: Approval,
) -> Result<Approval, ServiceError> {
    state
        .store
        .transact(writes)
        .await
        .or_conflict("status", DECIDED_MEANWHILE)?;
    tracing::info!(org = %org.id, request = %approval.request.id, by_link = approval.key.is_none(), "key request approved");
    Ok(approval)
}

/// A new pending request of `developer`.
fn new_request(
    org: &Organisation,
    developer: &Developer,
    entry: Option<&CatalogEntry>,
    policy_ids: Vec<PolicyId>,
    fields: serde_json::Map<String, Value>,
    approval: ApprovalMode,
) -> KeyRequest {
    let now = now_rfc3339();
    KeyRequest {
        id: KeyRequestId::generate(),
        org_id: org.id.clone(),
        developer_id: developer.id.clone(),
        developer_email: developer.email.clone(),
        catalog_id: entry.map(|e| e.id.clone()),
        policy_ids,
        fields,
        approval,
        status: KeyRequestStatus::Pending,
        key_id: None,
        created_at: now.clone(),
        updated_at: now,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRequestInput {
    pub catalog_id: Option<String>,
    pub fields: Option<Value>,
}

/// What asking for a key led to.
pub enum Requested {
    /// The entry sends developers elsewhere (Tyk's redirect): nothing was stored.
    Redirect(String),
    /// A request waiting for its approver.
    Pending(Box<KeyRequest>),
    /// Approved at once (`auto`).
    Approved(Box<Approval>),
}

/// A developer asks for a key to a published catalog entry, with the organisation's key request
/// fields.
pub async fn request_key(
    state: &AppState,
    session: &DeveloperSession,
    input: KeyRequestInput,
) -> Result<Requested, ServiceError> {
    let org = load_org(state, &session.org).await?;
    let mut errors = ValidationErrors::default();
    let catalog_id = required(&mut errors, "catalog_id", input.catalog_id.as_deref()).map(str::to_string);
    let fields = check_values(
        &org.settings.key_request_fields,
        input.fields.as_ref(),
        Completeness::Whole,
        &mut errors,
    );
    let Some(catalog_id) = catalog_id else {
        return Err(errors.into());
    };
    let entry = match CatalogId::parse(&catalog_id) {
        Some(id) => resources::get::<CatalogEntry>(state.store.as_ref(), &org.id, id.as_str())
            .await?
            .map(|v| v.value),
        None => None,
    };
    let Some(entry) = entry.filter(|e| e.published) else {
        errors.push("catalog_id", "is not a published catalog entry of this portal");
        return Err(errors.into());
    };
    errors.into_result()?;

    let approval = entry.approval.unwrap_or(org.settings.default_approval);
    if org.settings.redirect_on_key_request || approval == ApprovalMode::Redirect {
        let target = entry.redirect_to.clone().or_else(|| org.settings.redirect_to.clone());
        let Some(target) = target else {
            return Err(ServiceError::conflict(
                "catalog_id",
                "this entry redirects, but no redirect address is set",
            ));
        };
        return Ok(Requested::Redirect(target.to_string()));
    }
    let holder = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let developer = &holder.value;
    if !developer.email_confirmed {
        return Err(ServiceError::Forbidden(
            "confirm your email address first: follow the link in your welcome email (a password reset request sends it again)"
                .into(),
        ));
    }
    room_for_a_key(state, &org.id, &developer.id, &entry).await?;
    if approval == ApprovalMode::Auto {
        // Each key is emailed, and key emails cannot be unsubscribed from.
        limits::per_subject(
            state,
            &org.id,
            Limit::KeysIssuedPerDeveloper,
            developer.id.as_str(),
            ("catalog_id", "too many keys issued to you"),
        )
        .await?;
    }
    let request = new_request(
        &org,
        developer,
        Some(&entry),
        vec![entry.policy_id.clone()],
        fields,
        approval,
    );
    let created = state.raise(
        &org.id,
        EventData::KeyRequestCreated(KeyRequestCreated::of(
            &request,
            Some(entry.name.clone()),
            Actor::Developer,
        )),
    );
    tracing::info!(org = %org.id, request = %request.id, ?approval, "key requested");
    if approval == ApprovalMode::Auto {
        let (mut writes, approved) = approval_of(state, &org, request, 0, entry.name.clone(), &holder);
        writes.push(event_write(&created));
        let approved = commit_approval(state, &org, writes, approved).await?;
        return Ok(Requested::Approved(Box::new(approved)));
    }
    let mut pending = room_for_a_request(state, &org.id, &developer.id).await?;
    pending.value.ids.push(request.id.clone());
    state
        .store
        .transact(vec![
            resources::write(&request, 0),
            pending_requests::write(&org.id, &developer.id, &pending.value, pending.version),
            event_write(&created),
        ])
        .await
        .or_conflict(
            "catalog_id",
            "another key request of yours was made at the same moment; try again",
        )?;
    Ok(Requested::Pending(Box::new(request)))
}

/// Refuses (409 naming `catalog_id`) a request for an entry of which the developer already holds
/// `MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY` keys: revoke one first.
async fn room_for_a_key(
    state: &AppState,
    org: &OrgId,
    developer: &DeveloperId,
    entry: &CatalogEntry,
) -> Result<(), ServiceError> {
    let max = state.config.max_active_keys_per_catalog_entry;
    let keys = resources::of_developer::<ApiKey>(state.store.as_ref(), org, developer).await?;
    let held = keys.iter().filter(|k| k.catalog_id.as_ref() == Some(&entry.id)).count();
    if held >= max {
        return Err(ServiceError::conflict(
            "catalog_id",
            format!("you hold {held} keys of this entry, the most one developer may (MAX_ACTIVE_KEYS_PER_CATALOG_ENTRY); revoke one first"),
        ));
    }
    Ok(())
}

/// The developer's list of requests waiting for a decision, if it has room for one more
/// (`MAX_PENDING_KEY_REQUESTS`), so one account cannot flood the approvers: 409 otherwise. Requests
/// decided since they were listed are dropped from the list first.
async fn room_for_a_request(
    state: &AppState,
    org: &OrgId,
    developer: &DeveloperId,
) -> Result<Versioned<PendingKeyRequests>, ServiceError> {
    let max = state.config.max_pending_key_requests;
    let store = state.store.as_ref();
    let mut pending = pending_requests::get(store, org, developer).await?;
    if pending.value.ids.len() < max {
        return Ok(pending);
    }
    let mut still = Vec::new();
    for id in pending.value.ids {
        let request = resources::get::<KeyRequest>(store, org, id.as_str()).await?;
        if request.is_some_and(|r| r.value.status == KeyRequestStatus::Pending) {
            still.push(id);
        }
    }
    pending.value.ids = still;
    if pending.value.ids.len() >= max {
        return Err(ServiceError::conflict(
            "catalog_id",
            format!("you have {max} key requests waiting for a decision; ask again once one is decided"),
        ));
    }
    Ok(pending)
}

/// A page of the developer's own requests, read from their own index (not the organisation's
/// partition).
pub async fn own_requests(
    state: &AppState,
    session: &DeveloperSession,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<KeyRequest>, ServiceError> {
    let store = state.store.as_ref();
    Ok(resources::page_of_developer::<KeyRequest>(store, &session.org, &session.developer, after, limit).await?)
}

/// A key with what a developer sees of it: its policies and its catalog entry.
pub struct DescribedKey {
    pub key: ApiKey,
    pub policies: Vec<Policy>,
    /// `None`: "(No Catalog Entry)".
    pub catalog_entry: Option<CatalogEntry>,
}

/// A page of the developer's own keys with their policies and catalog entry (or none).
pub async fn own_keys(
    state: &AppState,
    session: &DeveloperSession,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<DescribedKey>, ServiceError> {
    let store = state.store.as_ref();
    let (keys, next) =
        resources::page_of_developer::<ApiKey>(store, &session.org, &session.developer, after, limit).await?;
    if keys.is_empty() {
        return Ok((Vec::new(), next));
    }
    let policies = resources::all::<Policy>(store, &session.org).await?;
    let entries = resources::all::<CatalogEntry>(store, &session.org).await?;
    let described = keys
        .into_iter()
        .map(|key| {
            let entry = key
                .catalog_id
                .as_ref()
                .and_then(|id| entries.iter().find(|e| &e.id == id))
                .or_else(|| entries.iter().find(|e| key.policy_ids.contains(&e.policy_id)))
                .cloned();
            let policies = policies
                .iter()
                .filter(|p| key.policy_ids.contains(&p.id))
                .cloned()
                .collect();
            DescribedKey {
                key,
                policies,
                catalog_entry: entry,
            }
        })
        .collect();
    Ok((described, next))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateInput {
    pub token: Option<String>,
}

/// Redeems a Generate Key link: only by the developer it was made for, logged in, once, in time.
/// Counted per source address (`Limit::KeyLinksPerSource`).
pub async fn generate(
    state: &AppState,
    session: &DeveloperSession,
    source: IpAddr,
    input: GenerateInput,
) -> Result<(Secret, ApiKey), ServiceError> {
    let org = load_org(state, &session.org).await?;
    let mut errors = ValidationErrors::default();
    let Some(token) = required(&mut errors, "token", input.token.as_deref()) else {
        return Err(errors.into());
    };
    limits::per_source(state, &org, Limit::KeyLinksPerSource, source).await?;
    let hash = token_hash(token);
    let used = || ServiceError::invalid("token", "is invalid, used or expired");
    let link = sessions::find_key_link(state.store.as_ref(), &org.id, &hash)
        .await?
        .ok_or_else(used)?;
    if link.developer_id != session.developer {
        return Err(ServiceError::NotFound("key link"));
    }
    let found = resources::get::<KeyRequest>(state.store.as_ref(), &org.id, link.request_id.as_str())
        .await?
        .ok_or_else(used)?;
    let holder = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut request = found.value;
    request.updated_at = now_rfc3339();
    let (plain, key, created) = issue_key(state, &mut request);
    let writes = vec![
        sessions::use_key_link(&org.id, &hash),
        resources::write(&request, found.version),
        developers::holds_keys_as_read(&holder),
        resources::write(&key, 0),
        key_hashes::create(&key, holder.value.status == DeveloperStatus::Active),
        event_write(&created),
    ];
    match state.store.transact(writes).await {
        Ok(()) => {}
        // Used meanwhile (or the request changed): the link is spent either way.
        Err(StoreError::ConditionFailed { .. }) => return Err(used()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, key = %key.id, "key generated from a link");
    Ok((plain, key))
}

/// A page of the organisation's key requests, of one status or all (filtered after reading, so a
/// page may hold fewer than `limit`).
pub async fn list_requests(
    state: &AppState,
    admin: &OrgAdmin,
    status: Option<KeyRequestStatus>,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<KeyRequest>, ServiceError> {
    admin.require(Permission::ReadKeyRequests)?;
    let (page, next) = resources::list::<KeyRequest>(state.store.as_ref(), &admin.org, after, limit).await?;
    let items = page
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .collect();
    Ok((items, next))
}

async fn find_request(state: &AppState, org: &OrgId, id: &str) -> Result<Versioned<KeyRequest>, ServiceError> {
    let id = KeyRequestId::parse(id).ok_or(ServiceError::NotFound("key request"))?;
    resources::get::<KeyRequest>(state.store.as_ref(), org, id.as_str())
        .await?
        .ok_or(ServiceError::NotFound("key request"))
}

fn not_pending() -> ServiceError {
    ServiceError::conflict("status", "the request is not pending")
}

/// An admin (or a third party holding an admin key) approves a pending request.
pub async fn approve(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Approval, ServiceError> {
    admin.require(Permission::DecideKeyRequests)?;
    let org = load_org(state, &admin.org).await?;
    let found = find_request(state, &org.id, id).await?;
    if found.value.status != KeyRequestStatus::Pending {
        return Err(not_pending());
    }
    let name = catalog_name(state, &found.value).await?;
    let holder = developers::get(state.store.as_ref(), &org.id, &found.value.developer_id)
        .await?
        .ok_or(ServiceError::NotFound("developer"))?;
    let entry = audit::entry(state, admin, "key_request.approved", Some(id), vec![]);
    let (mut writes, approved) = approval_of(state, &org, found.value, found.version, name, &holder);
    writes.push(entry);
    commit_approval(state, &org, writes, approved).await
}

/// Declines a pending request: it is deleted, as in Tyk, and the developer told.
pub async fn decline(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(Permission::DecideKeyRequests)?;
    let found = find_request(state, &admin.org, id).await?;
    if found.value.status != KeyRequestStatus::Pending {
        return Err(not_pending());
    }
    let request = &found.value;
    let name = catalog_name(state, request).await?;
    let event = state.raise(
        &admin.org,
        EventData::KeyRequestUpdated(KeyRequestDecided::of(request, name, Decision::Declined)),
    );
    state
        .store
        .transact(vec![
            resources::delete_write(request, found.version),
            event_write(&event),
            audit::entry(state, admin, "key_request.declined", Some(id), vec![]),
        ])
        .await
        .or_conflict("status", DECIDED_MEANWHILE)?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesInput {
    pub policy_ids: Option<Vec<String>>,
}

/// The policies named, all of this organisation, at least one.
async fn policies(state: &AppState, org: &OrgId, ids: Option<Vec<String>>) -> Result<Vec<PolicyId>, ServiceError> {
    let ids = ids.ok_or_else(|| ServiceError::invalid("policy_ids", "is required"))?;
    if ids.is_empty() {
        return Err(ServiceError::invalid("policy_ids", "must name at least one policy"));
    }
    let mut errors = ValidationErrors::default();
    let mut found = Vec::new();
    for (i, raw) in ids.iter().enumerate() {
        match PolicyId::parse(raw) {
            Some(id)
                if resources::get::<Policy>(state.store.as_ref(), org, id.as_str())
                    .await?
                    .is_some() =>
            {
                if !found.contains(&id) {
                    found.push(id);
                }
            }
            _ => errors.push(format!("policy_ids[{i}]"), "is not a policy of this organisation"),
        }
    }
    errors.into_result()?;
    Ok(found)
}

/// An admin subscribes a developer to a new key directly (Tyk's Edit Developer): a request with no
/// catalog entry, created approved and delivered like any approval, in one transaction.
pub async fn subscribe(
    state: &AppState,
    admin: &OrgAdmin,
    developer_id: &str,
    input: PoliciesInput,
) -> Result<Approval, ServiceError> {
    admin.require(Permission::ManageKeys)?;
    let org = load_org(state, &admin.org).await?;
    let policy_ids = policies(state, &org.id, input.policy_ids).await?;
    let holder = match DeveloperId::parse(developer_id) {
        Some(id) => developers::get(state.store.as_ref(), &org.id, &id).await?,
        None => None,
    }
    .ok_or(ServiceError::NotFound("developer"))?;
    let request = new_request(
        &org,
        &holder.value,
        None,
        policy_ids,
        Default::default(),
        ApprovalMode::Admin,
    );
    let created = state.raise(
        &org.id,
        EventData::KeyRequestCreated(KeyRequestCreated::of(&request, None, Actor::Admin)),
    );
    let target = request.id.clone();
    let (mut writes, approved) = approval_of(state, &org, request, 0, NO_CATALOG_ENTRY.into(), &holder);
    writes.push(event_write(&created));
    let key_id = approved.key.as_ref().map(|(_, k)| k.id.to_string());
    let issued = key_id.map(|k| FieldChange {
        field: "key_id".into(),
        old: Value::Null,
        new: Value::from(k),
    });
    writes.push(audit::entry(
        state,
        admin,
        "developer.subscribed",
        Some(target.as_str()),
        issued.into_iter().collect(),
    ));
    commit_approval(state, &org, writes, approved).await
}

/// A page of the organisation's keys.
pub async fn list_keys(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<ApiKey>, ServiceError> {
    admin.require(Permission::ReadKeys)?;
    Ok(resources::list::<ApiKey>(state.store.as_ref(), &admin.org, after, limit).await?)
}

/// A page of one developer's keys; 404 for a developer the organisation does not have.
pub async fn developer_keys(
    state: &AppState,
    admin: &OrgAdmin,
    developer_id: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<ApiKey>, ServiceError> {
    admin.require(Permission::ReadKeys)?;
    let store = state.store.as_ref();
    let developer = match DeveloperId::parse(developer_id) {
        Some(id) => developers::get(store, &admin.org, &id).await?,
        None => None,
    }
    .ok_or(ServiceError::NotFound("developer"))?;
    Ok(resources::page_of_developer::<ApiKey>(store, &admin.org, &developer.value.id, after, limit).await?)
}

async fn find_key(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Versioned<ApiKey>, ServiceError> {
    resources::get::<ApiKey>(state.store.as_ref(), &admin.org, id)
        .await?
        .ok_or(ServiceError::NotFound("key"))
}

pub async fn get_key(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<ApiKey, ServiceError> {
    admin.require(Permission::ReadKeys)?;
    Ok(find_key(state, admin, id).await?.value)
}

async fn developer_email(state: &AppState, key: &ApiKey) -> Result<Email, ServiceError> {
    let developer = developers::get(state.store.as_ref(), &key.org_id, &key.developer_id).await?;
    developer
        .map(|d| d.value.email)
        .ok_or(ServiceError::NotFound("developer"))
}

/// Changes a key's policies; the developer is told which policies it now has.
pub async fn change_key(
    state: &AppState,
    admin: &OrgAdmin,
    id: &str,
    input: PoliciesInput,
) -> Result<ApiKey, ServiceError> {
    admin.require(Permission::ManageKeys)?;
    let policy_ids = policies(state, &admin.org, input.policy_ids).await?;
    let found = find_key(state, admin, id).await?;
    let mut key = found.value;
    let changed = FieldChange {
        field: "policy_ids".into(),
        old: serde_json::json!(key.policy_ids),
        new: serde_json::json!(policy_ids),
    };
    key.policy_ids = policy_ids;
    key.updated_at = now_rfc3339();
    let names: Vec<String> = resources::all::<Policy>(state.store.as_ref(), &admin.org)
        .await?
        .into_iter()
        .filter(|p| key.policy_ids.contains(&p.id))
        .map(|p| p.name)
        .collect();
    let mut data = KeyChanged::of(&key, &developer_email(state, &key).await?);
    data.policy_names = Some(names.join(", "));
    let event = state.raise(&admin.org, EventData::KeyUpdated(data));
    state
        .store
        .transact(
            [
                resources::write(&key, found.version),
                event_write(&event),
                audit::entry(state, admin, "key.updated", Some(key.id.as_str()), vec![changed]),
            ]
            .into_iter()
            .chain(key_hashes::update(&key))
            .collect(),
        )
        .await
        .or_changed_meanwhile("id")?;
    Ok(key)
}

pub async fn revoke_key(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(Permission::ManageKeys)?;
    let found = find_key(state, admin, id).await?;
    let email = developer_email(state, &found.value).await?;
    let event = state.raise(&admin.org, EventData::KeyDeleted(KeyChanged::of(&found.value, &email)));
    state
        .store
        .transact(
            [
                resources::delete_write(&found.value, found.version),
                event_write(&event),
                audit::entry(state, admin, "key.revoked", Some(found.value.id.as_str()), vec![]),
            ]
            .into_iter()
            .chain(key_hashes::revoke(&found.value))
            .collect(),
        )
        .await
        .or_changed_meanwhile("id")?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollInput {
    /// How long the former secret keeps working (default 0: it ends at once).
    pub grace_period_secs: Option<i64>,
}

/// A developer rolls their own key: the same key (its policies, quota and usage) with a new secret,
/// shown once; the former secret works for the grace period, then verifies as `EXPIRED`. A secret
/// still in the grace period of an earlier roll ends at once. The developer is emailed; the roll is
/// audited.
pub async fn roll(
    state: &AppState,
    session: &DeveloperSession,
    source: IpAddr,
    id: &str,
    input: RollInput,
) -> Result<(Secret, ApiKey), ServiceError> {
    let grace = input.grace_period_secs.unwrap_or(0);
    if !(0..=MAX_ROLL_GRACE_SECS).contains(&grace) {
        return Err(ServiceError::invalid(
            "grace_period_secs",
            "must be 0 to 2592000 (30 days)",
        ));
    }
    let store = state.store.as_ref();
    let found = resources::get::<ApiKey>(store, &session.org, id)
        .await?
        .filter(|k| k.value.developer_id == session.developer)
        .ok_or(ServiceError::NotFound("key"))?;
    let holder = developers::get(store, &session.org, &session.developer)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut key = found.value;
    let now = now_epoch();
    let (plain, dropped) = key.roll(now + grace, &now_rfc3339());
    let previous = key.previous.clone().expect("a rolled key has a previous secret");
    let mut data = KeyChanged::of(&key, &holder.value.email);
    data.previous_valid_until = Some(crate::domain::epoch_rfc3339(previous.valid_until));
    let event = state.raise(&session.org, EventData::KeyUpdated(data));
    let mut writes = vec![
        resources::write(&key, found.version),
        developers::holds_keys_as_read(&holder),
        key_hashes::create(&key, holder.value.status == DeveloperStatus::Active),
        key_hashes::end_at(&previous.key_hash, previous.valid_until),
        event_write(&event),
        audit::developer_entry(state, session, source, "key.rolled", Some(key.id.as_str())),
    ];
    writes.extend(dropped.map(|d| key_hashes::end_at(&d.key_hash, now)));
    store.transact(writes).await.or_changed_meanwhile("id")?;
    tracing::info!(org = %session.org, key = %key.id, grace, "key rolled");
    Ok((plain, key))
}

/// The write that tells the gate whether `developer`'s key may pass (its item by hash), for each of
/// their keys, by key hash: for the transaction that changes the developer's status.
pub(crate) async fn gate_status_writes(
    state: &AppState,
    developer: &Developer,
) -> Result<Vec<(String, Write)>, ServiceError> {
    let active = developer.status == DeveloperStatus::Active;
    let keys = resources::of_developer::<ApiKey>(state.store.as_ref(), &developer.org_id, &developer.id).await?;
    Ok(keys
        .iter()
        .flat_map(|k| k.hashes())
        .map(|hash| (hash.to_string(), key_hashes::set_developer_active(hash, active)))
        .collect())
}

/// After a status change committed: the key items that did not fit its transaction (`rest`), then
/// those of keys it did not know of (`written`: the hashes it wrote), issued between the change's
/// read of the keys and its commit; an issue after the commit reads the new status itself.
pub(crate) async fn finish_gate_status(
    state: &AppState,
    developer: &Developer,
    written: &std::collections::HashSet<String>,
    rest: Vec<(String, Write)>,
) -> Result<(), ServiceError> {
    let missed = gate_status_writes(state, developer)
        .await?
        .into_iter()
        .filter(|(hash, _)| !written.contains(hash));
    let writes: Vec<Write> = rest.into_iter().chain(missed).map(|(_, w)| w).collect();
    for chunk in writes.chunks(100) {
        state.store.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// Revokes every key of a developer being removed (each raising `key_event.deleted`, so gateways
/// following the webhooks drop it too) and deletes their key requests. Read from the developer's own
/// index; written in transactions of at most 100 writes.
pub(crate) async fn remove_all_of(state: &AppState, developer: &Developer) -> Result<(), ServiceError> {
    let store = state.store.as_ref();
    let org = &developer.org_id;
    let keys = resources::of_developer::<ApiKey>(store, org, &developer.id).await?;
    // At most four writes a key (the key, its items by hash, its event).
    for chunk in keys.chunks(25) {
        let mut writes = Vec::new();
        for key in chunk {
            let event: Event = state.raise(org, EventData::KeyDeleted(KeyChanged::of(key, &developer.email)));
            writes.push(Write::Delete {
                key: resources::key::<ApiKey>(org, key.id.as_str()),
                condition: crate::store::Condition::None,
            });
            writes.extend(key_hashes::revoke(key));
            writes.push(event_write(&event));
        }
        store.transact(writes).await?;
    }
    let requests = resources::of_developer::<KeyRequest>(store, org, &developer.id).await?;
    for chunk in requests.chunks(100) {
        let writes = chunk
            .iter()
            .map(|r| Write::Delete {
                key: resources::key::<KeyRequest>(org, r.id.as_str()),
                condition: crate::store::Condition::None,
            })
            .collect();
        store.transact(writes).await?;
    }
    Ok(())
}
