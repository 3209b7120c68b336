//! Key requests and keys: developers request access to catalog entries; each entry's approval mode
//! (or the organisation's default) decides — at once, by an admin, by a third party through the admin
//! API, or by sending the developer elsewhere. An approval issues a key, or with secure key approval a
//! one-use Generate Key link that only the requesting developer, logged in, can redeem.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{DeveloperSession, OrgAdmin};
use super::json::JsonBody;
use super::problem::ApiError;
use super::{load_org, raise, AppState};
use crate::domain::catalog::{ApprovalMode, CatalogEntry, Policy};
use crate::domain::fields::{check_values, Completeness};
use crate::domain::keys::{mint_key, ApiKey, KeyRequest, KeyRequestStatus};
use crate::domain::{
    now_epoch, now_rfc3339, required, CatalogId, Developer, DeveloperId, EventKind, FieldError, KeyRequestId,
    Organisation, PolicyId, ValidationErrors,
};
use crate::secret::{new_token, token_hash, Secret};
use crate::store::orgs::{event_write, Versioned};
use crate::store::resources;
use crate::store::sessions::{self, KeyLink};
use crate::store::{developers, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{org}/key-requests", post(request_key).get(own_requests))
        .route("/portal/{org}/keys", get(own_keys))
        .route("/portal/{org}/keys/generate", post(generate))
        .route("/orgs/{org}/key-requests", get(list_requests))
        .route("/orgs/{org}/key-requests/{id}/approve", post(approve))
        .route("/orgs/{org}/key-requests/{id}/decline", post(decline))
        .route("/orgs/{org}/developers/{id}/keys", post(subscribe))
        .route("/orgs/{org}/keys", get(list_keys))
        .route(
            "/orgs/{org}/keys/{id}",
            get(read_key).patch(change_key).delete(revoke_key),
        )
}

fn invalid(field: &str, message: &str) -> ApiError {
    ValidationErrors::from(FieldError::new(field, message)).into()
}

fn conflict(message: &str) -> ApiError {
    ApiError::Conflict(FieldError::new("status", message))
}

fn request_view(request: &KeyRequest) -> Value {
    let mut v = serde_json::to_value(request).expect("requests serialize");
    v.as_object_mut().expect("an object").remove("org_id");
    v
}

/// The name of the request's catalog entry, for emails and listings.
async fn catalog_name(state: &AppState, request: &KeyRequest) -> Result<String, ApiError> {
    let Some(id) = &request.catalog_id else {
        return Ok("(No Catalog Entry)".into());
    };
    let entry = resources::get::<CatalogEntry>(state.store.as_ref(), &request.org_id, id.as_str()).await?;
    Ok(entry
        .map(|e| e.value.name)
        .unwrap_or_else(|| "(No Catalog Entry)".into()))
}

/// What an approval delivered: the key itself (shown once) or, with secure approval, nothing yet.
struct Delivered {
    request: KeyRequest,
    key: Option<(Secret, ApiKey)>,
}

