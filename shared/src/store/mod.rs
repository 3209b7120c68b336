//! The store port: one table of records addressed by a partition key (`PK`) and a sort key (`SK`),
//! read one at a time or by key prefix, and written in all-or-nothing transactions with conditions.
//! The entity modules (`orgs`, `developers`, `sessions`, `resources`, `deliveries`, `endpoints`,
//! `suppression`, `rate_counters`, `pending_requests`) map domain types to records, `outbox` writes events, and every key and key prefix
//! is built in `table_keys`; the adapters (`dynamo`, `memory`) know nothing of the domain. Every key of
//! an organisation's records starts with the organisation, so no query can cross two organisations;
//! the one global partition (the suppression list) holds addresses, not an organisation's data.

pub mod admin_users;
pub mod allowances;
pub mod audit;
pub mod deliveries;
pub mod developers;
pub mod digests;
mod dynamo;
pub mod endpoints;
pub mod inbox;
pub mod key_hashes;
pub mod mail_stats;
mod memory;
pub mod notices;
pub mod orgs;
pub mod outbox;
pub mod pending_requests;
pub mod preferences;
pub mod rate_counters;
pub mod resources;
pub mod sessions;
pub mod spend;
pub mod suppression;
pub mod table_keys;
pub mod usage;

pub use dynamo::{DynamoStore, TableSpec};
pub use memory::{ChangeRecord, MemoryStore, Partitioned};

use async_trait::async_trait;
use serde_json::{Map, Value};

/// A stored record: a JSON object holding `PK`, `SK` and the entity's attributes. Numbers, strings,
/// booleans, lists and maps survive a round trip through every adapter.
pub type Record = Map<String, Value>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// Epoch seconds after which a record is dead; DynamoDB's TTL attribute. Code checks it too,
/// because TTL deletion is lazy.
pub const EXPIRES_AT: &str = "expires_at";
/// The attributes of `GSI1`: what one developer owns, developers by email, endpoint health.
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// The attributes of `GSI2`: organisation-wide listings of records with partitions of their own,
/// spread over write shards (`table_keys::listing_shard_pk`) and sorted by time-ordered id.
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";

/// Where a GSI1 page ends: the index key and the table key of its last record, as an opaque string.
pub(crate) fn gsi1_cursor(record: &Record) -> Option<String> {
    let field = |name: &str| record.get(name).and_then(Value::as_str).map(str::to_string);
    Some(serde_json::to_string(&[field(GSI1SK)?, field(PK)?, field(SK)?]).expect("strings serialize"))
}

/// `(GSI1SK, PK, SK)` from a cursor made by [`gsi1_cursor`] for a query of `sk_prefix`.
pub(crate) fn parse_gsi1_cursor(cursor: &str, sk_prefix: &str) -> Result<(String, String, String), StoreError> {
    let [gsi_sk, pk, sk]: [String; 3] = serde_json::from_str(cursor).map_err(|_| StoreError::BadCursor)?;
    let fits = |k: &str| !k.is_empty() && k.len() <= MAX_KEY_BYTES;
    if !gsi_sk.starts_with(sk_prefix) || ![&gsi_sk, &pk, &sk].into_iter().all(|k| fits(k)) {
        return Err(StoreError::BadCursor);
    }
    Ok((gsi_sk, pk, sk))
}

/// DynamoDB's limit on a sort key, so a cursor made up by a caller never reaches the table.
const MAX_KEY_BYTES: usize = 1024;

/// Checks a table query's cursor: a sort key of the queried range.
pub(crate) fn check_sk_cursor(after: Option<&str>, sk_prefix: &str) -> Result<(), StoreError> {
    match after {
        Some(sk) if !sk.starts_with(sk_prefix) || sk.len() > MAX_KEY_BYTES => Err(StoreError::BadCursor),
        _ => Ok(()),
    }
}

/// A record as read, with the version an update must match.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// Optimistic concurrency counter written by [`Condition::Version`] updates.
pub const VERSION: &str = "version";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// This key with `attrs`: the record to put.
    pub fn record(&self, mut attrs: Record) -> Record {
        attrs.insert(PK.into(), Value::String(self.pk.clone()));
        attrs.insert(SK.into(), Value::String(self.sk.clone()));
        attrs
    }

    pub fn of(record: &Record) -> Option<Key> {
        Some(Key::new(record.get(PK)?.as_str()?, record.get(SK)?.as_str()?))
    }
}

