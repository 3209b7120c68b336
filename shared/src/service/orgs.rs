//! Organisations: created by the operator, read and changed by their admins; the webhook signing
//! secret and its rotation.

use serde::Deserialize;
use serde_json::Value;

use super::admin_users::invitation;
use super::auth::{new_admin_key, Operator, OrgAdmin};
use super::{load_org, AppState, ServiceError};
use crate::domain::audit::{self, AuditActor, FieldChange};
use crate::domain::event_data::{EventData, SettingsChanged};
use crate::domain::roles::{Permission, Role};
use crate::domain::{
    is_destination, is_security_setting, now_epoch, now_rfc3339, parse_event_options, parse_org_name, parse_settings,
    AdminUser, Email, OrgId, OrgPatch, Organisation, ValidationErrors,
};
use crate::secret::Secret;
use crate::store::orgs::{self, AdminKey};
use crate::store::StoreError;
use crate::webhook::SigningSecret;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub settings: Option<Value>,
    pub event_options: Option<Value>,
    /// Invites this person as the organisation's first owner.
    pub owner_email: Option<String>,
}

/// A new organisation with what is shown once: its first admin key and its webhook signing secret.
pub struct Created {
    pub org: Organisation,
    /// The invited first owner, if `owner_email` was given.
    pub owner: Option<AdminUser>,
    pub admin_key: Secret,
    pub admin_key_prefix: String,
    pub webhook_secret: Secret,
}

pub async fn create(state: &AppState, _: &Operator, input: CreateInput) -> Result<Created, ServiceError> {
    let mut errors = ValidationErrors::default();
    let id = match input.id.as_deref() {
        Some(id) => errors.check("id", OrgId::parse(id)),
        None => Some(OrgId::generate()),
    };
    let name = match input.name.as_deref() {
        Some(n) => errors.check("name", parse_org_name(n)),
        None => {
            errors.push("name", "is required");
            None
        }
    };
    let settings = input
        .settings
        .as_ref()
        .map_or(Some(Default::default()), |v| parse_settings(v, &mut errors));
    let event_options = input
        .event_options
        .as_ref()
        .map_or(Some(Default::default()), |v| parse_event_options(v, &mut errors));
    let owner_email = input
        .owner_email
        .as_deref()
        .and_then(|e| errors.check("owner_email", Email::parse(e)));
    let (Some(id), Some(name), Some(settings), Some(event_options)) = (id, name, settings, event_options) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    let taken = || ServiceError::conflict("id", "an organisation with this id exists");
    // Checked before the transaction, so a taken id costs a read rather than a cancelled transaction.
    if orgs::get_org(state.store.as_ref(), &id).await?.is_some() {
        return Err(taken());
    }
    let signing = SigningSecret::generate();
    let now = now_rfc3339();
    let org = Organisation {
        id: id.clone(),
        name,
        settings,
        event_options,
        webhook_secret_sealed: state.secrets.seal(signing.text()),
        previous_webhook_secret_sealed: None,
        previous_webhook_secret_until: None,
        notification_switches: Default::default(),
        created_at: now.clone(),
        updated_at: now.clone(),
    };
    let (key, key_hash, prefix) = new_admin_key(&id);
    let admin_key = AdminKey {
        org_id: id.clone(),
        prefix: prefix.clone(),
        name: "first admin key".into(),
        created_at: now,
        role: Role::Owner,
        last_used_at: None,
    };
    let (owner, also) = match owner_email {
        Some(email) => {
            let operator = AuditActor {
                kind: "operator".into(),
                id: "operator".into(),
                role: Some(Role::Owner),
                email: None,
            };
            let (user, writes) = invitation(state, &org, email, Role::Owner, None, None, operator, vec![]);
            (Some(user), writes)
        }
        None => (None, vec![]),
    };
    match orgs::create_org(state.store.as_ref(), &org, &key_hash, &admin_key, also).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed { .. }) => return Err(taken()),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(org = %org.id, "organisation created");
    Ok(Created {
        org,
        owner,
        admin_key: key,
        admin_key_prefix: prefix,
        webhook_secret: signing.text().clone(),
    })
}

