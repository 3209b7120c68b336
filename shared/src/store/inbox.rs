//! In-app notifications: each person's inbox is a partition of its own
//! (`ORG#{org}#INBOX#{developer or admin}`), its items sorted newest first by a sort key made from
//! the event's time-ordered id. An item is put only if it is not there (a stream batch routed twice
//! shows it once), and expires after the organisation's retention.

use serde::{Deserialize, Serialize};

use super::sessions::Account;
use super::{from_record, get_versioned, table_keys, to_attrs, version_of, Store, StoreError, Versioned, Write};
use crate::domain::notifications::Category;
use crate::domain::EventId;
use crate::domain::OrgId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    /// The event's id: one item per event and person.
    pub id: EventId,
    /// The notification type (`key_approved`, …).
    #[serde(rename = "type")]
    pub notification_type: String,
    pub category: Category,
    pub title: String,
    /// Plain text.
    pub body: String,
    pub link: String,
    pub created_at: String,
    pub read: bool,
    pub archived: bool,
    /// Epoch seconds; the table's TTL removes the item after it.
    pub expires_at: i64,
}

/// The sort key of an event's item: newest first, then by id.
fn sort_key(id: &EventId) -> Option<String> {
    let ulid = ulid::Ulid::from_string(id.as_str().strip_prefix("evt_")?).ok()?;
    Some(format!(
        "{}{:015}#{id}",
        table_keys::INBOX_ITEM_PREFIX,
        999_999_999_999_999u64.saturating_sub(ulid.timestamp_ms())
    ))
}

fn key(org: &OrgId, person: Account, id: &EventId) -> Option<super::Key> {
    Some(super::Key::new(table_keys::inbox_pk(org, person.id()), sort_key(id)?))
}

/// The write that puts a new item in `person`'s inbox, unless it is there already.
pub fn put_new(org: &OrgId, person: Account, item: &InboxItem) -> Option<Write> {
    // Version 0 expected: the put is refused if the item exists.
    Some(Write::put_versioned(
        key(org, person, &item.id)?.record(to_attrs(item)),
        0,
    ))
}

pub async fn get(
    store: &dyn Store,
    org: &OrgId,
    person: Account<'_>,
    id: &EventId,
) -> Result<Option<Versioned<InboxItem>>, StoreError> {
    match key(org, person, id) {
        Some(key) => get_versioned(store, &key).await,
        None => Ok(None),
    }
}

/// The write that saves a changed item read at `version` (read or archived).
pub fn save(org: &OrgId, person: Account, item: &InboxItem, version: u64) -> Option<Write> {
    let record = key(org, person, &item.id)?.record(to_attrs(item));
    Some(Write::put_versioned(record, version))
}

/// A page of `person`'s inbox, newest first, each item with its version.
pub async fn page(
    store: &dyn Store,
    org: &OrgId,
    person: Account<'_>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Versioned<InboxItem>>, Option<String>), StoreError> {
    let page = store
        .query(
            &table_keys::inbox_pk(org, person.id()),
            table_keys::INBOX_ITEM_PREFIX,
            after,
            limit,
        )
        .await?;
    let mut items = Vec::with_capacity(page.records.len());
    for record in page.records {
        let version = version_of(&record);
        items.push(Versioned {
            value: from_record(record)?,
            version,
        });
    }
    Ok((items, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_items_sort_first() {
        let older = EventId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let newer = EventId::generate();
        assert!(sort_key(&newer).unwrap() < sort_key(&older).unwrap());
        // Not a ULID (U is outside Crockford base 32): no key, so the item is never written.
        assert!(sort_key(&EventId::parse("evt_uuuuuuuuuuuuuuuuuuuuuuuuuu").unwrap()).is_none());
    }
}
