//! Rate-limit counters: one record per (limit, subject) counting within a window that starts at the
//! first unit counted and ends `window_secs` later (also the record's TTL). Every unit is a write
//! conditioned on the version read, so every Lambda instance and a restarted runner see one count,
//! and two racing takes never both get the last unit.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{get_versioned, to_attrs, Key, Store, StoreError, Write, EXPIRES_AT};
use crate::domain::now_epoch;

/// A counter as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
    pub window_start: i64,
    /// What was counted, when the caller names each unit (a delivery id), so counting the same
    /// thing again takes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
}

impl Counter {
    /// The counter as it stands at `now`: a finished window counts nothing.
    fn at(self, now: i64, window_secs: i64) -> Self {
        if self.window_start + window_secs <= now {
            Counter::default()
        } else {
            self
        }
    }
}

/// What a counter says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Below the limit: `used` units in this window (before this one, when peeking).
    Room { used: u32 },
    /// The limit is reached until the window ends, `retry_after_secs` from now (at least 1).
    Full { retry_after_secs: i64 },
}

fn full(counter: &Counter, now: i64, window_secs: i64) -> Count {
    Count::Full {
        retry_after_secs: (counter.window_start + window_secs - now).max(1),
    }
}

/// How the counter at `key` stands, without counting anything.
pub async fn peek(store: &dyn Store, key: &Key, max: u32, window_secs: i64) -> Result<Count, StoreError> {
    let now = now_epoch();
    let counter = get_versioned::<Counter>(store, key)
        .await?
        .map(|v| v.value.at(now, window_secs))
        .unwrap_or_default();
    Ok(if counter.count >= max {
        full(&counter, now, window_secs)
    } else {
        Count::Room { used: counter.count }
    })
}

/// How many times a take re-reads a counter that another take changed meanwhile before it gives up
/// (and refuses: under that much contention the subject is busy enough to wait a second).
const ATTEMPTS: usize = 8;

/// Counts one unit if the window has room: `Room` with the units used before it, or `Full`. With a
/// `claim`, a unit already counted under that claim in this window is not counted again (a retried
/// delivery), and answers `Room`.
pub async fn take(
    store: &dyn Store,
    key: &Key,
    max: u32,
    window_secs: i64,
    claim: Option<&str>,
) -> Result<Count, StoreError> {
    for _ in 0..ATTEMPTS {
        let now = now_epoch();
        let (counter, version) = match get_versioned::<Counter>(store, key).await? {
            Some(found) => (found.value.at(now, window_secs), found.version),
            None => (Counter::default(), 0),
        };
        if let Some(claim) = claim {
            if counter.claims.iter().any(|c| c == claim) {
                return Ok(Count::Room {
                    used: counter.count.saturating_sub(1),
                });
            }
        }
        if counter.count >= max {
            return Ok(full(&counter, now, window_secs));
        }
        let used = counter.count;
        let mut next = counter;
        if used == 0 {
            next.window_start = now;
        }
        next.count += 1;
        next.claims.extend(claim.map(str::to_string));
        let mut attrs = to_attrs(&next);
        attrs.insert(EXPIRES_AT.into(), json!(next.window_start + window_secs));
        match store
            .transact(vec![Write::put_versioned(key.record(attrs), version)])
            .await
        {
            Ok(()) => return Ok(Count::Room { used }),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Count::Full { retry_after_secs: 1 })
}

/// Gives one unit back (a login whose password was right returns the unit it took before the
/// check). Nothing happens when the window has ended or nothing is counted.
pub async fn give_back(store: &dyn Store, key: &Key, window_secs: i64) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let now = now_epoch();
        let Some(found) = get_versioned::<Counter>(store, key).await? else {
            return Ok(());
        };
        let mut counter = found.value.at(now, window_secs);
        if counter.count == 0 {
            return Ok(());
        }
        counter.count -= 1;
        let mut attrs = to_attrs(&counter);
        attrs.insert(EXPIRES_AT.into(), json!(counter.window_start + window_secs));
        match store
            .transact(vec![Write::put_versioned(key.record(attrs), found.version)])
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    // Under that much contention the unit stays counted: refusing a little early is the safe side.
    Ok(())
}

