//! The people who run an organisation: an owner or admin invites an admin user by email with a
//! role, changes their role, removes them. Only an owner grants, changes or removes the owner role,
//! and an organisation never loses its last owner (an acting owner user or an owner admin key).
//! Each change is audited and told to the person and to the owners, in the change's transaction.

use serde::Deserialize;
use serde_json::Value;

use super::auth::OrgAdmin;
use super::credentials::PasswordLink;
use super::developers::INVITATION_TTL_SECS;
use super::{audit, load_org, AppState, OrConflict, Paged, ServiceError};
use crate::domain::audit::{AuditActor, FieldChange};
use crate::domain::event_data::{AdminChanged, AdminLinkSent, EventData};
use crate::domain::roles::{Permission, Role};
use crate::domain::{
    now_rfc3339, parse_person_name, required, AdminStatus, AdminUser, AdminUserId, Email, Locale, OrgId, Organisation,
    ValidationErrors,
};
use crate::store::outbox::event_write;
use crate::store::{admin_users, every_page, orgs, StoreError, Versioned, Write};

/// The page of the portal (under the organisation's portal address) where an invited admin chooses
/// a password.
pub(crate) const ACCEPT_PAGE: &str = "admin/accept-invitation";

/// Every admin user of the organisation, with versions (an organisation has few).
pub(crate) async fn all(state: &AppState, org: &OrgId) -> Result<Vec<Versioned<AdminUser>>, ServiceError> {
    Ok(
        every_page(|after| async move { admin_users::page(state.store.as_ref(), org, after.as_deref(), 100).await })
            .await?,
    )
}

/// Who is told of a security change: every acting owner user, and `settings.admin_email` (the
/// address of organisations without admin users), each once.
pub(crate) async fn owners_to_tell(state: &AppState, org: &Organisation) -> Result<Vec<Email>, ServiceError> {
    let mut told: Vec<Email> = all(state, &org.id)
        .await?
        .into_iter()
        .map(|u| u.value)
        .filter(AdminUser::is_acting_owner)
        .map(|u| u.email)
        .collect();
    if let Some(address) = &org.settings.admin_email {
        told.push(address.clone());
    }
    let mut seen = std::collections::HashSet::new();
    told.retain(|e| seen.insert(e.normalized()));
    Ok(told)
}

/// A check, for the transaction of a change that takes the owner role from someone (`except`: the
/// admin user's or admin key's id), that another owner remains: an acting owner user unchanged, or an
/// owner key not revoked. 409 naming `field` when there is none.
pub(crate) async fn another_owner_remains(
    state: &AppState,
    org: &OrgId,
    except: &str,
    field: &str,
) -> Result<Write, ServiceError> {
    let last = || ServiceError::conflict(field, "the organisation's last owner cannot lose the owner role");
    let users = all(state, org).await?;
    if let Some(owner) = users
        .iter()
        .find(|u| u.value.is_acting_owner() && u.value.id.as_str() != except)
    {
        return Ok(admin_users::unchanged(&owner.value, owner.version));
    }
    let keys =
        every_page(|after| async move { orgs::admin_keys(state.store.as_ref(), org, after.as_deref(), 100).await })
            .await?;
    let key = keys
        .iter()
        .find(|k| k.key.role == Role::Owner && k.id != except)
        .ok_or_else(last)?;
    Ok(orgs::admin_key_remains(org, &key.hash))
}

/// Ok when `admin` may hold power over an admin of `role`: the owner role is an owner's business.
pub(crate) fn may_manage(admin: &OrgAdmin, role: Role) -> Result<(), ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    if role == Role::Owner {
        admin.require(Permission::ManageOwners)?;
    }
    Ok(())
}

/// The role of an admin user: a person's role, never `gateway`.
pub(crate) fn parse_role(errors: &mut ValidationErrors, role: Option<&str>) -> Option<Role> {
    let role = required(errors, "role", role)?;
    Role::parse(role).filter(|r| Role::OF_PEOPLE.contains(r)).or_else(|| {
        errors.push("role", "must be owner, admin, approver or viewer");
        None
    })
}

