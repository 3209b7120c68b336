//! The gate: whether an API key may make a call now, for the verify route and the Lambda
//! authorizer alike. A key is found by its hash alone (`store::key_hashes`); its policy's rate and
//! quota are counted in fixed windows from leases of units (`store::allowances`), so a hot key
//! costs a table write per block of calls, not per call, and is refused a little early rather than
//! ever late; its use per day is added up in memory and written per key per flush
//! (`store::usage`).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::auth::OrgAdmin;
use super::{AppState, ServiceError};
use crate::domain::api_keys::ApiKey;
use crate::domain::api_keys::KEY_PREFIX;
use crate::domain::catalog::Policy;
use crate::domain::event_data::{EventData, QuotaThreshold};
use crate::domain::gate::{day_of, lease_block, thresholds_crossed, VerifyCode, Window};
use crate::domain::roles::Permission;
use crate::domain::{
    epoch_rfc3339, now_epoch, now_rfc3339, ApiId, DeveloperId, Event, KeyId, OrgId, PolicyId, ValidationErrors,
};
use crate::secret::token_hash;
use crate::store::allowances::{self, Allowance, LimitKind};
use crate::store::key_hashes::{self, KeyByHash};
use crate::store::outbox::event_write;
use crate::store::{developers, resources, usage, Store, StoreError, Write};

/// How long a verifier trusts a policy it read: a policy's change reaches the gate within this.
pub const POLICY_CACHE: Duration = Duration::from_secs(10);
/// How often a verifier writes the use it has counted.
pub const USAGE_FLUSH: Duration = Duration::from_secs(1);
/// How many times a lease re-reads an allowance another verifier changed meanwhile.
const LEASE_ATTEMPTS: usize = 16;
/// The most units one call may cost.
pub const MAX_COST: i64 = 1_000_000;

/// A verification as asked: the key, the API it is used for, and what the call costs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    pub key: Option<String>,
    pub api_id: Option<String>,
    pub cost: Option<i64>,
}

/// A rate window's state after a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateState {
    pub limit: u64,
    pub remaining: u64,
    pub reset_at: String,
}

/// The gate's answer. The key's identity is told only for a key of the asking organisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub valid: bool,
    pub code: VerifyCode,
    pub key_id: Option<KeyId>,
    pub developer_id: Option<DeveloperId>,
    pub policy_id: Option<PolicyId>,
    /// Quota units left in this period (null without a quota).
    pub remaining: Option<u64>,
    /// When the quota period ends (null without a quota).
    pub reset_at: Option<String>,
    pub ratelimit: Option<RateState>,
    /// When this secret of the key stops working (a rolled key's former secret); null if never.
    pub expires_at: Option<String>,
    /// The key's organisation, for the authorizer's context (not part of the verify answer).
    #[serde(skip)]
    pub org_id: Option<OrgId>,
}

impl Verdict {
    fn refused(code: VerifyCode) -> Self {
        Self {
            valid: false,
            code,
            key_id: None,
            developer_id: None,
            policy_id: None,
            remaining: None,
            reset_at: None,
            ratelimit: None,
            expires_at: None,
            org_id: None,
        }
    }

    fn of(code: VerifyCode, key: &KeyByHash) -> Self {
        Self {
            valid: code == VerifyCode::Valid,
            key_id: Some(key.key_id.clone()),
            developer_id: Some(key.developer_id.clone()),
            org_id: Some(key.org_id.clone()),
            expires_at: key.valid_until.map(epoch_rfc3339),
            ..Self::refused(code)
        }
    }
}

/// The units one verifier holds of one key's limit in one window.
#[derive(Debug, Default)]
struct Lease {
    window: Option<Window>,
    /// Units leased and not yet used.
    units: u64,
    /// How many units all verifiers had leased when this one last leased or looked.
    granted_seen: u64,
    /// When a look (cost 0) last read the allowance.
    looked_at: Option<Instant>,
}

/// How long a look (cost 0, the authorizer's) trusts the allowance it read: an exhausted quota is
/// seen this much later at most, and a hot key's look costs its one read of the key.
const LOOK_FRESH: Duration = Duration::from_secs(1);

