//! Admin keys: created with a role (shown once, stored as a hash with a visible prefix), listed with
//! when each was last used, revoked. Only an owner creates or revokes an owner key, and the last
//! owner (key or admin user) cannot go: an organisation always keeps an owner.

use serde::Deserialize;
use serde_json::Value;

use super::admin_users::{another_owner_remains, may_manage, owners_to_tell, parse_key_role};
use super::auth::{new_admin_key, OrgAdmin};
use super::{audit, load_org, AppState, OrConflict, Paged, ServiceError};
use crate::domain::audit::FieldChange;
use crate::domain::catalog::check_name;
use crate::domain::event_data::{AdminKeyChanged, EventData};
use crate::domain::roles::{Permission, Role};
use crate::domain::{now_rfc3339, required, OrgId, ValidationErrors};
use crate::secret::Secret;
use crate::store::every_page;
pub use crate::store::orgs::StoredAdminKey;
use crate::store::orgs::{self, AdminKey};
use crate::store::outbox::event_write;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    pub name: Option<String>,
    pub role: Option<String>,
}

/// What the owners are told of a key made or revoked.
async fn key_notice(
    state: &AppState,
    admin: &OrgAdmin,
    id: &str,
    key: &AdminKey,
) -> Result<AdminKeyChanged, ServiceError> {
    let org = load_org(state, &admin.org).await?;
    Ok(AdminKeyChanged {
        key_id: id.to_string(),
        name: key.name.clone(),
        role: key.role,
        by: audit::actor(admin),
        recipients: owners_to_tell(state, &org).await?,
    })
}

/// A new admin key: the key itself (shown once) and the key as listed.
pub async fn create(
    state: &AppState,
    admin: &OrgAdmin,
    input: CreateInput,
) -> Result<(Secret, StoredAdminKey), ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    let mut errors = ValidationErrors::default();
    let name = required(&mut errors, "name", input.name.as_deref()).map(|n| check_name(n, &mut errors));
    let role = parse_key_role(&mut errors, input.role.as_deref());
    let (Some(name), Some(role)) = (name, role) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    may_manage(admin, role)?;
    let (secret, hash, prefix) = new_admin_key(&admin.org);
    let key = AdminKey {
        org_id: admin.org.clone(),
        prefix,
        name,
        created_at: now_rfc3339(),
        role,
        last_used_at: None,
    };
    let id = orgs::admin_key_id(&hash);
    let created = FieldChange {
        field: "role".into(),
        old: Value::Null,
        new: Value::from(role.as_str()),
    };
    let notice = key_notice(state, admin, &id, &key).await?;
    state
        .store
        .transact(vec![
            orgs::new_admin_key(&admin.org, &hash, &key),
            audit::entry(state, admin, "admin_key.created", Some(&id), vec![created]),
            event_write(&state.raise(&admin.org, EventData::AdminKeyCreated(notice))),
        ])
        .await?;
    tracing::info!(org = %admin.org, key = %orgs::admin_key_id(&hash), %role, by = %admin.actor.id, "admin key created");
    Ok((
        secret,
        StoredAdminKey {
            id: orgs::admin_key_id(&hash),
            hash,
            key,
        },
    ))
}

/// A page of the organisation's admin keys (prefixes, never hashes).
pub async fn list(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<StoredAdminKey>, ServiceError> {
    admin.require(Permission::ReadAdmins)?;
    Ok(orgs::admin_keys(state.store.as_ref(), &admin.org, after, limit).await?)
}

async fn all_keys(state: &AppState, org: &OrgId) -> Result<Vec<StoredAdminKey>, ServiceError> {
    Ok(
        every_page(|after| async move { orgs::admin_keys(state.store.as_ref(), org, after.as_deref(), 100).await })
            .await?,
    )
}

/// Revokes an admin key. Revoking an owner key checks, in the same transaction, that another owner
/// (key or admin user) remains, so two owners revoking each other at once cannot leave none.
pub async fn revoke(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    let keys = all_keys(state, &admin.org).await?;
    let target = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or(ServiceError::NotFound("admin key"))?;
    may_manage(admin, target.key.role)?;
    let notice = key_notice(state, admin, &target.id, &target.key).await?;
    let mut writes = vec![
        orgs::revoke_admin_key(&admin.org, &target.hash),
        audit::entry(state, admin, "admin_key.revoked", Some(&target.id), vec![]),
        event_write(&state.raise(&admin.org, EventData::AdminKeyRevoked(notice))),
    ];
    if target.key.role == Role::Owner {
        writes.push(another_owner_remains(state, &admin.org, &target.id, "id").await?);
    }
    state.store.transact(writes).await.or_conflict(
        "id",
        "the key or the organisation's other owner key changed meanwhile; try again",
    )?;
    tracing::info!(org = %admin.org, key = %target.id, by = %admin.actor.id, "admin key revoked");
    Ok(())
}
