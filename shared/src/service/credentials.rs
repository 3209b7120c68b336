//! The rules of every account, written once for developers and admin users: logging in (failures
//! counted before the password is checked), sessions (alive only while the account is active and
//! begun after its last password, status or role change), password links (reset and invitation: one
//! use each, dead once a newer password, status or email change), and answers that never tell
//! whether an email has an account.
//!
//! An account kind says only what differs ([`Holder`]): how it is stored, what its events are, what
//! "active" means. `accounts` (developers) and `admin_accounts` (admin users) call these functions
//! and add nothing to them.

use async_trait::async_trait;
use serde::Deserialize;
use std::net::IpAddr;

use super::limits::{self, LoginAttempt};
use super::{blocking, load_org_named, AppState, OrConflict, ServiceError};
use crate::domain::event_data::EventData;
use crate::domain::limits::Limit;
use crate::domain::{
    now_epoch, now_epoch_millis, now_rfc3339, required, Email, OrgId, Organisation, Password, ValidationErrors,
};
use crate::secret::{new_token, token_hash, Secret};
use crate::store::outbox::event_write;
use crate::store::sessions::{self, Account, ResetToken, Session};
use crate::store::{Store, StoreError, Versioned, Write};

/// Why a password is being set from a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// An invited person's first password.
    Invitation,
    /// A forgotten password.
    Reset,
}

/// What the account rules need to know of one kind of account.
#[async_trait]
pub(crate) trait Holder: Clone + Send + Sync + Sized + 'static {
    type Id: Clone + Send + Sync + std::fmt::Display;
    /// What log lines call one (`developer`, `admin`).
    const KIND: &'static str;
    /// The prefix of this kind's session tokens (`gh_sess_`, `gh_asess_`).
    const SESSION_PREFIX: &'static str;
    /// The portal page where this kind's reset links lead.
    const RESET_PAGE: &'static str;

    fn parse_id(text: &str) -> Option<Self::Id>;
    fn id(&self) -> &Self::Id;
    fn account_of(id: &Self::Id) -> Account<'_>;
    fn email(&self) -> &Email;
    fn password_hash(&self) -> &str;
    /// Sessions begun at or before this instant (epoch ms) are over.
    fn sessions_valid_after(&self) -> i64;
    /// Password links made at or before this instant (epoch ms) no longer work.
    fn links_valid_after(&self) -> i64;
    /// `None` when the account may log in and hold sessions; what to answer otherwise.
    fn refusal(&self) -> Option<ServiceError>;
    /// Whether the organisation takes logins of this kind (a portal may turn developers' off).
    fn logins_open(org: &Organisation) -> Result<(), ServiceError>;
    /// Whether a link of `purpose` may set this account's password.
    fn takes_link(&self, purpose: LinkPurpose) -> bool;
    /// Sets a new password hash at `now` (epoch ms): every session and link made before ends.
    fn set_password(&mut self, hash: String, now: i64);
    fn session_ttl_secs(state: &AppState, org: &Organisation) -> i64;

    async fn get(store: &dyn Store, org: &OrgId, id: &Self::Id) -> Result<Option<Versioned<Self>>, StoreError>;
    async fn find_by_email(
        store: &dyn Store,
        org: &OrgId,
        email: &Email,
    ) -> Result<Option<Versioned<Self>>, StoreError>;
    /// The write that saves the account read at `version` (its email unchanged).
    fn save(&self, version: u64) -> Write;
    /// A check that the account is still at `version`.
    fn unchanged(&self, version: u64) -> Write;

    fn suspicious_login(&self, earlier_failures: u32, address: IpAddr) -> EventData;
    /// The notice of a password set from a link, if this kind sends one for `purpose`.
    fn password_set(&self, purpose: LinkPurpose) -> Option<EventData>;
    /// What a reset request for this account writes: the link's record and the event that mails
    /// it, or something else the account's state calls for (nothing at all, for instance).
    fn reset_requested(&self, state: &AppState, org: &Organisation, link: &PasswordLink) -> Vec<Write>;
}