pub async fn get(state: &AppState, admin: &OrgAdmin) -> Result<Organisation, ServiceError> {
    admin.require(Permission::ReadOrganisation)?;
    Ok(as_seen_by(admin, load_org(state, &admin.org).await?))
}

/// The organisation as `admin` may see it: without [`Permission::SeeWebhookUrls`], every webhook URL
/// without its query and fragment, where receivers keep their tokens.
fn as_seen_by(admin: &OrgAdmin, mut org: Organisation) -> Organisation {
    if admin.role.allows(Permission::SeeWebhookUrls) {
        return org;
    }
    let shorten = |url: &mut Option<crate::domain::WebhookUrl>| {
        if let Some(u) = url.as_mut() {
            *u = u.without_query();
        }
    };
    shorten(&mut org.settings.key_request_webhook);
    for target in org.event_options.targets_mut() {
        shorten(&mut target.webhook);
    }
    org
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchInput {
    pub name: Option<String>,
    pub settings: Option<Value>,
    pub event_options: Option<Value>,
}

/// Changes the organisation's name, settings or `event_options`. Settings and `event_options` are
/// merged key by key into what is stored (a key given replaces that one; `null` clears an optional
/// one), so a
/// change of one setting leaves the others as they are.
pub async fn update(state: &AppState, admin: &OrgAdmin, input: PatchInput) -> Result<Organisation, ServiceError> {
    admin.require(Permission::ChangeSettings)?;
    // Each part is checked as given first, so bad input is refused before anything is read.
    let mut errors = ValidationErrors::default();
    let name = input
        .name
        .as_deref()
        .and_then(|n| errors.check("name", parse_org_name(n)));
    if let Some(v) = &input.settings {
        parse_settings(v, &mut errors);
    }
    if let Some(v) = &input.event_options {
        parse_event_options(v, &mut errors);
    }
    errors.into_result()?;
    change_org(state, admin, "settings.changed", |org| {
        let mut errors = ValidationErrors::default();
        let patch = OrgPatch {
            name: name.clone(),
            settings: input
                .settings
                .as_ref()
                .and_then(|v| parse_settings(&merged(&org.settings, v), &mut errors)),
            event_options: input
                .event_options
                .as_ref()
                .and_then(|v| parse_event_options(&merged(&org.event_options, v), &mut errors)),
        };
        errors.into_result()?;
        org.apply(patch, now_rfc3339());
        Ok(())
    })
    .await
    .map(|org| as_seen_by(admin, org))
}

/// `current` (as stored) with the keys of `patch` in place of its own.
fn merged(current: &impl serde::Serialize, patch: &Value) -> Value {
    let mut whole = serde_json::to_value(current).unwrap_or_default();
    if let (Some(whole), Some(patch)) = (whole.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            whole.insert(key.clone(), value.clone());
        }
    }
    whole
}

/// The audit action of a signing secret rotation.
const SECRET_ROTATED: &str = "webhook_secret.rotated";

/// What the audit log shows of an organisation: what admins may change, never its secrets.
fn audited(org: &Organisation) -> Value {
    serde_json::json!({"name": org.name, "settings": org.settings, "event_options": org.event_options,
        "notification_switches": org.notification_switches})
}