/// The role of an admin key: a person's role, or `gateway` for a gateway's credential.
pub(crate) fn parse_key_role(errors: &mut ValidationErrors, role: Option<&str>) -> Option<Role> {
    let role = required(errors, "role", role)?;
    Role::parse(role).or_else(|| {
        errors.push("role", "must be owner, admin, approver, viewer or gateway");
        None
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    pub email: Option<String>,
    pub role: Option<String>,
    pub name: Option<String>,
    pub locale: Option<String>,
}

/// Invites a person as an admin user with a role: the account waits (`invited`, no password) until
/// they choose a password through the emailed one-use link (7 days).
pub async fn invite(state: &AppState, admin: &OrgAdmin, input: InviteInput) -> Result<AdminUser, ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", input.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let role = parse_role(&mut errors, input.role.as_deref());
    let name = input
        .name
        .as_deref()
        .and_then(|n| errors.check("name", parse_person_name(n)));
    let locale = input
        .locale
        .as_deref()
        .and_then(|l| errors.check("locale", Locale::parse(l)));
    let (Some(email), Some(role)) = (email, role) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    may_manage(admin, role)?;
    let org = load_org(state, &admin.org).await?;
    let recipients = owners_to_tell(state, &org).await?;
    let (user, mut writes) = invitation(state, &org, email, role, name, locale, audit::actor(admin), recipients);
    let created = FieldChange {
        field: "role".into(),
        old: Value::Null,
        new: Value::from(role.as_str()),
    };
    writes.push(audit::entry(
        state,
        admin,
        "admin.invited",
        Some(user.id.as_str()),
        vec![created],
    ));
    match state.store.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { index: Some(0) }) => {
            return Err(ServiceError::conflict("email", "an admin with this email exists"));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, admin = %user.id, %role, by = %admin.actor.id, "admin invited");
    Ok(user)
}

/// A new invited admin user and the writes that store them, their set-password link and the
/// `admin_event.invited` event (the email guard's write first).
#[allow(clippy::too_many_arguments)]
pub(crate) fn invitation(
    state: &AppState,
    org: &Organisation,
    email: Email,
    role: Role,
    name: Option<String>,
    locale: Option<Locale>,
    by: AuditActor,
    recipients: Vec<Email>,
) -> (AdminUser, Vec<Write>) {
    let now = now_rfc3339();
    let user = AdminUser {
        id: AdminUserId::generate(),
        org_id: org.id.clone(),
        email,
        name,
        locale,
        role,
        status: AdminStatus::Invited,
        password_hash: String::new(),
        created_at: now.clone(),
        updated_at: now,
        sessions_valid_after: 0,
        links_valid_after: 0,
    };
    let link = PasswordLink::new(state, org, INVITATION_TTL_SECS, ACCEPT_PAGE);
    let event = state.raise(
        &org.id,
        EventData::AdminInvited(AdminLinkSent {
            admin_id: user.id.clone(),
            email: user.email.clone(),
            role: Some(role),
            by: Some(by),
            recipients,
            expires_at: link.expires_at,
            url: link.url.clone(),
            expires_in: link.expires_in(),
        }),
    );
    let mut writes = admin_users::create(&user);
    writes.push(link.record(&org.id, user.id.as_str()));
    writes.push(event_write(&event));
    (user, writes)
}

/// A page of the organisation's admin users, oldest first.
pub async fn list(
    state: &AppState,
    admin: &OrgAdmin,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<AdminUser>, ServiceError> {
    admin.require(Permission::ReadAdmins)?;
    let (users, next) = admin_users::page(state.store.as_ref(), &admin.org, after, limit)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => ServiceError::invalid("after", "is not a cursor from this list"),
            e => e.into(),
        })?;
    Ok((users.into_iter().map(|u| u.value).collect(), next))
}