/// What must hold for a write to happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    None,
    /// No record with this key exists (create, uniqueness guards).
    NotExists,
    /// A record with this key exists.
    Exists,
    /// The record exists and its `version` attribute is this number (optimistic update).
    Version(u64),
    /// The record is absent, lacks the number attribute `attr`, or holds at most `max` in it (a
    /// counter that may grow by `limit - max` without passing `limit`).
    AtMost {
        attr: &'static str,
        max: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        record: Record,
        condition: Condition,
    },
    Delete {
        key: Key,
        condition: Condition,
    },
    /// Writes nothing: the transaction happens only if `condition` holds for the record at `key`
    /// (DynamoDB's `ConditionCheck`).
    Check {
        key: Key,
        condition: Condition,
    },
    /// Changes the named attributes of the record at `key` (made if absent, unless `condition` says
    /// otherwise), leaving the others as they are: `set` replaces values, `add` adds to numbers
    /// (DynamoDB's `UpdateItem` with `SET` and `ADD`). For counters written without a read and for
    /// items that several transactions each own a part of.
    Update {
        key: Key,
        set: Record,
        add: Vec<(&'static str, i64)>,
        condition: Condition,
    },
}

impl Write {
    pub fn put(record: Record, condition: Condition) -> Self {
        Write::Put { record, condition }
    }

    /// A put that bumps `version` from `expected` (0 = create) and is refused if someone else got there
    /// first.
    pub fn put_versioned(mut record: Record, expected: u64) -> Self {
        record.insert(VERSION.into(), Value::from(expected + 1));
        let condition = if expected == 0 {
            Condition::NotExists
        } else {
            Condition::Version(expected)
        };
        Write::Put { record, condition }
    }

    pub fn key(&self) -> Option<Key> {
        match self {
            Write::Put { record, .. } => Key::of(record),
            Write::Delete { key, .. } | Write::Check { key, .. } | Write::Update { key, .. } => Some(key.clone()),
        }
    }

    /// The key written or checked and the condition it must meet.
    pub(crate) fn condition(&self) -> Option<(Key, &Condition)> {
        match self {
            Write::Put { record, condition } => Some((Key::of(record)?, condition)),
            Write::Delete { key, condition }
            | Write::Check { key, condition }
            | Write::Update { key, condition, .. } => Some((key.clone(), condition)),
        }
    }
}