type LeaseSlot = (KeyId, LimitKind);
/// A policy as read, and when.
type PolicyRead = (Instant, Option<Policy>);
type UsageSlot = (OrgId, KeyId, DeveloperId, String);

/// What one verifier (a Lambda instance, a runner) keeps between calls: its leases, the policies it
/// read, and the use it has counted and not yet written; over the store it reads keys from.
pub struct Gate {
    store: Arc<dyn Store>,
    leases: Mutex<HashMap<LeaseSlot, Arc<tokio::sync::Mutex<Lease>>>>,
    policies: Mutex<HashMap<(OrgId, PolicyId), PolicyRead>>,
    usage: Mutex<UsageBook>,
}

#[derive(Default)]
struct UsageBook {
    counts: HashMap<UsageSlot, u64>,
    last_flush: Option<Instant>,
}

/// How adding to an allowance went, with the units granted before it.
enum Granted {
    Added {
        before: u64,
        units: u64,
    },
    /// Nothing to add (none left for what was wanted): nothing written.
    Refused {
        granted: u64,
    },
    /// Another verifier won every attempt.
    Contended {
        granted: u64,
    },
}

/// What taking units from a limit came to.
enum Taken {
    Yes { remaining: u64 },
    No { remaining: u64 },
}

impl Gate {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            leases: Default::default(),
            policies: Default::default(),
            usage: Default::default(),
        }
    }

    fn lease_slot(&self, slot: LeaseSlot) -> Arc<tokio::sync::Mutex<Lease>> {
        let mut leases = self.leases.lock().expect("gate lock");
        leases.entry(slot).or_default().clone()
    }

    async fn policy(&self, org: &OrgId, id: &PolicyId) -> Result<Option<Policy>, StoreError> {
        let slot = (org.clone(), id.clone());
        if let Some((read_at, policy)) = self.policies.lock().expect("gate lock").get(&slot) {
            if read_at.elapsed() < POLICY_CACHE {
                return Ok(policy.clone());
            }
        }
        let policy = resources::get::<Policy>(self.store.as_ref(), org, id.as_str())
            .await?
            .map(|v| v.value);
        self.policies
            .lock()
            .expect("gate lock")
            .insert(slot, (Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// Takes `cost` units of the key's `kind` limit (`limit` per `window`), from this verifier's
    /// lease or, when that runs short, from a new lease; `cost` 0 only looks.
    /// A lease that crosses one of `alerts`' thresholds raises its event ([`Gate::add_to_allowance`]).
    async fn take(
        &self,
        key: &KeyByHash,
        kind: LimitKind,
        window: Window,
        limit: u64,
        cost: u64,
        alerts: Option<&Policy>,
    ) -> Result<Taken, StoreError> {
        let slot = self.lease_slot((key.key_id.clone(), kind));
        let mut lease = slot.lock().await;
        if lease.window != Some(window) {
            *lease = Lease {
                window: Some(window),
                ..Lease::default()
            };
        }
        let remaining = |lease: &Lease| limit.saturating_sub(lease.granted_seen) + lease.units;
        if cost == 0 {
            if lease.looked_at.is_none_or(|t| t.elapsed() >= LOOK_FRESH) {
                let read = allowances::read(self.store.as_ref(), &key.org_id, &key.key_id, kind, window).await?;
                lease.granted_seen = lease.granted_seen.max(read.value.granted);
                lease.looked_at = Some(Instant::now());
            }
            let remaining = remaining(&lease);
            return Ok(if remaining > 0 {
                Taken::Yes { remaining }
            } else {
                Taken::No { remaining }
            });
        }
        if lease.units >= cost {
            lease.units -= cost;
            return Ok(Taken::Yes {
                remaining: remaining(&lease),
            });
        }
        let want = cost - lease.units;
        let granted = self
            .add_to_allowance(key.into(), kind, window, limit, alerts, |granted| {
                lease_block(limit, granted, want)
            })
            .await?;
        Ok(match granted {
            Granted::Added { before, units } => {
                lease.granted_seen = before + units;
                lease.units += units;
                lease.units -= cost;
                Taken::Yes {
                    remaining: remaining(&lease),
                }
            }
            // None left for this call; or so contended that no lease came through: refused
            // rather than counted twice.
            Granted::Refused { granted } | Granted::Contended { granted } => {
                lease.granted_seen = lease.granted_seen.max(granted);
                Taken::No {
                    remaining: remaining(&lease),
                }
            }
        })
    }

    /// Adds `units(granted)` units to the key's `kind` allowance for `window` with one versioned
    /// write, and in the same transaction the events of `alerts`' thresholds (percentages of
    /// `limit`) that the addition crosses: each threshold is crossed by exactly one addition a
    /// window, so told once. A race lost to another verifier reads again.
    async fn add_to_allowance(
        &self,
        key: KeyRef<'_>,
        kind: LimitKind,
        window: Window,
        limit: u64,
        alerts: Option<&Policy>,
        units: impl Fn(u64) -> u64,
    ) -> Result<Granted, StoreError> {
        let store = self.store.as_ref();
        let mut granted = 0;
        for _ in 0..LEASE_ATTEMPTS {
            let read = allowances::read(store, key.org_id, key.key_id, kind, window).await?;
            granted = read.value.granted;
            let adding = units(granted);
            if adding == 0 {
                return Ok(Granted::Refused { granted });
            }
            let next = Allowance {
                granted: granted + adding,
            };
            let mut writes = vec![allowances::write(
                key.org_id,
                key.key_id,
                kind,
                window,
                next,
                read.version,
            )];
            if let Some(policy) = alerts {
                let crossed = thresholds_crossed(limit, granted, next.granted, &policy.trigger_limits);
                if !crossed.is_empty() {
                    writes.extend(threshold_events(store, &key, policy, window, next.granted, &crossed).await?);
                }
            }
            match store.transact(writes).await {
                Ok(()) => {
                    return Ok(Granted::Added {
                        before: granted,
                        units: adding,
                    })
                }
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Granted::Contended { granted })
    }

    /// Counts `cost` calls of the key today; written at the next flush.
    fn count_use(&self, key: &KeyByHash, cost: u64, now: i64) {
        let slot = (
            key.org_id.clone(),
            key.key_id.clone(),
            key.developer_id.clone(),
            day_of(now),
        );
        *self.usage.lock().expect("gate lock").counts.entry(slot).or_default() += cost;
    }

    /// Counts calls an access log saw (behind API Gateway, where the authorizer does not see every
    /// call): the key's daily use, and its quota for the period they fell in, raising the thresholds
    /// they cross. A key since removed is not counted.
    pub async fn count_logged(&self, calls: LoggedCalls) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        let day_start = day_start(&calls.day);
        store
            .transact(vec![usage::add(
                &calls.org,
                &calls.key,
                &calls.developer,
                &calls.day,
                day_start,
                calls.calls,
            )])
            .await?;
        let Some(record) = resources::get::<ApiKey>(store, &calls.org, calls.key.as_str()).await? else {
            return Ok(());
        };
        let mut metered = None;
        for id in &record.value.policy_ids {
            if let Some(policy) = self.policy(&calls.org, id).await?.filter(|p| p.quota.is_some()) {
                metered = Some(policy);
                break;
            }
        }
        let Some(policy) = metered else {
            return Ok(());
        };
        let quota = policy.quota.expect("a metered policy has a quota");
        let window = Window::containing(calls.at, quota.renewal_secs);
        let key = KeyRef {
            org_id: &calls.org,
            key_id: &calls.key,
            developer_id: &calls.developer,
        };
        let granted = self
            .add_to_allowance(key, LimitKind::Quota, window, quota.max, Some(&policy), |_| calls.calls)
            .await?;
        if let Granted::Contended { .. } = granted {
            return Err(StoreError::Invalid(
                "the quota stayed contended; the batch is retried".into(),
            ));
        }
        // This verifier's next look reads the quota again.
        self.lease_slot((calls.key.clone(), LimitKind::Quota))
            .lock()
            .await
            .looked_at = None;
        Ok(())
    }

    /// Writes the use counted since the last flush, one addition per key and day, when
    /// [`USAGE_FLUSH`] has passed since then (or `now`, whatever the time).
    pub async fn flush_usage(&self, force: bool) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        let counts = {
            let mut book = self.usage.lock().expect("gate lock");
            let due = book.last_flush.is_none_or(|t| t.elapsed() >= USAGE_FLUSH);
            if !(force || due) || book.counts.is_empty() {
                return Ok(());
            }
            book.last_flush = Some(Instant::now());
            std::mem::take(&mut book.counts)
        };
        let writes: Vec<Write> = counts
            .iter()
            .map(|((org, key, developer, day), n)| usage::add(org, key, developer, day, day_start(day), *n))
            .collect();
        let mut failed = None;
        // One write per key and day: each its own partition, so they go out side by side.
        let results = futures::future::join_all(writes.into_iter().map(|w| store.transact(vec![w]))).await;
        for (result, (slot, n)) in results.into_iter().zip(counts) {
            if let Err(e) = result {
                // Kept for the next flush rather than lost.
                *self.usage.lock().expect("gate lock").counts.entry(slot).or_default() += n;
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }
}

/// Which key, of whose.
struct KeyRef<'a> {
    org_id: &'a OrgId,
    key_id: &'a KeyId,
    developer_id: &'a DeveloperId,
}

impl<'a> From<&'a KeyByHash> for KeyRef<'a> {
    fn from(key: &'a KeyByHash) -> Self {
        Self {
            org_id: &key.org_id,
            key_id: &key.key_id,
            developer_id: &key.developer_id,
        }
    }
}

/// Calls an access log counted for one key on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCalls {
    pub org: OrgId,
    pub key: KeyId,
    pub developer: DeveloperId,
    pub day: String,
    /// The epoch second of the last of them: the quota period they count in.
    pub at: i64,
    pub calls: u64,
}