/// Approves a pending request read at `version`. The request is claimed first with a single
/// conditional write, so of two admins approving at once exactly one goes on to issue a key; the
/// loser gets 409 and nothing else is written.
async fn approve_request(
    state: &AppState,
    org: &Organisation,
    found: Versioned<KeyRequest>,
) -> Result<Delivered, ApiError> {
    let mut request = found.value;
    if request.status != KeyRequestStatus::Pending {
        return Err(conflict("the request is not pending"));
    }
    request.status = KeyRequestStatus::Approved;
    request.updated_at = now_rfc3339();
    resources::save(state.store.as_ref(), &request, found.version, &[])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed { .. } => conflict("the request was decided by someone else meanwhile"),
            e => e.into(),
        })?;
    let claimed_version = found.version + 1;
    let name = catalog_name(state, &request).await?;
    let mut data = json!({
        "request_id": request.id, "developer_id": request.developer_id, "email": request.developer_email,
        "catalog_id": request.catalog_id, "catalog_name": name, "policy_ids": request.policy_ids, "status": "approved",
    });
    let by_link = org.settings.secure_key_approval || org.settings.hide_token_data;
    let (writes, key) = if by_link {
        let token = new_token("gh_keylink_");
        let expires_at = now_epoch() + org.settings.key_link_ttl_secs;
        let link = KeyLink {
            developer_id: request.developer_id.clone(),
            request_id: request.id.clone(),
            expires_at,
        };
        let url = format!(
            "{}/keys/generate?token={}",
            org.settings.portal_url(&state.config.portal_url),
            token.expose()
        );
        data["delivery"] = json!("link");
        let hours = org.settings.key_link_ttl_secs / 3600;
        let private = json!({"generate_url": url, "expires_in": format!("{hours} hours")});
        let event = raise(state, org, EventKind::KeyRequestUpdated, data, Some(private));
        (
            vec![
                sessions::issue_key_link(&org.id, &token_hash(token.expose()), &link),
                event_write(&event),
            ],
            None,
        )
    } else {
        let now = now_rfc3339();
        let (plain, key) = mint_key(
            &org.id,
            &request.developer_id,
            request.policy_ids.clone(),
            request.catalog_id.clone(),
            Some(request.id.clone()),
            &now,
        );
        request.key_id = Some(key.id.clone());
        data["delivery"] = json!("key");
        data["key_id"] = json!(key.id);
        let approved = raise(
            state,
            org,
            EventKind::KeyRequestUpdated,
            data,
            Some(json!({"key": plain.expose()})),
        );
        let created = raise(
            state,
            org,
            EventKind::KeyCreated,
            key_data(&key, &request.developer_email),
            None,
        );
        let writes = vec![
            resources::write(&request, claimed_version),
            resources::write(&key, 0),
            event_write(&approved),
            event_write(&created),
        ];
        (writes, Some((plain, key)))
    };
    if let Err(e) = state.store.transact(writes).await {
        // Put the claim back so the request can be approved again.
        let mut pending = request.clone();
        pending.status = KeyRequestStatus::Pending;
        pending.key_id = None;
        let _ = resources::save(state.store.as_ref(), &pending, claimed_version, &[]).await;
        return Err(e.into());
    }
    tracing::info!(org = %org.id, request = %request.id, by_link, "key request approved");
    Ok(Delivered { request, key })
}

fn key_data(key: &ApiKey, email: &crate::domain::Email) -> Value {
    json!({"key_id": key.id, "developer_id": key.developer_id, "email": email, "policy_ids": key.policy_ids,
           "catalog_id": key.catalog_id, "key_prefix": key.prefix})
}

