//! The in-process store of the embedded runner: a sorted map behind a mutex, with a change log that
//! plays the part of the DynamoDB stream (NEW_AND_OLD_IMAGES).

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

use super::{
    check_sk_cursor, gsi1_cursor, holds, parse_gsi1_cursor, sk_cursor, validate_transaction, Key, Page, Record, Store,
    StoreError, Write, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK,
};

/// Where a write lands: the table, or one of its global secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Partitioned {
    Table,
    Gsi1,
    Gsi2,
}

/// One change, as a stream record would describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// Position in the log, increasing from 1: the stream's sequence number.
    pub sequence: u64,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: &'static str,
    pub key: Key,
    /// Shared with the store's copy: a change costs no copy of the record it writes.
    pub new_image: Option<Arc<Record>>,
    pub old_image: Option<Arc<Record>>,
}

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    changed: Notify,
    /// What tests ask of it: faults to inject and reads to record.
    testing: Mutex<Testing>,
}

#[derive(Default)]
struct Testing {
    /// The next transaction writing a key whose sort key starts with this fails as unavailable.
    fail_next_writing: Option<String>,
    /// Keys of the records read, while recording.
    reads: Option<Vec<Key>>,
}

#[derive(Default)]
struct Inner {
    records: BTreeMap<Key, Arc<Record>>,
    /// The changes not yet read by the stream's one reader, oldest first; the first has sequence
    /// `forgotten + 1`. Read changes are dropped, or the log would keep every image ever written.
    log: std::collections::VecDeque<ChangeRecord>,
    /// How many changes were read and dropped from the log's front.
    forgotten: u64,
    /// Writes per partition key of the table and of each index, as DynamoDB would count them: a put
    /// or delete writes the table's partition, and each index whose key the old or new image holds
    /// (an index key that changes writes both partitions).
    /// Kept per index, so counting a partition already written looks it up without copying its key.
    writes: BTreeMap<Partitioned, std::collections::HashMap<String, u64>>,
}