/// The `quota_event.threshold_reached` events of a lease that brought the key's quota to `used`
/// units, crossing `crossed` (percentages): to the developer, the admins who read usage and the
/// organisation's `quota_event` destinations. Reads the key and its developer: rare, once a
/// threshold.
async fn threshold_events(
    store: &dyn Store,
    key: &KeyRef<'_>,
    policy: &Policy,
    window: Window,
    used: u64,
    crossed: &[u8],
) -> Result<Vec<Write>, StoreError> {
    let Some(record) = resources::get::<ApiKey>(store, key.org_id, key.key_id.as_str()).await? else {
        return Ok(Vec::new());
    };
    let Some(developer) = developers::get(store, key.org_id, key.developer_id).await? else {
        return Ok(Vec::new());
    };
    let max = policy.quota.map_or(0, |q| q.max);
    Ok(crossed
        .iter()
        .map(|&trigger_limit| {
            let data = QuotaThreshold {
                message: format!("Quota trigger reached: {trigger_limit}% of {max} calls"),
                org: key.org_id.clone(),
                key: key.key_id.clone(),
                trigger_limit,
                key_id: key.key_id.clone(),
                key_prefix: record.value.prefix.clone(),
                developer_id: key.developer_id.clone(),
                email: developer.value.email.clone(),
                policy_id: policy.id.clone(),
                limit: "quota",
                quota_max: max,
                quota_used: used,
                quota_remaining: max.saturating_sub(used),
                reset_at: epoch_rfc3339(window.end()),
            };
            let data = EventData::QuotaThresholdReached(data);
            // No private part: nothing to seal.
            event_write(&Event::new(
                key.org_id.clone(),
                data.kind(),
                now_rfc3339(),
                data.public(),
            ))
        })
        .collect())
}

