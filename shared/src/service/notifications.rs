//! A person's notifications: their in-app inbox (newest first, the unread count, marking read, one or
//! all, and archiving; items are put by the event router) and their preferences per category and
//! type. A person reads only their own (anything else is 404).

use super::auth::{DeveloperSession, OrgAdmin};
use super::{AppState, Paged, ServiceError};
use crate::domain::notifications::{
    resolve, Audience, Category, Channel, NotificationType, Preferences, Resolution, Switches, TYPES,
};
use crate::domain::{EventId, OrgId};
use crate::store::inbox::{self, InboxItem};
use crate::store::preferences;
use crate::store::sessions::Account;
use crate::store::{StoreError, Versioned};

/// How many items the unread count and "mark all read" look at, newest first.
pub const MAX_COUNTED: usize = 1_000;

/// Whose notifications and preferences these are: a developer or an admin user.
pub struct Recipient<'a> {
    org: &'a OrgId,
    person: Account<'a>,
}

impl<'a> Recipient<'a> {
    pub fn of_developer(session: &'a DeveloperSession) -> Self {
        Self {
            org: &session.org,
            person: Account::Developer(&session.developer),
        }
    }

    /// An admin user's inbox; an admin key has none (403).
    pub fn of_admin(admin: &'a OrgAdmin) -> Result<Self, ServiceError> {
        let (id, _) = admin
            .session
            .as_ref()
            .ok_or_else(|| ServiceError::Forbidden("an admin key has no inbox; log in as an admin user".into()))?;
        Ok(Self {
            org: &admin.org,
            person: Account::Admin(id),
        })
    }
}

/// Which items a page shows: by default those not archived.
#[derive(Debug, Default, Clone, Copy)]
pub struct Filters {
    /// `true`: only unread items.
    pub unread: Option<bool>,
    /// `true`: only archived items; otherwise only those not archived.
    pub archived: Option<bool>,
}

impl Filters {
    fn admit(&self, item: &InboxItem) -> bool {
        item.archived == self.archived.unwrap_or(false)
            && (self.unread != Some(true) || !item.read)
            && (self.unread != Some(false) || item.read)
    }
}

fn bad_cursor(e: StoreError) -> ServiceError {
    match e {
        StoreError::Invalid(_) => ServiceError::invalid("cursor", "is not a cursor from this list"),
        e => e.into(),
    }
}

/// A page of the inbox, newest first, filtered after reading (a page may hold fewer than `limit`
/// items while more follow).
pub async fn list(
    state: &AppState,
    inbox: &Recipient<'_>,
    filters: Filters,
    after: Option<&str>,
    limit: usize,
) -> Result<Paged<InboxItem>, ServiceError> {
    let (items, next) = inbox::page(state.store.as_ref(), inbox.org, inbox.person, after, limit)
        .await
        .map_err(bad_cursor)?;
    Ok((
        items
            .into_iter()
            .map(|i| i.value)
            .filter(|i| filters.admit(i))
            .collect(),
        next,
    ))
}

/// The newest [`MAX_COUNTED`] items, with their versions.
async fn newest(state: &AppState, inbox: &Recipient<'_>) -> Result<Vec<Versioned<InboxItem>>, ServiceError> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = inbox::page(state.store.as_ref(), inbox.org, inbox.person, after.as_deref(), 100).await?;
        items.extend(page);
        match next {
            Some(n) if items.len() < MAX_COUNTED => after = Some(n),
            _ => return Ok(items),
        }
    }
}

/// Unread items not archived, among the newest [`MAX_COUNTED`]; `true` when there may be more.
pub async fn unread_count(state: &AppState, inbox: &Recipient<'_>) -> Result<(usize, bool), ServiceError> {
    let items = newest(state, inbox).await?;
    let more = items.len() >= MAX_COUNTED;
    Ok((
        items.iter().filter(|i| !i.value.read && !i.value.archived).count(),
        more,
    ))
}

