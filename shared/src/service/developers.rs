//! Admins and an organisation's developers: search by email prefix, invite, view, edit any field
//! (approving or rejecting a pending sign-up is a status change), remove.

use serde::Deserialize;
use serde_json::Value;

use super::accounts::link_sent;
use super::auth::OrgAdmin;
use super::credentials::PasswordLink;
use super::{api_keys, audit, load_org, AppState, ServiceError};
use crate::domain::event_data::{Actor, DeveloperRef, DeveloperState, EventData};
use crate::domain::fields::{check_values, merge, Completeness};
use crate::domain::roles::Permission;
use crate::domain::{
    now_epoch_millis, now_rfc3339, required, Developer, DeveloperId, DeveloperStatus, Email, Locale, ValidationErrors,
};
use crate::store::developers::{self, SignUpOutcome};
use crate::store::{sessions, StoreError, Versioned};

/// How long an invitation's set-password link works.
pub(crate) const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;

/// Developers whose email starts with `prefix` (any case), in email order, from `cursor` (a previous
/// page's `next`).
pub async fn search(
    state: &AppState,
    admin: &OrgAdmin,
    prefix: &str,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Developer>, Option<String>), ServiceError> {
    admin.require(Permission::ReadDevelopers)?;
    developers::search(state.store.as_ref(), &admin.org, prefix.trim(), cursor, limit)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => ServiceError::invalid("cursor", "is not a cursor from this list"),
            e => e.into(),
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    pub email: Option<String>,
    pub fields: Option<Value>,
    /// The developer's language (`de`, `pt_BR`): their invitation is written in it already.
    pub locale: Option<String>,
}

/// Creates an account (the way in for `invite_only` portals) and emails the developer a link to
/// choose their password; until then no password works.
pub async fn invite(state: &AppState, admin: &OrgAdmin, input: InviteInput) -> Result<Developer, ServiceError> {
    admin.require(Permission::ManageDevelopers)?;
    let org = load_org(state, &admin.org).await?;
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", input.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let fields = check_values(
        &org.settings.signup_fields,
        input.fields.as_ref(),
        Completeness::Whole,
        &mut errors,
    );
    let locale = input
        .locale
        .as_deref()
        .and_then(|l| errors.check("locale", Locale::parse(l)));
    let Some(email) = email else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let now = now_rfc3339();
    let developer = Developer {
        id: DeveloperId::generate(),
        org_id: org.id.clone(),
        email,
        password_hash: String::new(),
        fields,
        status: DeveloperStatus::Active,
        created_at: now.clone(),
        updated_at: now,
        sessions_valid_after: 0,
        links_valid_after: 0,
        locale,
        // An admin vouches for the address they invite.
        email_confirmed: true,
    };
    let link = PasswordLink::new(state, &org, INVITATION_TTL_SECS, "reset-password");
    let token = link.record(&org.id, developer.id.as_str());
    let event = state.raise(&org.id, EventData::DeveloperInvited(link_sent(&developer, &link)));
    let entry = audit::entry(state, admin, "developer.invited", Some(developer.id.as_str()), vec![]);
    match developers::create(state.store.as_ref(), &developer, &event, vec![token, entry]).await? {
        SignUpOutcome::Created => {}
        SignUpOutcome::EmailTaken => {
            return Err(ServiceError::conflict("email", "an account with this email exists"));
        }
    }
    tracing::info!(org = %org.id, developer = %developer.id, "developer invited");
    Ok(developer)
}

