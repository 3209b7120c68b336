//! An admin user's own account: accepting an invitation (choosing the first password), logging in
//! and out, resetting a forgotten password, and their profile (name, locale).
//!
//! The same rules as developer accounts: a reset request gets the same answer, after the same time,
//! for every email; a failed login says only that the email or password is wrong, and is counted per
//! email and per source address; a login from a new address after failures is told to the person.

use serde::Deserialize;
use std::net::IpAddr;

use super::accounts::{password_matches, PasswordLink, ResponseFloor};
pub use super::accounts::{LoginInput, ResetCompleteInput, ResetRequestInput};
use super::auth::{new_admin_session_token, OrgAdmin};
use super::limits::{self, LoginFailures};
use super::{audit, blocking, load_org_named, AppState, OrConflict, ServiceError};
use crate::domain::audit::{changes, FieldChange};
use crate::domain::event_data::{AdminLinkSent, AdminRef, AdminSuspiciousLogin, EventData};
use crate::domain::{
    now_epoch, now_epoch_millis, now_rfc3339, parse_person_name, AdminStatus, AdminUser, AdminUserId, Locale,
    ValidationErrors,
};
use crate::secret::{token_hash, Secret};
use crate::store::admin_users;
use crate::store::outbox::event_write;
use crate::store::sessions::{self, Account, Session};

/// The page of the portal where an admin chooses a new password.
const RESET_PAGE: &str = "admin/reset-password";

/// Why a password is being set from a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// `POST /orgs/{org}/admins/accept`: an invited admin's first password.
    Invitation,
    /// `POST /orgs/{org}/password-reset/complete`: a forgotten password.
    Reset,
}

/// Sets an admin user's password from a one-use link: the token is used up (once, even under a
/// race), the account becomes active, every session ends, failed logins are forgotten; a reset is
/// told to the person. One transaction. Counted per source address.
pub async fn set_password(
    state: &AppState,
    org: &str,
    source: IpAddr,
    purpose: LinkPurpose,
    input: ResetCompleteInput,
) -> Result<AdminUser, ServiceError> {
    let (org, token, password) = input.checked(state, org, source).await?;
    let invalid = || ServiceError::invalid("token", "is invalid, used or expired");
    let store = state.store.as_ref();
    let hash = token_hash(&token);
    let link = sessions::find_reset(store, &org.id, &hash).await?.ok_or_else(invalid)?;
    let id = AdminUserId::parse(&link.account_id).ok_or_else(invalid)?;
    let found = admin_users::get(store, &org.id, &id).await?.ok_or_else(invalid)?;
    let mut user = found.value;
    // An invitation link sets the first password; a reset link changes an active admin's.
    let expected = match purpose {
        LinkPurpose::Invitation => AdminStatus::Invited,
        LinkPurpose::Reset => AdminStatus::Active,
    };
    if user.status != expected {
        return Err(invalid());
    }
    user.password_hash = blocking(move || password.hash()).await?;
    user.status = AdminStatus::Active;
    user.updated_at = now_rfc3339();
    user.sessions_valid_after = now_epoch_millis();
    let mut writes = vec![
        admin_users::save(&user, found.version),
        sessions::use_reset(&org.id, &hash),
    ];
    writes.extend(sessions::end_all(store, &org.id, Account::Admin(&user.id)).await?);
    writes.push(limits::clear_login_failures(&org.id, &user.email));
    if purpose == LinkPurpose::Reset {
        let event = state.raise(&org.id, EventData::AdminPasswordChanged(AdminRef::from(&user)));
        writes.push(event_write(&event));
    }
    store.transact(writes).await.map_err(|e| match e {
        crate::store::StoreError::ConditionFailed { .. } => invalid(),
        e => e.into(),
    })?;
    tracing::info!(org = %org.id, admin = %user.id, ?purpose, "admin password set");
    Ok(user)
}

/// A new admin session, shown once.
pub struct LoggedIn {
    pub token: Secret,
    pub expires_at: i64,
    pub admin: AdminUser,
}