impl Inner {
    fn count_writes<'a>(&mut self, key: &Key, old: Option<&'a Record>, new: Option<&'a Record>) {
        self.count_write(Partitioned::Table, &key.pk);
        for (index, attribute) in [(Partitioned::Gsi1, GSI1PK), (Partitioned::Gsi2, GSI2PK)] {
            let pk = |r: Option<&'a Record>| r.and_then(|r| r.get(attribute)).and_then(serde_json::Value::as_str);
            let (before, after) = (pk(old), pk(new));
            for pk in [before, after.filter(|a| before != Some(*a))].into_iter().flatten() {
                self.count_write(index, pk);
            }
        }
    }

    /// Counts one write of a partition, copying its key only the first time it is written.
    fn count_write(&mut self, index: Partitioned, pk: &str) {
        let partitions = self.writes.entry(index).or_default();
        match partitions.get_mut(pk) {
            Some(count) => *count += 1,
            None => {
                partitions.insert(pk.to_string(), 1);
            }
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream's read: of the (at most `scan`) changes after `sequence`, those `keep` accepts, up
    /// to `limit`, with the sequence read through (the last change looked at, kept or not); waits up
    /// to `wait` for a change if there is none. Reading after `sequence` says every change up to it is
    /// handled: those are dropped (the stream has one reader, which never rewinds before where it read
    /// from).
    pub async fn changes_after(
        &self,
        sequence: u64,
        scan: usize,
        limit: usize,
        wait: std::time::Duration,
        keep: impl Fn(&ChangeRecord) -> bool,
    ) -> (u64, Vec<ChangeRecord>) {
        let notified = self.changed.notified();
        let (through, batch) = self.read_changes(sequence, scan, limit, &keep);
        if through > sequence {
            return (through, batch);
        }
        let _ = tokio::time::timeout(wait, notified).await;
        self.read_changes(sequence, scan, limit, &keep)
    }

    /// Makes the next transaction that writes a record whose sort key starts with `sk_prefix` fail
    /// as if the store were unreachable (nothing is written), to test what a use case does then.
    pub fn fail_next_transaction_writing(&self, sk_prefix: &str) {
        self.testing.lock().expect("memory store lock").fail_next_writing = Some(sk_prefix.to_string());
    }

    /// Starts (again) recording the key of every record read by `get` and the queries.
    pub fn record_reads(&self) {
        self.testing.lock().expect("memory store lock").reads = Some(Vec::new());
    }

    /// The keys read since [`MemoryStore::record_reads`], in order.
    pub fn reads(&self) -> Vec<Key> {
        self.testing
            .lock()
            .expect("memory store lock")
            .reads
            .clone()
            .unwrap_or_default()
    }

    /// Writes per partition key of the table and of each index since the store began (or since
    /// [`MemoryStore::reset_write_counts`]).
    pub fn writes_per_partition(&self) -> BTreeMap<(Partitioned, String), u64> {
        let inner = self.inner.lock().expect("memory store lock");
        inner
            .writes
            .iter()
            .flat_map(|(index, partitions)| partitions.iter().map(|(pk, n)| ((*index, pk.clone()), *n)))
            .collect()
    }

    pub fn reset_write_counts(&self) {
        self.inner.lock().expect("memory store lock").writes.clear();
    }

    /// Every record whose partition key starts with `pk_prefix` (tests look at what an organisation
    /// stored across its partitions).
    pub fn records_under(&self, pk_prefix: &str) -> Vec<Record> {
        let inner = self.inner.lock().expect("memory store lock");
        inner
            .records
            .iter()
            .filter(|(key, _)| key.pk.starts_with(pk_prefix))
            .map(|(_, record)| Record::clone(record))
            .collect()
    }

    fn note_reads<'a>(&self, records: impl IntoIterator<Item = &'a Record>) {
        if let Some(reads) = self.testing.lock().expect("memory store lock").reads.as_mut() {
            reads.extend(records.into_iter().filter_map(Key::of));
        }
    }

    fn read_changes(
        &self,
        sequence: u64,
        scan: usize,
        limit: usize,
        keep: &dyn Fn(&ChangeRecord) -> bool,
    ) -> (u64, Vec<ChangeRecord>) {
        let mut inner = self.inner.lock().expect("memory store lock");
        debug_assert!(
            sequence >= inner.forgotten,
            "the stream rewound before what it had read"
        );
        // Dropping the changes up to `sequence` leaves the change after it at the log's front.
        let handled = (sequence - inner.forgotten).min(inner.log.len() as u64);
        inner.log.drain(..handled as usize);
        inner.forgotten += handled;
        let mut through = sequence;
        let mut batch = Vec::new();
        for change in inner.log.iter().take(scan) {
            through = change.sequence;
            if keep(change) {
                batch.push(change.clone());
                if batch.len() == limit {
                    break;
                }
            }
        }
        (through, batch)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        let found = self
            .inner
            .lock()
            .expect("memory store lock")
            .records
            .get(key)
            .map(|r| Record::clone(r));
        self.note_reads(found.iter());
        Ok(found)
    }

    async fn query(&self, pk: &str, sk_prefix: &str, after: Option<&str>, limit: usize) -> Result<Page, StoreError> {
        check_sk_cursor(after, sk_prefix)?;
        let inner = self.inner.lock().expect("memory store lock");
        let start = Key::new(pk, after.unwrap_or(sk_prefix));
        let records = inner
            .records
            .range(start..)
            .take_while(|(key, _)| key.pk == pk && key.sk.starts_with(sk_prefix))
            .filter(|(key, _)| after != Some(key.sk.as_str()))
            .take(limit + 1)
            .map(|(_, record)| Record::clone(record))
            .collect::<Vec<_>>();
        drop(inner);
        self.note_reads(records.iter());
        Ok(Page::from_overfetch(records, limit, sk_cursor))
    }

    async fn query_gsi1(
        &self,
        pk: &str,
        sk_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let after = after.map(|a| parse_gsi1_cursor(a, sk_prefix)).transpose()?;
        let inner = self.inner.lock().expect("memory store lock");
        let text = |r: &Record, name: &str| {
            r.get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut matching: Vec<(String, String, String, &Record)> = inner
            .records
            .values()
            .map(|r| &**r)
            .filter(|r| text(r, GSI1PK) == pk && r.contains_key(GSI1SK) && text(r, GSI1SK).starts_with(sk_prefix))
            .map(|r| (text(r, GSI1SK), text(r, PK), text(r, SK), r))
            .collect();
        matching.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        let records: Vec<Record> = matching
            .into_iter()
            .filter(|(g, p, s, _)| after.as_ref().is_none_or(|(ag, ap, as_)| (g, p, s) > (ag, ap, as_)))
            .take(limit + 1)
            .map(|(_, _, _, r)| r.clone())
            .collect::<Vec<_>>();
        drop(inner);
        self.note_reads(records.iter());
        Ok(Page::from_overfetch(records, limit, gsi1_cursor))
    }

    async fn query_gsi2(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let inner = self.inner.lock().expect("memory store lock");
        let text = |r: &Record, name: &str| r.get(name).and_then(serde_json::Value::as_str).map(str::to_string);
        let mut matching: Vec<(String, &Record)> = inner
            .records
            .values()
            .map(|r| &**r)
            .filter(|r| text(r, GSI2PK).as_deref() == Some(pk))
            .filter_map(|r| Some((text(r, GSI2SK)?, r)))
            .filter(|(sk, _)| match after {
                None => true,
                Some(a) if newest_first => sk.as_str() < a,
                Some(a) => sk.as_str() > a,
            })
            .collect();
        matching.sort_by(|a, b| a.0.cmp(&b.0));
        if newest_first {
            matching.reverse();
        }
        let records: Vec<Record> = matching.into_iter().take(limit).map(|(_, r)| r.clone()).collect();
        drop(inner);
        self.note_reads(records.iter());
        Ok(records)
    }

    async fn query_sorted(
        &self,
        pk: &str,
        after: Option<&str>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let inner = self.inner.lock().expect("memory store lock");
        let mut matching: Vec<&Record> = inner
            .records
            .range(Key::new(pk, "")..)
            .take_while(|(key, _)| key.pk == pk)
            .filter(|(key, _)| match after {
                None => true,
                Some(a) if newest_first => key.sk.as_str() < a,
                Some(a) => key.sk.as_str() > a,
            })
            .map(|(_, record)| &**record)
            .collect();
        if newest_first {
            matching.reverse();
        }
        let records: Vec<Record> = matching.into_iter().take(limit).cloned().collect();
        drop(inner);
        self.note_reads(records.iter());
        Ok(records)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        {
            let mut testing = self.testing.lock().expect("memory store lock");
            let hit = testing
                .fail_next_writing
                .as_deref()
                .is_some_and(|prefix| writes.iter().any(|w| w.key().is_some_and(|k| k.sk.starts_with(prefix))));
            if hit {
                testing.fail_next_writing = None;
                return Err(StoreError::unavailable(std::io::Error::other("injected store failure")));
            }
        }
        let mut inner = self.inner.lock().expect("memory store lock");
        for (index, w) in writes.iter().enumerate() {
            let (key, condition) = w.condition().expect("validated");
            if !holds(condition, inner.records.get(&key).map(|r| &**r)) {
                return Err(StoreError::ConditionFailed { index: Some(index) });
            }
        }
        for w in writes {
            let (key, new_image) = match w {
                Write::Put { record, .. } => (Key::of(&record).expect("validated"), Some(Arc::new(record))),
                Write::Delete { key, .. } => (key, None),
                Write::Update { key, set, add, .. } => {
                    let record = super::updated(&key, inner.records.get(&key).map(|r| &**r), &set, &add);
                    (key, Some(Arc::new(record)))
                }
                // A check changes nothing, though DynamoDB bills it as a write of its partition.
                Write::Check { key, .. } => {
                    inner.count_write(Partitioned::Table, &key.pk);
                    continue;
                }
            };
            let old_image = match &new_image {
                Some(r) => inner.records.insert(key.clone(), r.clone()),
                None => inner.records.remove(&key),
            };
            // DynamoDB charges a write even for deleting what is not there.
            inner.count_writes(&key, old_image.as_deref(), new_image.as_deref());
            let event_name = match (&old_image, &new_image) {
                (None, Some(_)) => "INSERT",
                (Some(_), Some(_)) => "MODIFY",
                (Some(_), None) => "REMOVE",
                (None, None) => continue,
            };
            let sequence = inner.forgotten + inner.log.len() as u64 + 1;
            inner.log.push_back(ChangeRecord {
                sequence,
                event_name,
                key,
                new_image,
                old_image,
            });
        }
        drop(inner);
        self.changed.notify_waiters();
        Ok(())
    }
}