/// The epoch second a UTC day (`2026-12-03`) starts.
fn day_start(day: &str) -> i64 {
    time::Date::parse(day, &time::format_description::well_known::Iso8601::DATE)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or_else(|_| now_epoch())
}

/// Checks `input` (400 naming the field): the key, the API and the cost (default 1, 0 only looks).
fn check(input: &VerifyInput) -> Result<(String, Option<ApiId>, u64), ServiceError> {
    let mut errors = ValidationErrors::default();
    let key = match input.key.as_deref() {
        Some(k) if !k.is_empty() && k.len() <= 200 => Some(k.to_string()),
        _ => {
            errors.push("key", "is required: the API key to check (at most 200 characters)");
            None
        }
    };
    let api_id = input.api_id.as_deref().and_then(|a| {
        let parsed = ApiId::parse(a);
        if parsed.is_none() {
            errors.push("api_id", "must be an API id (api_…)");
        }
        parsed
    });
    let cost = match input.cost {
        None => 1,
        Some(c) if (0..=MAX_COST).contains(&c) => c as u64,
        Some(_) => {
            errors.push("cost", "must be 0 (check only) to 1000000");
            0
        }
    };
    errors.into_result()?;
    Ok((key.unwrap_or_default(), api_id, cost))
}

/// A gateway asks whether `input.key` may make a call (of `input.api_id`, costing `input.cost`):
/// always an answer, never an error, for any key; a key of another organisation is `NOT_FOUND`.
pub async fn verify(state: &AppState, gateway: &OrgAdmin, input: VerifyInput) -> Result<Verdict, ServiceError> {
    gateway.require(Permission::VerifyKeys)?;
    let (key, api_id, cost) = check(&input)?;
    let verdict = state
        .gate
        .decide(Some(&gateway.org), &key, api_id.as_ref(), cost)
        .await?;
    state.gate.flush_usage(false).await?;
    Ok(verdict)
}