/// Logs an admin user in (the organisation's `disable_login` is the portal's and does not apply).
pub async fn login(state: &AppState, org: &str, address: IpAddr, input: LoginInput) -> Result<LoggedIn, ServiceError> {
    let org = load_org_named(state, org).await?;
    let (email, password) = input.checked()?;
    let store = state.store.as_ref();
    let failures = LoginFailures::check(state, &org.id, &email, address).await?;
    let found = admin_users::find_by_email(store, &org.id, &email).await?;
    let hash = found
        .as_ref()
        .filter(|u| u.value.status == AdminStatus::Active)
        .map(|u| u.value.password_hash.clone());
    let verified = password_matches(password, hash).await?;
    let Some(found) = found.filter(|_| verified) else {
        failures.count_failure(state).await?;
        tracing::info!(org = %org.id, "admin login failed");
        return Err(ServiceError::InvalidCredentials);
    };
    let user = found.value;
    let account = Account::Admin(&user.id);
    let mut known = sessions::known_addresses(store, &org.id, account).await?;
    let new_address = known.value.remember(token_hash(&address.to_string()));
    let mut writes = vec![
        admin_users::unchanged(&user, found.version),
        sessions::remember_addresses(&org.id, account, &known.value, known.version),
    ];
    if new_address && failures.of_email > 0 {
        let event = state.raise(
            &org.id,
            EventData::AdminSuspiciousLogin(AdminSuspiciousLogin {
                admin_id: user.id.clone(),
                email: user.email.clone(),
                failed_attempts: failures.of_email,
                address: address.to_string(),
            }),
        );
        writes.push(event_write(&event));
    }
    let (token, token_hash) = new_admin_session_token(&org.id, &user.id);
    // Admin sessions hold more power than a developer's: a working day by default.
    let expires_at = now_epoch() + state.config.admin_session_ttl.as_secs() as i64;
    let session = Session {
        account_id: user.id.to_string(),
        created_at: now_rfc3339(),
        expires_at,
        started_at: now_epoch_millis(),
    };
    writes.push(sessions::start(&org.id, &token_hash, account, &session));
    writes.extend(failures.clear());
    store.transact(writes).await.or_changed_meanwhile("admin")?;
    tracing::info!(org = %org.id, admin = %user.id, "admin logged in");
    Ok(LoggedIn {
        token,
        expires_at,
        admin: user,
    })
}

/// The admin user behind a session; an admin key has no account of its own.
fn session_of(admin: &OrgAdmin) -> Result<&(AdminUserId, String), ServiceError> {
    admin
        .session
        .as_ref()
        .ok_or_else(|| ServiceError::Forbidden("an admin key has no account; log in as an admin user".into()))
}

pub async fn logout(state: &AppState, admin: &OrgAdmin) -> Result<(), ServiceError> {
    let (_, hash) = session_of(admin)?;
    state.store.transact(vec![sessions::end(&admin.org, hash)]).await?;
    Ok(())
}

/// Mails a reset link if an active admin user has this email; the same `Ok(())`, after the same
/// time, either way. Counted per source address, and the emails per recipient.
pub async fn request_reset(
    state: &AppState,
    org: &str,
    source: IpAddr,
    input: ResetRequestInput,
) -> Result<(), ServiceError> {
    let floor = ResponseFloor::start(state);
    let (org, email) = input.checked(state, org, source).await?;
    let found = admin_users::find_by_email(state.store.as_ref(), &org.id, &email).await?;
    let link = PasswordLink::new(state, &org, org.settings.password_reset_ttl_secs, RESET_PAGE);
    if let Some(user) = found.map(|f| f.value).filter(|u| u.status == AdminStatus::Active) {
        let event = state.raise(
            &org.id,
            EventData::AdminPasswordResetRequested(AdminLinkSent {
                admin_id: user.id.clone(),
                email: user.email.clone(),
                role: None,
                by: None,
                recipients: vec![],
                expires_at: link.expires_at,
                url: link.url.clone(),
                expires_in: link.expires_in(),
            }),
        );
        state
            .store
            .transact(vec![link.record(&org.id, user.id.as_str()), event_write(&event)])
            .await?;
        tracing::info!(org = %org.id, admin = %user.id, "admin password reset requested");
    }
    floor.wait().await;
    Ok(())
}

/// The admin user calling.
pub async fn profile(state: &AppState, admin: &OrgAdmin) -> Result<AdminUser, ServiceError> {
    let (id, _) = session_of(admin)?;
    Ok(admin_users::get(state.store.as_ref(), &admin.org, id)
        .await?
        .ok_or(ServiceError::Unauthorized)?
        .value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// A new name; `null` removes it.
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub locale: Option<Option<String>>,
}

/// An admin user changes their own name or locale (audited like every admin write).
pub async fn edit_profile(state: &AppState, admin: &OrgAdmin, input: ProfileInput) -> Result<AdminUser, ServiceError> {
    let (id, _) = session_of(admin)?;
    let mut errors = ValidationErrors::default();
    let name = input
        .name
        .map(|n| n.map(|n| errors.check("name", parse_person_name(&n))));
    let locale = input
        .locale
        .map(|l| l.map(|l| errors.check("locale", Locale::parse(&l))));
    errors.into_result()?;
    let found = admin_users::get(state.store.as_ref(), &admin.org, id)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let mut user = found.value;
    let before = serde_json::json!({"name": user.name, "locale": user.locale});
    if let Some(name) = name {
        user.name = name.flatten();
    }
    if let Some(locale) = locale {
        user.locale = locale.flatten();
    }
    let after = serde_json::json!({"name": user.name, "locale": user.locale});
    let changed: Vec<FieldChange> = changes("", &before, &after, &[]);
    if changed.is_empty() {
        return Ok(user);
    }
    user.updated_at = now_rfc3339();
    state
        .store
        .transact(vec![
            admin_users::save(&user, found.version),
            audit::entry(state, admin, "admin.profile_changed", Some(user.id.as_str()), changed),
        ])
        .await
        .or_changed_meanwhile("admin")?;
    Ok(user)
}