/// The record an [`Write::Update`] leaves: `current` (or a new record at `key`) with `set`'s values
/// and `add`'s amounts added to what the numbers held (0 when absent).
pub(crate) fn updated(key: &Key, current: Option<&Record>, set: &Record, add: &[(&'static str, i64)]) -> Record {
    let mut record = current.cloned().unwrap_or_else(|| key.record(Record::new()));
    for (name, value) in set {
        record.insert(name.clone(), value.clone());
    }
    for (name, amount) in add {
        let was = record.get(*name).and_then(Value::as_i64).unwrap_or(0);
        record.insert((*name).to_string(), Value::from(was + amount));
    }
    record
}

/// A page of records in sort-key order, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The last sort key of this page when more may follow; pass it as `after`.
    pub next: Option<String>,
}

impl Page {
    /// The page's records as `T`s, with the cursor of the next page.
    pub fn decode<T: serde::de::DeserializeOwned>(self) -> Result<(Vec<T>, Option<String>), StoreError> {
        let items = self.records.into_iter().map(from_record).collect::<Result<_, _>>()?;
        Ok((items, self.next))
    }

    /// A page from up to `limit + 1` records read in order: the extra one only says that more follow,
    /// and `cursor` gives the position of the page's last record.
    pub(crate) fn from_overfetch(
        mut records: Vec<Record>,
        limit: usize,
        cursor: impl Fn(&Record) -> Option<String>,
    ) -> Self {
        let more = records.len() > limit;
        records.truncate(limit);
        let next = if more { records.last().and_then(cursor) } else { None };
        Page { records, next }
    }
}

/// The cursor of a table query: the last sort key.
pub(crate) fn sk_cursor(record: &Record) -> Option<String> {
    Key::of(record).map(|k| k.sk)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition failed; `index` is the failing write's position in the transaction when known.
    #[error("condition failed on write {index:?}")]
    ConditionFailed { index: Option<usize> },
    #[error("invalid write: {0}")]
    Invalid(String),
    /// A page cursor that no query of this list made (a caller's cursor is only ever passed back).
    #[error("not a cursor of this list")]
    BadCursor,
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    /// A strongly consistent read of one record.
    async fn get(&self, key: &Key) -> Result<Option<Record>, StoreError>;

    /// A read of one record that may miss a write of the last second (half the price of [`get`] in
    /// DynamoDB): for what a delivery checks where a moment's staleness is harmless.
    ///
    /// [`get`]: Store::get
    async fn get_eventually(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        self.get(key).await
    }

    /// Records of partition `pk` whose sort key starts with `sk_prefix`, in order, after `after`.
    async fn query(&self, pk: &str, sk_prefix: &str, after: Option<&str>, limit: usize) -> Result<Page, StoreError>;

    /// Records whose `GSI1PK` is `pk` and whose `GSI1SK` starts with `sk_prefix`, in `GSI1SK` order,
    /// after the cursor `after` (a previous page's `next`). Eventually consistent in DynamoDB.
    async fn query_gsi1(
        &self,
        pk: &str,
        sk_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError>;

    /// Records whose `GSI2PK` is `pk`, in `GSI2SK` order (descending when `newest_first`), strictly
    /// after `after` in that order; at most `limit`. Eventually consistent in DynamoDB.
    async fn query_gsi2(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Records of partition `pk`, in sort-key order (descending when `newest_first`), strictly after
    /// the sort key `after` in that order; at most `limit`. Eventually consistent in DynamoDB.
    async fn query_sorted(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// All writes happen or none does (at most 100, each key once).
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
}

/// Whether `condition` holds for the record as it is now (`None`: absent).
pub(crate) fn holds(condition: &Condition, current: Option<&Record>) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Version(v) => current.is_some_and(|r| version_of(r) == *v),
        Condition::AtMost { attr, max } => current
            .and_then(|r| r.get(*attr))
            .and_then(Value::as_i64)
            .is_none_or(|n| n <= *max),
    }
}

/// The version a record carries (0 when it has none).
pub fn version_of(record: &Record) -> u64 {
    record.get(VERSION).and_then(Value::as_u64).unwrap_or(0)
}

/// True when a record's `expires_at` has passed: expiring records are dead from then on, whatever
/// TTL clean-up has or has not done yet.
pub fn is_expired(record: &Record, now_epoch: i64) -> bool {
    record
        .get(EXPIRES_AT)
        .and_then(Value::as_i64)
        .is_some_and(|t| t <= now_epoch)
}

/// The record at `key` as a `T`, with the version an update must match.
pub async fn get_versioned<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    key: &Key,
) -> Result<Option<Versioned<T>>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(record) => {
            let version = version_of(&record);
            Ok(Some(Versioned {
                value: from_record(record)?,
                version,
            }))
        }
    }
}

/// The attributes that list a record in shard `shard_of(id)` of the organisation's `kind` listing.
pub fn listing_attrs(org: &crate::domain::OrgId, kind: &str, id: &str) -> [(String, Value); 2] {
    let shard = table_keys::shard_of(id);
    [
        (
            GSI2PK.into(),
            Value::from(table_keys::listing_shard_pk(org, kind, shard)),
        ),
        (GSI2SK.into(), Value::from(id)),
    ]
}