async fn find(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Versioned<Developer>, ServiceError> {
    let id = DeveloperId::parse(id).ok_or(ServiceError::NotFound("developer"))?;
    developers::get(state.store.as_ref(), &admin.org, &id)
        .await?
        .ok_or(ServiceError::NotFound("developer"))
}

pub async fn get(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<Developer, ServiceError> {
    admin.require(Permission::ReadDevelopers)?;
    Ok(find(state, admin, id).await?.value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditInput {
    pub email: Option<String>,
    pub fields: Option<Value>,
    pub status: Option<DeveloperStatus>,
}

/// An admin edits a developer; a status change to `active` approves (raising `approved`), from
/// `pending` to `rejected` rejects.
pub async fn edit(state: &AppState, admin: &OrgAdmin, id: &str, input: EditInput) -> Result<Developer, ServiceError> {
    admin.require(Permission::ManageDevelopers)?;
    let org = load_org(state, &admin.org).await?;
    let mut errors = ValidationErrors::default();
    let email = input
        .email
        .as_deref()
        .and_then(|e| errors.check("email", Email::parse(e)));
    let changes = check_values(
        &org.settings.signup_fields,
        input.fields.as_ref(),
        Completeness::Partial,
        &mut errors,
    );
    errors.into_result()?;

    let found = find(state, admin, id).await?;
    let before = audited(&found.value);
    let mut developer = found.value;
    let previous_email = developer.email.clone();
    let previous_status = developer.status;
    if let Some(email) = email {
        developer.email = email;
    }
    developer.fields = merge(developer.fields, changes);
    if let Some(status) = input.status {
        developer.status = status;
    }
    developer.updated_at = now_rfc3339();
    // A status change ends every session and link; an email change every link (mailed to the old
    // address).
    let now = now_epoch_millis();
    let mut ended = Vec::new();
    if developer.status != previous_status {
        developer.sessions_valid_after = now;
        developer.links_valid_after = now;
        let account = sessions::Account::Developer(&developer.id);
        ended = sessions::end_all(state.store.as_ref(), &org.id, account).await?;
    }
    if developer.email != previous_email {
        developer.links_valid_after = now;
    }

    let data = DeveloperState::of(&developer, Some(Actor::Admin));
    let mut events = vec![state.raise(&org.id, EventData::DeveloperUpdated(data.clone()))];
    match (previous_status, developer.status) {
        (before, DeveloperStatus::Active) if before != DeveloperStatus::Active => {
            events.push(state.raise(&org.id, EventData::DeveloperApproved(data)));
        }
        (DeveloperStatus::Pending, DeveloperStatus::Rejected) => {
            events.push(state.raise(&org.id, EventData::DeveloperRejected(data)));
        }
        _ => {}
    }
    let changes = crate::domain::audit::changes("", &before, &audited(&developer), &[]);
    let entry = audit::entry(state, admin, "developer.updated", Some(developer.id.as_str()), changes);
    // Whether the gate lets the developer's keys through follows their status, in this transaction
    // for the keys that fit, after it for the rest and for any issued while it ran.
    let gate_changed = (previous_status == DeveloperStatus::Active) != (developer.status == DeveloperStatus::Active);
    let mut extra: Vec<_> = ended.into_iter().chain([entry]).collect();
    let (mut now_written, mut later) = (std::collections::HashSet::new(), Vec::new());
    if gate_changed {
        let room = 100usize.saturating_sub(extra.len() + events.len() + 3);
        let mut keys = api_keys::gate_status_writes(state, &developer).await?;
        later = keys.split_off(room.min(keys.len()));
        for (hash, write) in keys {
            now_written.insert(hash);
            extra.push(write);
        }
    }
    developers::save(
        state.store.as_ref(),
        &developer,
        found.version,
        &previous_email,
        extra,
        &events,
    )
    .await?;
    if gate_changed {
        api_keys::finish_gate_status(state, &developer, &now_written, later).await?;
    }
    Ok(developer)
}

/// What the audit log shows of a developer's change (never the password hash).
fn audited(developer: &Developer) -> Value {
    serde_json::json!({"email": developer.email, "status": developer.status, "fields": developer.fields})
}

/// Removes a developer: their keys first (a developer who is gone holds no working key), then the
/// account with its sessions and email guard.
pub async fn remove(state: &AppState, admin: &OrgAdmin, id: &str) -> Result<(), ServiceError> {
    admin.require(Permission::ManageDevelopers)?;
    let found = find(state, admin, id).await?;
    let event = state.raise(
        &admin.org,
        EventData::DeveloperDeleted(DeveloperRef::from(&found.value)),
    );
    let entry = audit::entry(state, admin, "developer.removed", Some(found.value.id.as_str()), vec![]);
    // The account goes first: every key issue checks that it exists, so none can land after this
    // and escape the removal of its keys below.
    developers::delete(state.store.as_ref(), &found.value, found.version, &event, vec![entry]).await?;
    api_keys::remove_all_of(state, &found.value).await?;
    tracing::info!(org = %admin.org, developer = %found.value.id, "developer removed");
    Ok(())
}