/// Clears a counter (a successful login clears the failures of its email), as part of a transaction.
pub fn clear(key: &Key) -> Write {
    Write::Delete {
        key: key.clone(),
        condition: super::Condition::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use std::sync::Arc;

    fn key() -> Key {
        Key::new("ORG#acme#LIMIT#test#abc", "LIMIT")
    }

    #[tokio::test]
    async fn takes_until_full_then_says_when_the_window_ends() {
        let store = MemoryStore::new();
        for used in 0..3 {
            assert_eq!(
                take(&store, &key(), 3, 3_600, None).await.unwrap(),
                Count::Room { used }
            );
        }
        let Count::Full { retry_after_secs } = take(&store, &key(), 3, 3_600, None).await.unwrap() else {
            panic!("the fourth is refused")
        };
        assert!((3_590..=3_600).contains(&retry_after_secs), "{retry_after_secs}");
        assert!(matches!(
            peek(&store, &key(), 3, 3_600).await.unwrap(),
            Count::Full { .. }
        ));
        assert_eq!(peek(&store, &key(), 4, 3_600).await.unwrap(), Count::Room { used: 3 });
        store.transact(vec![clear(&key())]).await.unwrap();
        assert_eq!(peek(&store, &key(), 3, 3_600).await.unwrap(), Count::Room { used: 0 });
    }

    #[tokio::test]
    async fn a_finished_window_counts_from_zero_again() {
        let store = MemoryStore::new();
        let old = Counter {
            count: 5,
            window_start: now_epoch() - 61,
            claims: vec![],
        };
        store
            .transact(vec![Write::put_versioned(key().record(to_attrs(&old)), 0)])
            .await
            .unwrap();
        assert_eq!(
            take(&store, &key(), 5, 60, None).await.unwrap(),
            Count::Room { used: 0 }
        );
        let stored = get_versioned::<Counter>(&store, &key()).await.unwrap().unwrap().value;
        assert_eq!(stored.count, 1);
        assert!(stored.window_start >= now_epoch() - 1, "a new window starts now");
    }

    #[tokio::test]
    async fn a_claim_counts_once() {
        let store = MemoryStore::new();
        assert_eq!(
            take(&store, &key(), 2, 60, Some("d1")).await.unwrap(),
            Count::Room { used: 0 }
        );
        assert_eq!(
            take(&store, &key(), 2, 60, Some("d1")).await.unwrap(),
            Count::Room { used: 0 }
        );
        assert_eq!(
            take(&store, &key(), 2, 60, Some("d2")).await.unwrap(),
            Count::Room { used: 1 }
        );
        assert!(matches!(
            take(&store, &key(), 2, 60, Some("d3")).await.unwrap(),
            Count::Full { .. }
        ));
        assert_eq!(
            take(&store, &key(), 2, 60, Some("d2")).await.unwrap(),
            Count::Room { used: 1 }
        );
    }

    #[tokio::test]
    async fn a_unit_given_back_makes_room_again() {
        let store = MemoryStore::new();
        for _ in 0..2 {
            take(&store, &key(), 2, 60, None).await.unwrap();
        }
        assert!(matches!(peek(&store, &key(), 2, 60).await.unwrap(), Count::Full { .. }));
        give_back(&store, &key(), 60).await.unwrap();
        assert_eq!(peek(&store, &key(), 2, 60).await.unwrap(), Count::Room { used: 1 });
        give_back(&store, &key(), 60).await.unwrap();
        give_back(&store, &key(), 60).await.unwrap();
        assert_eq!(
            peek(&store, &key(), 2, 60).await.unwrap(),
            Count::Room { used: 0 },
            "never below zero"
        );
    }

    #[tokio::test]
    async fn racing_takes_never_pass_the_limit() {
        let store = Arc::new(MemoryStore::new());
        let takes = (0..40).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { take(store.as_ref(), &key(), 10, 60, None).await.unwrap() })
        });
        let results = futures::future::join_all(takes).await;
        let allowed = results
            .into_iter()
            .filter(|r| matches!(r.as_ref().unwrap(), Count::Room { .. }))
            .count();
        assert!((1..=10).contains(&allowed), "{allowed} allowed");
        let stored = get_versioned::<Counter>(store.as_ref(), &key())
            .await
            .unwrap()
            .unwrap()
            .value;
        assert_eq!(stored.count as usize, allowed, "every allowed take is counted");
    }
}