/// Implements [`Holder`] for an account type: the accessors every kind has alike (its id, email,
/// password hash, the instants its sessions and links are valid after, its store module's `get`,
/// `find_by_email`, `unchanged` and the given save function), then the items that say what is the
/// kind's own. One place for what would otherwise be written twice and drift.
macro_rules! holder {
    (
        $kind:ty, $id:ident, $account:ident, $store:ident :: $save:ident,
        named $name:literal, sessions $prefix:expr, resets at $page:literal,
        { $($own:tt)* }
    ) => {
        #[async_trait::async_trait]
        impl $crate::service::credentials::Holder for $kind {
            type Id = $id;
            const KIND: &'static str = $name;
            const SESSION_PREFIX: &'static str = $prefix;
            const RESET_PAGE: &'static str = $page;

            fn parse_id(text: &str) -> Option<$id> {
                $id::parse(text)
            }
            fn id(&self) -> &$id {
                &self.id
            }
            fn account_of(id: &$id) -> $crate::store::sessions::Account<'_> {
                $crate::store::sessions::Account::$account(id)
            }
            fn email(&self) -> &$crate::domain::Email {
                &self.email
            }
            fn password_hash(&self) -> &str {
                &self.password_hash
            }
            fn sessions_valid_after(&self) -> i64 {
                self.sessions_valid_after
            }
            fn links_valid_after(&self) -> i64 {
                self.links_valid_after
            }
            async fn get(
                store: &dyn $crate::store::Store,
                org: &$crate::domain::OrgId,
                id: &$id,
            ) -> Result<Option<$crate::store::Versioned<Self>>, $crate::store::StoreError> {
                $store::get(store, org, id).await
            }
            async fn find_by_email(
                store: &dyn $crate::store::Store,
                org: &$crate::domain::OrgId,
                email: &$crate::domain::Email,
            ) -> Result<Option<$crate::store::Versioned<Self>>, $crate::store::StoreError> {
                $store::find_by_email(store, org, email).await
            }
            fn save(&self, version: u64) -> $crate::store::Write {
                $store::$save(self, version)
            }
            fn unchanged(&self, version: u64) -> $crate::store::Write {
                $store::unchanged(self, version)
            }

            $($own)*
        }
    };
}
pub(crate) use holder;

fn account<A: Holder>(holder: &A) -> Account<'_> {
    A::account_of(holder.id())
}

/// Holds an answer back until a fixed time after the request began, so the work done for an email
/// with an account and for one without cannot be told apart by timing. `None`: the floor is off
/// (`ACCOUNT_RESPONSE_FLOOR_MS=0`).
pub(crate) struct ResponseFloor(Option<tokio::time::Instant>);

impl ResponseFloor {
    pub(crate) fn start(state: &AppState) -> Self {
        let floor = state.config.account_response_floor;
        Self((!floor.is_zero()).then(|| tokio::time::Instant::now() + floor))
    }

