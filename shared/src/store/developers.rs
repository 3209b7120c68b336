//! Developer accounts, with the guard item that keeps emails unique per organisation and the GSI1
//! attributes that make them searchable by email prefix.

use serde_json::{json, Map, Value};

use super::outbox::event_write;
use super::Versioned;
use super::{sessions, table_keys, to_attrs, Condition, Key, Store, StoreError, Write, GSI1PK, GSI1SK};
use crate::domain::{Developer, DeveloperId, Email, Event, OrgId};

#[derive(Debug, PartialEq, Eq)]
pub enum SignUpOutcome {
    Created,
    /// An account with this email (in any case) exists in the organisation; nothing was written.
    EmailTaken,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("another account has this email")]
    EmailTaken,
    #[error("changed by someone else meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn record(developer: &Developer) -> super::Record {
    let mut attrs = to_attrs(developer);
    attrs.insert(GSI1PK.into(), json!(table_keys::developer_search_pk(&developer.org_id)));
    attrs.insert(
        GSI1SK.into(),
        json!(table_keys::developer_search_sk(
            &developer.email.normalized(),
            &developer.id
        )),
    );
    table_keys::developer(&developer.org_id, &developer.id).record(attrs)
}

fn guard(developer: &Developer) -> super::Record {
    table_keys::developer_email(&developer.org_id, &developer.email.normalized())
        .record(Map::from_iter([("developer_id".to_string(), json!(developer.id))]))
}

/// Writes the developer, its email guard, the event and `extra` writes in one transaction.
pub async fn create(
    store: &dyn Store,
    developer: &Developer,
    event: &Event,
    extra: Vec<Write>,
) -> Result<SignUpOutcome, StoreError> {
    // A read first: a duplicate is then refused without a cancelled transaction, which DynamoDB
    // bills as a full write of every item. The guard's condition still settles a race.
    if store
        .get(&table_keys::developer_email(
            &developer.org_id,
            &developer.email.normalized(),
        ))
        .await?
        .is_some()
    {
        return Ok(SignUpOutcome::EmailTaken);
    }
    let writes = vec![
        Write::put(guard(developer), Condition::NotExists),
        Write::put_versioned(record(developer), 0),
        event_write(event),
    ]
    .into_iter()
    .chain(extra)
    .collect();
    match store.transact(writes).await {
        Ok(()) => Ok(SignUpOutcome::Created),
        Err(StoreError::ConditionFailed { index: Some(0) }) => Ok(SignUpOutcome::EmailTaken),
        Err(e) => Err(e),
    }
}

pub async fn get(store: &dyn Store, org: &OrgId, id: &DeveloperId) -> Result<Option<Versioned<Developer>>, StoreError> {
    super::get_versioned(store, &table_keys::developer(org, id)).await
}

pub async fn find_by_email(
    store: &dyn Store,
    org: &OrgId,
    email: &Email,
) -> Result<Option<Versioned<Developer>>, StoreError> {
    let Some(guard) = store
        .get(&table_keys::developer_email(org, &email.normalized()))
        .await?
    else {
        return Ok(None);
    };
    let Some(id) = guard
        .get("developer_id")
        .and_then(Value::as_str)
        .and_then(DeveloperId::parse)
    else {
        return Err(StoreError::Invalid("an email guard without a developer id".into()));
    };
    get(store, org, &id).await
}

/// Saves a changed developer read at `version`, moving the email guard when the email changed, with
/// `extra` writes (sessions ended, tokens used) and the events the change raises, all or nothing.
pub async fn save(
    store: &dyn Store,
    developer: &Developer,
    version: u64,
    previous_email: &Email,
    extra: Vec<Write>,
    events: &[Event],
) -> Result<(), SaveError> {
    let mut writes = vec![Write::put_versioned(record(developer), version)];
    let email_changed = previous_email.normalized() != developer.email.normalized();
    if email_changed {
        writes.push(Write::put(guard(developer), Condition::NotExists));
        writes.push(Write::Delete {
            key: table_keys::developer_email(&developer.org_id, &previous_email.normalized()),
            condition: Condition::None,
        });
    }
    writes.extend(extra);
    writes.extend(events.iter().map(event_write));
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { index: Some(1) }) if email_changed => Err(SaveError::EmailTaken),
        Err(StoreError::ConditionFailed { .. }) => Err(SaveError::Conflict),
        Err(e) => Err(e.into()),
    }
}

/// The write that saves a developer read at `version` whose email did not change, for a
/// transaction of the caller's.
pub fn save_unmoved(developer: &Developer, version: u64) -> Write {
    Write::put_versioned(record(developer), version)
}

/// Removes the account with its email guard, sessions, known addresses and pending-request list,
/// and the change's other writes (`also`: its audit entry), in one transaction.
pub async fn delete(
    store: &dyn Store,
    developer: &Developer,
    version: u64,
    event: &Event,
    also: Vec<Write>,
) -> Result<(), SaveError> {
    let mut writes = vec![
        Write::Delete {
            key: table_keys::developer(&developer.org_id, &developer.id),
            condition: Condition::Version(version),
        },
        Write::Delete {
            key: table_keys::developer_email(&developer.org_id, &developer.email.normalized()),
            condition: Condition::None,
        },
    ];
    let account = sessions::Account::Developer(&developer.id);
    writes.extend(sessions::end_all(store, &developer.org_id, account).await?);
    writes.push(sessions::forget_addresses(&developer.org_id, account));
    writes.push(super::preferences::forget(&developer.org_id, account));
    writes.push(super::pending_requests::forget(&developer.org_id, &developer.id));
    writes.push(event_write(event));
    writes.extend(also);
    match store.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { .. }) => Err(SaveError::Conflict),
        Err(e) => Err(e.into()),
    }
}

/// Developers whose email starts with `prefix` (any case), in email order, a page at a time.
pub async fn search(
    store: &dyn Store,
    org: &OrgId,
    prefix: &str,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Developer>, Option<String>), StoreError> {
    let page = store
        .query_gsi1(
            &table_keys::developer_search_pk(org),
            &prefix.to_lowercase(),
            cursor,
            limit,
        )
        .await?;
    page.decode()
}

/// A check that the developer is still at `version`, for a transaction that depends on the account
/// without changing it.
pub fn unchanged(developer: &Developer, version: u64) -> Write {
    Write::Check {
        key: key(developer),
        condition: Condition::Version(version),
    }
}

/// [`unchanged`] for a transaction that issues the developer a key whose item by hash carries their
/// status: a removal deletes the account before its keys, and a status change bumps its version,
/// so an issue racing either lands first (and its key is removed or rewritten with the others) or
/// fails here.
pub fn holds_keys_as_read(developer: &Versioned<Developer>) -> Write {
    unchanged(&developer.value, developer.version)
}

/// The key of a developer, for callers composing their own writes.
pub fn key(developer: &Developer) -> Key {
    table_keys::developer(&developer.org_id, &developer.id)
}