impl Gate {
    /// The decision for `key` (of `org`, when the caller is bound to one): what verify answers and the
    /// authorizer allows.
    pub async fn decide(
        &self,
        org: Option<&OrgId>,
        key: &str,
        api_id: Option<&ApiId>,
        cost: u64,
    ) -> Result<Verdict, StoreError> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(Verdict::refused(VerifyCode::NotFound));
        }
        let Some(found) = key_hashes::find(self.store.as_ref(), &token_hash(key)).await? else {
            return Ok(Verdict::refused(VerifyCode::NotFound));
        };
        if org.is_some_and(|o| *o != found.org_id) {
            return Ok(Verdict::refused(VerifyCode::NotFound));
        }
        let now = now_epoch();
        if found.revoked_at.is_some() {
            return Ok(Verdict::of(VerifyCode::Revoked, &found));
        }
        if found.valid_until.is_some_and(|t| t <= now) {
            return Ok(Verdict::of(VerifyCode::Expired, &found));
        }
        if !found.developer_active {
            return Ok(Verdict::of(VerifyCode::Disabled, &found));
        }
        let gate = self;
        let mut policy = None;
        for id in &found.policy_ids {
            if let Some(p) = gate.policy(&found.org_id, id).await? {
                if api_id.is_none_or(|a| p.api_ids.contains(a)) {
                    policy = Some(p);
                    break;
                }
            }
        }
        let Some(policy) = policy else {
            return Ok(Verdict::of(VerifyCode::Forbidden, &found));
        };
        let mut verdict = Verdict::of(VerifyCode::Valid, &found);
        verdict.policy_id = Some(policy.id.clone());
        if let Some(rate) = policy.rate {
            let window = Window::containing(now, rate.per_secs);
            let taken = gate
                .take(&found, LimitKind::Rate, window, rate.requests, cost, None)
                .await?;
            let (ok, remaining) = match taken {
                Taken::Yes { remaining } => (true, remaining),
                Taken::No { remaining } => (false, remaining),
            };
            verdict.ratelimit = Some(RateState {
                limit: rate.requests,
                remaining,
                reset_at: epoch_rfc3339(window.end()),
            });
            if !ok {
                verdict.valid = false;
                verdict.code = VerifyCode::RateLimited;
                return Ok(verdict);
            }
        }
        if let Some(quota) = policy.quota {
            let window = Window::containing(now, quota.renewal_secs);
            let taken = gate
                .take(&found, LimitKind::Quota, window, quota.max, cost, Some(&policy))
                .await?;
            verdict.reset_at = Some(epoch_rfc3339(window.end()));
            match taken {
                Taken::Yes { remaining } => verdict.remaining = Some(remaining),
                Taken::No { remaining } => {
                    verdict.remaining = Some(remaining);
                    verdict.valid = false;
                    verdict.code = VerifyCode::UsageExceeded;
                    return Ok(verdict);
                }
            }
        }
        if cost > 0 {
            gate.count_use(&found, cost, now);
        }
        Ok(verdict)
    }
}