    pub(crate) async fn wait(self) {
        let Some(until) = self.0 else { return };
        if tokio::time::Instant::now() > until {
            tracing::warn!(
                "an account request took longer than ACCOUNT_RESPONSE_FLOOR_MS; raise it to keep timing uniform"
            );
        }
        tokio::time::sleep_until(until).await;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: Option<String>,
    pub password: Option<String>,
}

impl LoginInput {
    /// The email and the password as given (a login checks only that both are there).
    fn checked(self) -> Result<(Email, String), ServiceError> {
        let mut errors = ValidationErrors::default();
        let email =
            required(&mut errors, "email", self.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
        let password = required(&mut errors, "password", self.password.as_deref()).map(str::to_string);
        match (email, password) {
            (Some(email), Some(password)) => Ok((email, password)),
            _ => Err(errors.into()),
        }
    }
}

/// A new session of an account, shown once.
pub struct LoggedIn<A> {
    pub token: Secret,
    pub expires_at: i64,
    pub account: A,
}

/// A new session token `<prefix><org>.<account>.<secret>` and its hash (what is stored).
pub(crate) fn new_session_token<A: Holder>(org: &OrgId, id: &A::Id) -> (Secret, String) {
    let random = new_token("");
    let token = Secret::new(format!("{}{org}.{id}.{}", A::SESSION_PREFIX, random.expose()));
    let hash = token_hash(token.expose());
    (token, hash)
}

/// Logs an account in. The attempt is counted against the failed-login limits before the password
/// is checked (`LoginAttempt`); a login from a new address after failures raises a suspicious-login
/// notice; the account is checked (not rewritten) in the session's transaction, so a login racing
/// a password change or a removal fails.
async fn log_in<A: Holder>(
    state: &AppState,
    org: &Organisation,
    address: IpAddr,
    input: LoginInput,
) -> Result<LoggedIn<A>, ServiceError> {
    let (email, password) = input.checked()?;
    let store = state.store.as_ref();
    let attempt = LoginAttempt::take(state, &org.id, &email, address).await?;
    let found = A::find_by_email(store, &org.id, &email).await?;
    let verified = password_matches(password, found.as_ref().map(|f| f.value.password_hash().to_string())).await?;
    let Some(found) = found.filter(|_| verified) else {
        tracing::info!(org = %org.id, "{} login failed", A::KIND);
        return Err(ServiceError::InvalidCredentials);
    };
    let holder = found.value;
    if let Some(refusal) = holder.refusal() {
        attempt.give_back(state).await?;
        return Err(refusal);
    }
    let mut known = sessions::known_addresses(store, &org.id, account(&holder)).await?;
    let new_address = known.value.remember(token_hash(&address.to_string()));
    let (token, token_hash) = new_session_token::<A>(&org.id, holder.id());
    let expires_at = now_epoch() + A::session_ttl_secs(state, org);
    let session = Session {
        account_id: holder.id().to_string(),
        created_at: now_rfc3339(),
        expires_at,
        started_at: now_epoch_millis(),
    };
    let mut writes = vec![
        holder.unchanged(found.version),
        sessions::remember_addresses(&org.id, account(&holder), &known.value, known.version),
        sessions::start(&org.id, &token_hash, account(&holder), &session),
    ];
    writes.extend(attempt.clear());
    let suspicious = new_address && attempt.earlier_failures > 0;
    if suspicious {
        let event = state.raise(&org.id, holder.suspicious_login(attempt.earlier_failures, address));
        writes.push(event_write(&event));
    }
    store.transact(writes).await.or_changed_meanwhile("account")?;
    attempt.give_back_source(state).await?;
    tracing::info!(org = %org.id, account = %holder.id(), suspicious, "{} logged in", A::KIND);
    Ok(LoggedIn {
        token,
        expires_at,
        account: holder,
    })
}

/// Logs an account of kind `A` into the organisation named `org`, if it takes such logins.
pub(crate) async fn login<A: Holder>(
    state: &AppState,
    org: &str,
    address: IpAddr,
    input: LoginInput,
) -> Result<LoggedIn<A>, ServiceError> {
    let org = load_org_named(state, org).await?;
    A::logins_open(&org)?;
    log_in(state, &org, address, input).await
}

/// Whether `password` matches the stored `hash` (none: no such account, or no password chosen yet),
/// doing the same work in every case so timing tells nothing.
async fn password_matches(password: String, hash: Option<String>) -> Result<bool, ServiceError> {
    blocking(
        move || match (Password::parse(&password), hash.filter(|h| !h.is_empty())) {
            (Ok(p), Some(h)) => p.verify(&h),
            (Ok(p), None) => {
                p.verify_against_nothing();
                false
            }
            (Err(_), _) => {
                Password::parse("the same work either way")
                    .expect("long enough")
                    .verify_against_nothing();
                false
            }
        },
    )
    .await
}

/// A live session: its organisation, its account as it is now, and the token's hash.
pub(crate) struct Live<A> {
    pub org: OrgId,
    pub account: A,
    pub token_hash: String,
}

/// The account holding `token`, when it is a live session of the organisation named `path_org`:
/// the session exists and has not expired, the account is active, and the session began after the
/// account's last password, status or role change (so no session outlives one, however its record
/// is found and deleted). A valid token of another organisation is a 404.
pub(crate) async fn session<A: Holder>(state: &AppState, token: &str, path_org: &str) -> Result<Live<A>, ServiceError> {
    let mut pieces = token
        .strip_prefix(A::SESSION_PREFIX)
        .ok_or(ServiceError::Unauthorized)?
        .splitn(3, '.');
    let (Some(org), Some(id), Some(_)) = (pieces.next(), pieces.next(), pieces.next()) else {
        return Err(ServiceError::Unauthorized);
    };
    let org = OrgId::parse(org).map_err(|_| ServiceError::Unauthorized)?;
    let id = A::parse_id(id).ok_or(ServiceError::Unauthorized)?;
    let hash = token_hash(token);
    let store = state.store.as_ref();
    let (session, found) = futures::try_join!(
        sessions::find(store, &org, A::account_of(&id), &hash),
        A::get(store, &org, &id)
    )?;
    let (session, found) = session.zip(found).ok_or(ServiceError::Unauthorized)?;
    let holder = found.value;
    if session.started_at <= holder.sessions_valid_after() || holder.refusal().is_some() {
        return Err(ServiceError::Unauthorized);
    }
    if org.as_str() != path_org {
        return Err(ServiceError::NotFound("organisation"));
    }
    Ok(Live {
        org,
        account: holder,
        token_hash: hash,
    })
}

/// A caller in their own account's session: a developer's, or an admin user's.
#[async_trait]
pub(crate) trait OwnSession: Send + Sync {
    type Account: Holder;
    /// What the account may change of itself.
    type ProfileInput: serde::de::DeserializeOwned + Send;