/// Applies `change` to the organisation as stored and saves it with its audit entry (`action`, the
/// fields changed with old and new values); re-reads and re-applies if another update landed in
/// between (optimistic concurrency, three tries).
pub(crate) async fn change_org(
    state: &AppState,
    admin: &OrgAdmin,
    action: &str,
    change: impl Fn(&mut Organisation) -> Result<(), ServiceError>,
) -> Result<Organisation, ServiceError> {
    for _ in 0..3 {
        let current = orgs::get_org(state.store.as_ref(), &admin.org)
            .await?
            .ok_or(ServiceError::NotFound("organisation"))?;
        let mut org = current.value;
        let before = audited(&org);
        // Those told are the owners before the change: a change of the address cannot silence it.
        let told = super::admin_users::owners_to_tell(state, &org).await?;
        change(&mut org)?;
        // Webhook URLs often hold a token: the log keeps their scheme and host.
        let changes = audit::changes("", &before, &audited(&org), &["webhook", "key_request_webhook"]);
        if let Some(moved) = changes.iter().find(|c| is_destination(&c.field)) {
            admin.require_for(Permission::ChangeDestinations, &moved.field)?;
        }
        let mut security: Vec<FieldChange> = changes
            .iter()
            .filter(|c| is_security_setting(&c.field))
            .cloned()
            .collect();
        if action == SECRET_ROTATED {
            security.push(FieldChange {
                field: "webhook_secret".into(),
                old: Value::from(audit::REDACTED),
                new: Value::from(audit::REDACTED),
            });
        }
        // The owners are told of a security setting's change, in the same transaction.
        let events: Vec<_> = (!security.is_empty())
            .then(|| {
                state.raise(
                    &org.id,
                    EventData::SecuritySettingsChanged(SettingsChanged {
                        by: super::audit::actor(admin),
                        changes: security,
                        recipients: if told.is_empty() {
                            org.settings.admin_email.clone().into_iter().collect()
                        } else {
                            told.clone()
                        },
                    }),
                )
            })
            .into_iter()
            .collect();
        let entry = super::audit::entry(state, admin, action, Some(org.id.as_str()), changes);
        match orgs::update_org(state.store.as_ref(), &org, current.version, &events, vec![entry]).await {
            Ok(()) => {
                state.orgs.put(&org);
                return Ok(org);
            }
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::conflict(
        "organisation",
        "changed by someone else at the same time; try again",
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    pub grace_period_secs: Option<i64>,
}

/// How long the previous secret keeps signing by default, and at most.
const DEFAULT_GRACE_SECS: i64 = 24 * 3600;
const MAX_GRACE_SECS: i64 = 7 * 24 * 3600;

/// A rotated secret: the new one (shown once) and until when the previous one still signs.
pub struct Rotated {
    pub webhook_secret: Secret,
    /// Epoch seconds; `None` without a grace period.
    pub previous_valid_until: Option<i64>,
}

/// A new signing secret; the previous one keeps signing alongside it (two `v1,` signatures in
/// `webhook-signature`) for the grace period, so receivers switch without a gap.
pub async fn rotate_secret(state: &AppState, admin: &OrgAdmin, input: RotateInput) -> Result<Rotated, ServiceError> {
    admin.require_for(Permission::ChangeDestinations, "webhook_secret")?;
    let grace = input.grace_period_secs.unwrap_or(DEFAULT_GRACE_SECS);
    if !(0..=MAX_GRACE_SECS).contains(&grace) {
        return Err(ServiceError::invalid(
            "grace_period_secs",
            "must be from 0 to 604800 seconds",
        ));
    }
    let signing = SigningSecret::generate();
    let sealed = state.secrets.seal(signing.text());
    let until = now_epoch() + grace;
    let org = change_org(state, admin, SECRET_ROTATED, |org| {
        org.previous_webhook_secret_sealed = (grace > 0).then(|| org.webhook_secret_sealed.clone());
        org.previous_webhook_secret_until = (grace > 0).then_some(until);
        org.webhook_secret_sealed = sealed.clone();
        org.updated_at = now_rfc3339();
        Ok(())
    })
    .await?;
    tracing::info!(org = %org.id, grace_period_secs = grace, "webhook signing secret rotated");
    Ok(Rotated {
        webhook_secret: signing.text().clone(),
        previous_valid_until: (grace > 0).then_some(until),
    })
}