fn delivered_view(delivered: &Delivered) -> Value {
    let mut body = request_view(&delivered.request);
    if let Some((plain, key)) = &delivered.key {
        // Shown once: only its hash is kept.
        body["key"] = json!(plain.expose());
        body["key_details"] = key.view();
    }
    body
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

/// `key_request_event.created` for `request`, with `extra` data.
fn requested(state: &AppState, org: &Organisation, request: &KeyRequest, extra: Value) -> crate::domain::Event {
    let mut data = json!({
        "request_id": request.id, "developer_id": request.developer_id, "email": request.developer_email,
        "catalog_id": request.catalog_id, "policy_ids": request.policy_ids, "fields": request.fields,
        "approval": request.approval,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        data[k] = v.clone();
    }
    raise(state, org, EventKind::KeyRequestCreated, data, None)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    catalog_id: Option<String>,
    fields: Option<Value>,
}

async fn request_key(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RequestBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, session.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let catalog_id = required(&mut errors, "catalog_id", body.catalog_id.as_deref()).map(str::to_string);
    let fields = check_values(
        &org.settings.key_request_fields,
        body.fields.as_ref(),
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
            return Err(ApiError::Conflict(FieldError::new(
                "catalog_id",
                "this entry redirects, but no redirect address is set",
            )));
        };
        return Ok((
            StatusCode::OK,
            Json(json!({"status": "redirect", "redirect_to": target})),
        ));
    }
    let developer = developers::get(state.store.as_ref(), &org.id, &session.developer)
        .await?
        .ok_or(ApiError::Unauthorized)?
        .value;
    let request = new_request(
        &org,
        &developer,
        Some(&entry),
        vec![entry.policy_id.clone()],
        fields,
        approval,
    );
    let created = requested(&state, &org, &request, json!({"catalog_name": entry.name}));
    resources::save(state.store.as_ref(), &request, 0, &[created]).await?;
    tracing::info!(org = %org.id, request = %request.id, ?approval, "key requested");
    if approval == ApprovalMode::Auto {
        let delivered = approve_request(
            &state,
            &org,
            Versioned {
                value: request,
                version: 1,
            },
        )
        .await?;
        return Ok((StatusCode::CREATED, Json(delivered_view(&delivered))));
    }
    Ok((StatusCode::CREATED, Json(request_view(&request))))
}

async fn own_requests(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = resources::all::<KeyRequest>(state.store.as_ref(), &session.org).await?;
    let mine: Vec<Value> = all
        .iter()
        .filter(|r| r.developer_id == session.developer)
        .map(request_view)
        .collect();
    Ok(Json(json!({"items": mine})))
}

/// Keys as a developer sees them: with their policies and catalog entry, or "(No Catalog Entry)".
async fn describe_keys(state: &AppState, org: &Organisation, keys: Vec<ApiKey>) -> Result<Vec<Value>, ApiError> {
    let policies = resources::all::<Policy>(state.store.as_ref(), &org.id).await?;
    let entries = resources::all::<CatalogEntry>(state.store.as_ref(), &org.id).await?;
    Ok(keys
        .iter()
        .map(|key| {
            let mut v = key.view();
            v["policies"] = json!(policies
                .iter()
                .filter(|p| key.policy_ids.contains(&p.id))
                .map(|p| json!({"id": p.id, "name": p.name, "rate": p.rate, "quota": p.quota}))
                .collect::<Vec<_>>());
            let entry = key
                .catalog_id
                .as_ref()
                .and_then(|id| entries.iter().find(|e| &e.id == id))
                .or_else(|| entries.iter().find(|e| key.policy_ids.contains(&e.policy_id)));
            v["catalog_entry"] = match entry {
                Some(e) => json!({"id": e.id, "name": e.name}),
                None => json!({"name": "(No Catalog Entry)"}),
            };
            v
        })
        .collect())
}

async fn own_keys(session: DeveloperSession, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, session.org.as_str()).await?;
    let keys: Vec<ApiKey> = resources::all::<ApiKey>(state.store.as_ref(), &org.id)
        .await?
        .into_iter()
        .filter(|k| k.developer_id == session.developer)
        .collect();
    Ok(Json(json!({"items": describe_keys(&state, &org, keys).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    token: Option<String>,
}

/// Redeems a Generate Key link: only by the developer it was made for, logged in, once, in time.
async fn generate(
    session: DeveloperSession,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<GenerateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, session.org.as_str()).await?;
    let mut errors = ValidationErrors::default();
    let Some(token) = required(&mut errors, "token", body.token.as_deref()) else {
        return Err(errors.into());
    };
    let hash = token_hash(token);
    let used = || invalid("token", "is invalid, used or expired");
    let link = sessions::find_key_link(state.store.as_ref(), &org.id, &hash)
        .await?
        .ok_or_else(used)?;
    if link.developer_id != session.developer {
        return Err(ApiError::NotFound("key link"));
    }
    let found = resources::get::<KeyRequest>(state.store.as_ref(), &org.id, link.request_id.as_str())
        .await?
        .ok_or_else(used)?;
    let mut request = found.value;
    let (plain, key) = mint_key(
        &org.id,
        &request.developer_id,
        request.policy_ids.clone(),
        request.catalog_id.clone(),
        Some(request.id.clone()),
        &now_rfc3339(),
    );
    request.key_id = Some(key.id.clone());
    request.updated_at = now_rfc3339();
    let created = raise(
        &state,
        &org,
        EventKind::KeyCreated,
        key_data(&key, &request.developer_email),
        None,
    );
    let writes = vec![
        sessions::use_key_link(&org.id, &hash),
        resources::write(&request, found.version),
        resources::write(&key, 0),
        event_write(&created),
    ];
    state.store.transact(writes).await.map_err(|e| match e {
        StoreError::ConditionFailed { .. } => used(),
        e => e.into(),
    })?;
    tracing::info!(org = %org.id, key = %key.id, "key generated from a link");
    let mut body = key.view();
    body["key"] = json!(plain.expose());
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    status: Option<KeyRequestStatus>,
}

async fn list_requests(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Query(query): Query<StatusQuery>,
) -> Result<Json<Value>, ApiError> {
    let all = resources::all::<KeyRequest>(state.store.as_ref(), &admin.org).await?;
    let items: Vec<Value> = all
        .iter()
        .filter(|r| query.status.is_none_or(|s| r.status == s))
        .map(request_view)
        .collect();
    Ok(Json(json!({"items": items})))
}

async fn find_request(state: &AppState, org: &Organisation, id: &str) -> Result<Versioned<KeyRequest>, ApiError> {
    let id = KeyRequestId::parse(id).ok_or(ApiError::NotFound("key request"))?;
    resources::get::<KeyRequest>(state.store.as_ref(), &org.id, id.as_str())
        .await?
        .ok_or(ApiError::NotFound("key request"))
}

async fn approve(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let found = find_request(&state, &org, &id).await?;
    let delivered = approve_request(&state, &org, found).await?;
    Ok(Json(delivered_view(&delivered)))
}

async fn decline(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let found = find_request(&state, &org, &id).await?;
    if found.value.status != KeyRequestStatus::Pending {
        return Err(conflict("the request is not pending"));
    }
    let request = &found.value;
    let event = raise(
        &state,
        &org,
        EventKind::KeyRequestUpdated,
        json!({"request_id": request.id, "developer_id": request.developer_id, "email": request.developer_email,
               "catalog_id": request.catalog_id, "catalog_name": catalog_name(&state, request).await?, "status": "declined"}),
        None,
    );
    // Declined requests are deleted, as in Tyk.
    resources::delete(state.store.as_ref(), request, found.version, &[event])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed { .. } => conflict("the request was decided by someone else meanwhile"),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoliciesBody {
    policy_ids: Option<Vec<String>>,
}

/// The policies named, all of this organisation, at least one.
async fn policies(state: &AppState, org: &Organisation, ids: Option<Vec<String>>) -> Result<Vec<PolicyId>, ApiError> {
    let ids = ids.ok_or_else(|| invalid("policy_ids", "is required"))?;
    if ids.is_empty() {
        return Err(invalid("policy_ids", "must name at least one policy"));
    }
    let mut errors = ValidationErrors::default();
    let mut found = Vec::new();
    for (i, raw) in ids.iter().enumerate() {
        match PolicyId::parse(raw) {
            Some(id)
                if resources::get::<Policy>(state.store.as_ref(), &org.id, id.as_str())
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

/// An admin subscribes a developer to a new key directly (Tyk's Edit Developer): an approved request
/// with no catalog entry, delivered like any approval.
async fn subscribe(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<PoliciesBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let policy_ids = policies(&state, &org, body.policy_ids).await?;
    let developer: Developer = match DeveloperId::parse(&id) {
        Some(id) => developers::get(state.store.as_ref(), &org.id, &id)
            .await?
            .map(|v| v.value),
        None => None,
    }
    .ok_or(ApiError::NotFound("developer"))?;
    let request = new_request(
        &org,
        &developer,
        None,
        policy_ids,
        Default::default(),
        ApprovalMode::Admin,
    );
    let created = requested(&state, &org, &request, json!({"by": "admin"}));
    resources::save(state.store.as_ref(), &request, 0, &[created]).await?;
    let delivered = approve_request(
        &state,
        &org,
        Versioned {
            value: request,
            version: 1,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(delivered_view(&delivered))))
}

async fn list_keys(admin: OrgAdmin, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = resources::all::<ApiKey>(state.store.as_ref(), &admin.org).await?;
    Ok(Json(
        json!({"items": keys.iter().map(ApiKey::view).collect::<Vec<_>>()}),
    ))
}

async fn find_key(state: &AppState, org: &Organisation, id: &str) -> Result<Versioned<ApiKey>, ApiError> {
    resources::get::<ApiKey>(state.store.as_ref(), &org.id, id)
        .await?
        .ok_or(ApiError::NotFound("key"))
}

async fn read_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    Ok(Json(find_key(&state, &org, &id).await?.value.view()))
}

async fn developer_email(state: &AppState, key: &ApiKey) -> Result<crate::domain::Email, ApiError> {
    let developer = developers::get(state.store.as_ref(), &key.org_id, &key.developer_id).await?;
    developer.map(|d| d.value.email).ok_or(ApiError::NotFound("developer"))
}

async fn change_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<PoliciesBody>,
) -> Result<Json<Value>, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let policy_ids = policies(&state, &org, body.policy_ids).await?;
    let found = find_key(&state, &org, &id).await?;
    let mut key = found.value;
    key.policy_ids = policy_ids;
    key.updated_at = now_rfc3339();
    let names: Vec<String> = resources::all::<Policy>(state.store.as_ref(), &org.id)
        .await?
        .into_iter()
        .filter(|p| key.policy_ids.contains(&p.id))
        .map(|p| p.name)
        .collect();
    let mut data = key_data(&key, &developer_email(&state, &key).await?);
    data["policy_names"] = json!(names.join(", "));
    let event = raise(&state, &org, EventKind::KeyUpdated, data, None);
    resources::save(state.store.as_ref(), &key, found.version, &[event])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed { .. } => {
                ApiError::Conflict(FieldError::new("id", "changed by someone else meanwhile; try again"))
            }
            e => e.into(),
        })?;
    Ok(Json(key.view()))
}

async fn revoke_key(
    admin: OrgAdmin,
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let org = load_org(&state, admin.org.as_str()).await?;
    let found = find_key(&state, &org, &id).await?;
    let event = raise(
        &state,
        &org,
        EventKind::KeyDeleted,
        key_data(&found.value, &developer_email(&state, &found.value).await?),
        None,
    );
    resources::delete(state.store.as_ref(), &found.value, found.version, &[event])
        .await
        .map_err(|e| match e {
            StoreError::ConditionFailed { .. } => {
                ApiError::Conflict(FieldError::new("id", "changed by someone else meanwhile; try again"))
            }
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every key of a developer being removed (each raising `key_event.deleted`, so gateways
/// following the webhooks drop it too) and deletes their key requests.
pub(crate) async fn remove_all_of(state: &AppState, org: &Organisation, developer: &Developer) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let keys: Vec<ApiKey> = resources::all::<ApiKey>(store, &org.id)
        .await?
        .into_iter()
        .filter(|k| k.developer_id == developer.id)
        .collect();
    // Two writes a key (the key, its event): 40 keys stay well inside one transaction's 100 writes.
    for chunk in keys.chunks(40) {
        let mut writes = Vec::new();
        for key in chunk {
            writes.push(crate::store::Write::Delete {
                key: resources::key::<ApiKey>(&org.id, key.id.as_str()),
                condition: crate::store::Condition::None,
            });
            writes.push(event_write(&raise(
                state,
                org,
                EventKind::KeyDeleted,
                key_data(key, &developer.email),
                None,
            )));
        }
        store.transact(writes).await?;
    }
    let requests: Vec<KeyRequest> = resources::all::<KeyRequest>(store, &org.id)
        .await?
        .into_iter()
        .filter(|r| r.developer_id == developer.id)
        .collect();
    for chunk in requests.chunks(100) {
        let writes = chunk
            .iter()
            .map(|r| crate::store::Write::Delete {
                key: resources::key::<KeyRequest>(&org.id, r.id.as_str()),
                condition: crate::store::Condition::None,
            })
            .collect();
        store.transact(writes).await?;
    }
    Ok(())
}