    /// The organisation, the account's id and the session token's hash; 403 for a caller that is
    /// no account (an admin key).
    fn own(&self) -> Result<(&OrgId, &<Self::Account as Holder>::Id, &str), ServiceError>;

    /// Changes the account's own profile.
    async fn edit_profile(&self, state: &AppState, input: Self::ProfileInput) -> Result<Self::Account, ServiceError>;
}

/// The caller's own account, as it is now (401 once it is gone).
pub(crate) async fn own_account<S: OwnSession>(state: &AppState, session: &S) -> Result<S::Account, ServiceError> {
    let (org, id, _) = session.own()?;
    Ok(S::Account::get(state.store.as_ref(), org, id)
        .await?
        .ok_or(ServiceError::Unauthorized)?
        .value)
}

/// Ends the caller's session.
pub(crate) async fn log_out<S: OwnSession>(state: &AppState, session: &S) -> Result<(), ServiceError> {
    let (org, _, token_hash) = session.own()?;
    state.store.transact(vec![sessions::end(org, token_hash)]).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestInput {
    pub email: Option<String>,
}

/// Mails a reset link if an active account has this email (or what the account's state calls for
/// instead); the same `Ok(())`, after the same time, either way. Counted per source address; the
/// emails per recipient (`limits::withhold_email`).
pub(crate) async fn request_reset<A: Holder>(
    state: &AppState,
    org: &str,
    source: IpAddr,
    input: ResetRequestInput,
) -> Result<(), ServiceError> {
    let floor = ResponseFloor::start(state);
    let org = load_org_named(state, org).await?;
    let mut errors = ValidationErrors::default();
    let email =
        required(&mut errors, "email", input.email.as_deref()).and_then(|e| errors.check("email", Email::parse(e)));
    let Some(email) = email else {
        return Err(errors.into());
    };
    limits::per_source(state, &org, Limit::ResetRequestsPerSource, source).await?;
    let found = A::find_by_email(state.store.as_ref(), &org.id, &email).await?;
    // The link is made either way, so both paths do the same work up to the write.
    let link = PasswordLink::new(state, &org, org.settings.password_reset_ttl_secs, A::RESET_PAGE);
    if let Some(holder) = found.map(|f| f.value).filter(|h| h.refusal().is_none()) {
        let writes = holder.reset_requested(state, &org, &link);
        if !writes.is_empty() {
            state.store.transact(writes).await?;
            tracing::info!(org = %org.id, account = %holder.id(), "{} password reset requested", A::KIND);
        }
    }
    floor.wait().await;
    Ok(())
}

/// A one-use link to choose a password (a reset, or an invitation's first password): 256 random
/// bits, stored only as a hash, expiring, and dead once the account's password, status or email
/// changes after it was made; the link itself travels sealed inside the event that mails it.
pub(crate) struct PasswordLink {
    token: Secret,
    pub(crate) url: String,
    pub(crate) expires_at: i64,
    issued_at: i64,
    ttl_secs: i64,
    /// A link that confirms an address instead of setting a password.
    confirms_email: bool,
}

/// How long an email confirmation link works.
const CONFIRMATION_TTL_SECS: i64 = 7 * 86_400;

impl PasswordLink {
    /// A link to `page` of the organisation's portal (`reset-password`, `admin/accept-invitation`).
    pub(crate) fn new(state: &AppState, org: &Organisation, ttl_secs: i64, page: &str) -> Self {
        let token = new_token("gh_reset_");
        let url = state.link_base(org).link(page, &[("token", token.expose())]);
        Self {
            token,
            url,
            expires_at: now_epoch() + ttl_secs,
            issued_at: now_epoch_millis(),
            ttl_secs,
            confirms_email: false,
        }
    }

    /// A one-use link to the portal's `confirm-email` page, confirming the account's address; it
    /// dies like a password link when the account's password, status or email changes.
    pub(crate) fn confirmation(state: &AppState, org: &Organisation) -> Self {
        Self {
            confirms_email: true,
            ..Self::new(state, org, CONFIRMATION_TTL_SECS, "confirm-email")
        }
    }

    /// How long the link works, for people ("7 days").
    pub(crate) fn expires_in(&self) -> String {
        human_duration(self.ttl_secs)
    }

    /// The token record for the account whose password the link sets.
    pub(crate) fn record(&self, org: &OrgId, account_id: &str) -> Write {
        let reset = ResetToken {
            account_id: account_id.to_string(),
            expires_at: self.expires_at,
            issued_at: self.issued_at,
            confirms_email: self.confirms_email,
        };
        sessions::issue_reset(org, &token_hash(self.token.expose()), &reset)
    }

    /// The token record and the event `data` that mails the link, as one account's writes.
    pub(crate) fn issue(&self, state: &AppState, org: &OrgId, account_id: &str, data: EventData) -> Vec<Write> {
        let event = state.raise(org, data);
        vec![self.record(org, account_id), event_write(&event)]
    }
}

/// "45 minutes", "1 hour", "7 days": how long a link works, for people.
pub(crate) fn human_duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s => ((s + 59) / 60, "minute"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetCompleteInput {
    pub token: Option<String>,
    pub password: Option<String>,
}

/// Sets an account's password from a one-use link (a reset, or an invitation's first password): the
/// token is used up (once, even under a race), every session and every other link of the account
/// ends, its failed logins are forgotten, and the kind's notice is raised; one transaction. Counted
/// per source address (`Limit::PasswordLinksPerSource`).
pub(crate) async fn set_password<A: Holder>(
    state: &AppState,
    org: &str,
    source: IpAddr,
    purpose: LinkPurpose,
    input: ResetCompleteInput,
) -> Result<A, ServiceError> {
    let org = load_org_named(state, org).await?;
    let mut errors = ValidationErrors::default();
    let token = required(&mut errors, "token", input.token.as_deref()).map(str::to_string);
    let password = required(&mut errors, "password", input.password.as_deref())
        .and_then(|p| errors.check("password", Password::parse(p)));
    let (Some(token), Some(password)) = (token, password) else {
        return Err(errors.into());
    };
    limits::per_source(state, &org, Limit::PasswordLinksPerSource, source).await?;
    let (found, use_up) = redeem_link::<A>(state, &org.id, &token, false).await?;
    let mut holder = found.value;
    if !holder.takes_link(purpose) {
        return Err(link_invalid());
    }
    let password_hash = blocking(move || password.hash()).await?;
    holder.set_password(password_hash, now_epoch_millis());
    let mut writes = vec![holder.save(found.version), use_up];
    writes.extend(sessions::end_all(state.store.as_ref(), &org.id, account(&holder)).await?);
    writes.push(limits::clear_login_failures(&org.id, holder.email()));
    if let Some(notice) = holder.password_set(purpose) {
        writes.push(event_write(&state.raise(&org.id, notice)));
    }
    state.store.transact(writes).await.map_err(link_used_meanwhile)?;
    tracing::info!(org = %org.id, account = %holder.id(), ?purpose, "{} password set from a link", A::KIND);
    Ok(holder)
}

fn link_invalid() -> ServiceError {
    ServiceError::invalid("token", "is invalid, used or expired")
}

/// The error of a redeeming transaction: a failed condition means the link was used (or its
/// account changed) meanwhile, which the caller sees as an invalid token.
pub(crate) fn link_used_meanwhile(e: StoreError) -> ServiceError {
    match e {
        StoreError::ConditionFailed { .. } => link_invalid(),
        e => e.into(),
    }
}

/// The account a live one-use link belongs to, read with its version, and the write that uses the
/// link up (for the redeeming transaction). 400 naming `token` for a link that is unknown, used,
/// expired, of the other kind (a confirmation link where a password link is wanted, or the
/// reverse), or made before the account's last password, status or email change.
pub(crate) async fn redeem_link<A: Holder>(
    state: &AppState,
    org: &OrgId,
    token: &str,
    confirms_email: bool,
) -> Result<(Versioned<A>, Write), ServiceError> {
    let store = state.store.as_ref();
    let hash = token_hash(token);
    let link = sessions::find_reset(store, org, &hash)
        .await?
        .ok_or_else(link_invalid)?;
    let id = A::parse_id(&link.account_id).ok_or_else(link_invalid)?;
    let found = A::get(store, org, &id).await?.ok_or_else(link_invalid)?;
    if link.confirms_email != confirms_email || link.issued_at <= found.value.links_valid_after() {
        return Err(link_invalid());
    }
    Ok((found, sessions::use_reset(org, &hash)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::human_duration(3600), "1 hour");
        assert_eq!(super::human_duration(7 * 86_400), "7 days");
        assert_eq!(super::human_duration(300), "5 minutes");
        assert_eq!(super::human_duration(5400), "90 minutes");
    }
}