/// A page of the organisation's `kind` listing: every shard read after the cursor (the last id of
/// the previous page) and merged by id, so a page is in id (creation) order, newest first if asked.
/// Ids are unique and the cursor is an id, so pages neither skip nor repeat a record, whatever is
/// written meanwhile (a record written after a page was read sorts before its cursor when newest
/// first, and lands on a later page when oldest first).
pub async fn list_sharded(
    store: &dyn Store,
    org: &crate::domain::OrgId,
    kind: &str,
    after: Option<&str>,
    newest_first: bool,
    limit: usize,
) -> Result<Page, StoreError> {
    let id_prefix = table_keys::listed_id_prefix(kind);
    if after.is_some_and(|a| !a.starts_with(id_prefix) || a.len() <= id_prefix.len() || a.len() > MAX_KEY_BYTES) {
        return Err(StoreError::BadCursor);
    }
    let reads = (0..table_keys::LIST_SHARDS).map(|n| {
        let pk = table_keys::listing_shard_pk(org, kind, n);
        async move { store.query_gsi2(&pk, after, newest_first, limit + 1).await }
    });
    let records = futures::future::try_join_all(reads).await?;
    Ok(merged(records, GSI2SK, newest_first, limit))
}

/// A page of the organisation's deliveries, newest first: each of its delivery partitions read
/// after the cursor (the last id of the previous page) and merged by id, as [`list_sharded`] does;
/// with the deliveries key scheme 2 listed through GSI2 (read for one release).
pub async fn list_table_shards(
    store: &dyn Store,
    org: &crate::domain::OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<Page, StoreError> {
    let kind = table_keys::DELIVERY_KIND;
    let id_prefix = table_keys::listed_id_prefix(kind);
    if after.is_some_and(|a| !a.starts_with(id_prefix) || a.len() <= id_prefix.len() || a.len() > MAX_KEY_BYTES) {
        return Err(StoreError::BadCursor);
    }
    let reads = (0..table_keys::DELIVERY_SHARDS).map(|n| {
        let pk = table_keys::delivery_shard_pk(org, n);
        async move { store.query_sorted(&pk, after, true, limit + 1).await }
    });
    let scheme2 = (0..table_keys::LIST_SHARDS).map(|n| {
        let pk = table_keys::listing_shard_pk(org, kind, n);
        async move { store.query_gsi2(&pk, after, true, limit + 1).await }
    });
    let (mut records, scheme2) = futures::future::try_join(
        futures::future::try_join_all(reads),
        futures::future::try_join_all(scheme2),
    )
    .await?;
    records.extend(scheme2);
    Ok(merged(records, "delivery_id", true, limit))
}

/// One page from several shards' pages, ordered by the attribute `id` (unique across shards).
fn merged(shards: Vec<Vec<Record>>, id_attr: &'static str, newest_first: bool, limit: usize) -> Page {
    let mut records: Vec<Record> = shards.into_iter().flatten().collect();
    let id = |r: &Record| r.get(id_attr).and_then(Value::as_str).unwrap_or_default().to_string();
    records.sort_by_key(|r| id(r));
    if newest_first {
        records.reverse();
    }
    records.truncate(limit + 1);
    Page::from_overfetch(records, limit, |r| Some(id(r)))
}

/// Every item of a paged read, page by page: `page(after)` reads the page after the cursor.
pub async fn every_page<T, F, Fut>(mut page: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), StoreError>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (found, next) = page(after.take()).await?;
        items.extend(found);
        match next {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
}

pub fn from_record<T: serde::de::DeserializeOwned>(record: Record) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(record))
        .map_err(|e| StoreError::Invalid(format!("stored record does not decode: {e}")))
}

/// Turns an entity into record attributes.
pub fn to_attrs<T: serde::Serialize>(entity: &T) -> Record {
    match serde_json::to_value(entity).expect("domain entities serialize to JSON") {
        Value::Object(map) => map,
        other => panic!("entities serialize to JSON objects, got {other}"),
    }
}

/// Checks a transaction before any adapter runs it, so both adapters refuse the same things.
pub(crate) fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > 100 {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to 100 writes, not {}",
            writes.len()
        )));
    }
    if writes.iter().all(|w| matches!(w, Write::Check { .. })) {
        return Err(StoreError::Invalid(
            "a transaction of checks alone writes nothing".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for w in writes {
        let key = w
            .key()
            .ok_or_else(|| StoreError::Invalid("a record lacks PK or SK".into()))?;
        if !seen.insert(key.clone()) {
            return Err(StoreError::Invalid(format!(
                "key {}/{} written twice in one transaction",
                key.pk, key.sk
            )));
        }
    }
    Ok(())
}