async fn find(state: &AppState, org: &OrgId, id: &str) -> Result<Versioned<AdminUser>, ServiceError> {
    let id = AdminUserId::parse(id).ok_or(ServiceError::NotFound("admin"))?;
    admin_users::get(state.store.as_ref(), org, &id)
        .await?
        .ok_or(ServiceError::NotFound("admin"))
}

pub async fn get(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<AdminUser, ServiceError> {
    admin.require(Permission::ReadAdmins)?;
    Ok(find(state, &admin.org, id).await?.value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    pub role: Option<String>,
}

/// Changes an admin user's role. Taking the owner role away checks, in the same transaction, that
/// another owner remains; the person and the owners (as they were before) are told.
pub async fn change_role(
    state: &AppState,
    admin: &OrgAdmin,
    id: &str,
    input: ChangeInput,
) -> Result<AdminUser, ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    let mut errors = ValidationErrors::default();
    let role = parse_role(&mut errors, input.role.as_deref());
    let Some(role) = role else {
        return Err(errors.into());
    };
    let found = find(state, &admin.org, id).await?;
    let mut user = found.value;
    let old = user.role;
    may_manage(admin, old)?;
    may_manage(admin, role)?;
    if old == role {
        return Ok(user);
    }
    let org = load_org(state, &admin.org).await?;
    let recipients = owners_to_tell(state, &org).await?;
    user.role = role;
    user.updated_at = now_rfc3339();
    let mut writes = vec![admin_users::save(&user, found.version)];
    if old == Role::Owner && user.status == AdminStatus::Active {
        writes.push(another_owner_remains(state, &admin.org, user.id.as_str(), "role").await?);
    }
    let change = FieldChange {
        field: "role".into(),
        old: Value::from(old.as_str()),
        new: Value::from(role.as_str()),
    };
    writes.push(audit::entry(
        state,
        admin,
        "admin.role_changed",
        Some(user.id.as_str()),
        vec![change],
    ));
    let event = state.raise(
        &org.id,
        EventData::AdminRoleChanged(AdminChanged {
            admin_id: user.id.clone(),
            email: user.email.clone(),
            old_role: Some(old),
            role,
            by: audit::actor(admin),
            recipients,
        }),
    );
    writes.push(event_write(&event));
    state.store.transact(writes).await.or_conflict(
        "role",
        "the admin or the organisation's other owner changed meanwhile; try again",
    )?;
    tracing::info!(org = %org.id, admin = %user.id, %old, %role, by = %admin.actor.id, "admin role changed");
    Ok(user)
}

/// Removes an admin user with their sessions; never the last owner. The person and the owners are
/// told.
pub async fn remove(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(Permission::ManageAdmins)?;
    let found = find(state, &admin.org, id).await?;
    let user = &found.value;
    may_manage(admin, user.role)?;
    let org = load_org(state, &admin.org).await?;
    let recipients = owners_to_tell(state, &org).await?;
    let mut writes = admin_users::delete(state.store.as_ref(), user, found.version).await?;
    if user.is_acting_owner() {
        writes.push(another_owner_remains(state, &admin.org, user.id.as_str(), "id").await?);
    }
    writes.push(audit::entry(
        state,
        admin,
        "admin.removed",
        Some(user.id.as_str()),
        vec![],
    ));
    let event = state.raise(
        &org.id,
        EventData::AdminRemoved(AdminChanged {
            admin_id: user.id.clone(),
            email: user.email.clone(),
            old_role: None,
            role: user.role,
            by: audit::actor(admin),
            recipients,
        }),
    );
    writes.push(event_write(&event));
    state.store.transact(writes).await.or_conflict(
        "id",
        "the admin or the organisation's other owner changed meanwhile; try again",
    )?;
    tracing::info!(org = %org.id, admin = %user.id, by = %admin.actor.id, "admin removed");
    Ok(())
}