async fn change(
    state: &AppState,
    inbox: &Recipient<'_>,
    id: &str,
    apply: impl Fn(&mut InboxItem),
) -> Result<InboxItem, ServiceError> {
    let id = EventId::parse(id).ok_or(ServiceError::NotFound("notification"))?;
    let store = state.store.as_ref();
    for _ in 0..3 {
        let found = inbox::get(store, inbox.org, inbox.person, &id)
            .await?
            .ok_or(ServiceError::NotFound("notification"))?;
        let mut item = found.value.clone();
        apply(&mut item);
        if item == found.value {
            return Ok(item);
        }
        let write =
            inbox::save(inbox.org, inbox.person, &item, found.version).ok_or(ServiceError::NotFound("notification"))?;
        match store.transact(vec![write]).await {
            Ok(()) => return Ok(item),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::conflict("id", "changed at the same time; try again"))
}

pub async fn mark_read(state: &AppState, inbox: &Recipient<'_>, id: &str) -> Result<InboxItem, ServiceError> {
    change(state, inbox, id, |i| i.read = true).await
}

/// Archived items leave the inbox's default view; archiving marks them read too.
pub async fn archive(state: &AppState, inbox: &Recipient<'_>, id: &str) -> Result<InboxItem, ServiceError> {
    change(state, inbox, id, |i| {
        i.archived = true;
        i.read = true;
    })
    .await
}

/// Marks every unread item among the newest [`MAX_COUNTED`] read; how many changed.
pub async fn mark_all_read(state: &AppState, inbox: &Recipient<'_>) -> Result<usize, ServiceError> {
    let mut changed = 0;
    for found in newest(state, inbox).await?.into_iter().filter(|i| !i.value.read) {
        let mut item = found.value;
        item.read = true;
        let Some(write) = inbox::save(inbox.org, inbox.person, &item, found.version) else {
            continue;
        };
        match state.store.transact(vec![write]).await {
            // Changed meanwhile (read or archived by another request): it is read either way.
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => changed += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(changed)
}

/// A notification type as a person's preferences leave it: whether it reaches them on each channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Effective {
    pub name: &'static str,
    pub category: Category,
    /// Locked on: no preference turns it off.
    pub critical: bool,
    pub email: bool,
    pub in_app: bool,
}

/// The person's choices and what they add up to with the organisation's switches.
pub async fn preferences(
    state: &AppState,
    person: &Recipient<'_>,
) -> Result<(Preferences, Vec<Effective>), ServiceError> {
    let store = state.store.as_ref();
    let (org, chosen) = futures::try_join!(async { super::load_org_recent(state, person.org).await }, async {
        preferences::get(store, person.org, person.person)
            .await
            .map_err(ServiceError::from)
    })?;
    let effective = effective(person, &org.notification_switches, &chosen.value);
    Ok((chosen.value, effective))
}

/// What each type that can reach the person adds up to.
fn effective(person: &Recipient<'_>, switches: &Switches, chosen: &Preferences) -> Vec<Effective> {
    let on = |t: &NotificationType, c: Channel| resolve(t, c, switches, Some(chosen)) == Resolution::Send;
    let developer = matches!(person.person, Account::Developer(_));
    TYPES
        .iter()
        .filter(|t| t.is_personal() && (t.audience == Audience::Developer) == developer)
        .map(|t| Effective {
            name: t.name,
            category: t.category,
            critical: t.critical,
            email: on(t, Channel::Email),
            in_app: on(t, Channel::InApp),
        })
        .collect()
}

/// Replaces the person's preferences (`{categories, types}`); unknown names and a critical type
/// turned off are 400 naming the field, and change nothing.
pub async fn set_preferences(
    state: &AppState,
    person: &Recipient<'_>,
    input: &serde_json::Value,
) -> Result<(Preferences, Vec<Effective>), ServiceError> {
    let mut errors = crate::domain::ValidationErrors::default();
    let Some(chosen) = Preferences::parse(input, &mut errors) else {
        return Err(errors.into());
    };
    if matches!(person.person, Account::Developer(_)) {
        super::digests::refuse_for_developers(&chosen)?;
    }
    let org = super::load_org(state, person.org).await?;
    let saved = change_preferences(state, person.org, person.person, |_| Ok(chosen.clone())).await?;
    let effective = effective(person, &org.notification_switches, &saved);
    Ok((saved, effective))
}

/// Turns the person's email preference for type `t` off (a one-click unsubscribe), leaving every
/// other choice as it is; the preference page then shows it.
pub(crate) async fn turn_email_off(
    state: &AppState,
    org: &OrgId,
    person: Account<'_>,
    t: &NotificationType,
) -> Result<(), ServiceError> {
    change_preferences(state, org, person, |current| {
        let mut chosen = current.clone();
        chosen.types.entry(t.name.to_string()).or_default().email = Some(false);
        Ok(chosen)
    })
    .await
    .map(|_| ())
}

/// Saves what `change` makes of the person's preferences as stored, with the digest windows a new
/// digest choice starts, in one transaction; retried when they changed meanwhile.
async fn change_preferences(
    state: &AppState,
    org: &OrgId,
    person: Account<'_>,
    change: impl Fn(&Preferences) -> Result<Preferences, ServiceError>,
) -> Result<Preferences, ServiceError> {
    let store = state.store.as_ref();
    for _ in 0..3 {
        let current = preferences::get(store, org, person).await?;
        let chosen = change(&current.value)?;
        let mut writes = vec![preferences::save(org, person, &chosen, current.version)];
        if let Account::Admin(admin) = person {
            writes.extend(super::digests::start_windows(store, org, admin, &current.value, &chosen).await?);
        }
        match store.transact(writes).await {
            Ok(()) => return Ok(chosen),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::conflict(
        "preferences",
        "changed at the same time; try again",
    ))
}
