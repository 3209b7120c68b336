//! What keys were used for: per key, per UTC day, with the limits of the key's policy and where its
//! quota stands (the Classic Portal's developer dashboard); a developer sees their own keys, an admin
//! with `read_usage` any key or developer of the organisation and the day's top keys.

use serde::{Deserialize, Serialize};

use super::auth::{DeveloperSession, OrgAdmin};
use super::{AppState, ServiceError};
use crate::domain::api_keys::ApiKey;
use crate::domain::catalog::{Policy, Quota, Rate};
use crate::domain::gate::{day_of, Window};
use crate::domain::roles::Permission;
use crate::domain::{epoch_rfc3339, now_epoch, DeveloperId, KeyId, OrgId, PolicyId};
use crate::store::allowances::{self, LimitKind};
use crate::store::{resources, usage};

/// The longest view, as far back as use is kept.
pub const MAX_DAYS: u32 = usage::KEPT_DAYS as u32;

/// Calls on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayCount {
    pub day: String,
    pub requests: u64,
}

/// Where a quota stands in its current period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaState {
    pub max: u64,
    /// Units handed to gateways this period (a gateway holding a lease may not have used all yet).
    pub used: u64,
    pub remaining: u64,
    pub reset_at: String,
}

/// One key's use over the days asked for, oldest first, every day listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyUsage {
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub prefix: String,
    pub policy_id: Option<PolicyId>,
    pub rate: Option<Rate>,
    pub quota: Option<QuotaState>,
    pub total: u64,
    pub days: Vec<DayCount>,
}

/// The view asked for: how many days (1 to [`MAX_DAYS`], default 7) and, for admins, whose.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    pub days: Option<u32>,
    pub key_id: Option<String>,
    pub developer_id: Option<String>,
}

fn days_of(query: &UsageQuery) -> Result<u32, ServiceError> {
    match query.days {
        None => Ok(7),
        Some(d) if (1..=MAX_DAYS).contains(&d) => Ok(d),
        Some(_) => Err(ServiceError::invalid("days", "must be 1 to 90")),
    }
}

/// The last `days` UTC days, oldest first.
fn last_days(days: u32) -> Vec<String> {
    let today = now_epoch();
    (0..i64::from(days))
        .rev()
        .map(|back| day_of(today - back * 86_400))
        .collect()
}

async fn key_usage(
    state: &AppState,
    org: &OrgId,
    key: &ApiKey,
    policies: &[Policy],
    days: &[String],
) -> Result<KeyUsage, ServiceError> {
    let store = state.store.as_ref();
    let counted = usage::of_key(store, org, &key.id, &days[0]).await?;
    let days: Vec<DayCount> = days
        .iter()
        .map(|day| DayCount {
            day: day.clone(),
            requests: counted.iter().find(|c| &c.day == day).map_or(0, |c| c.requests),
        })
        .collect();
    // The policy the gate applies when no API is named: the key's first.
    let policy = key
        .policy_ids
        .iter()
        .find_map(|id| policies.iter().find(|p| &p.id == id));
    let quota = match policy.and_then(|p| p.quota) {
        Some(Quota { max, renewal_secs }) => {
            let window = Window::containing(now_epoch(), renewal_secs);
            let used = allowances::read(store, org, &key.id, LimitKind::Quota, window)
                .await?
                .value
                .granted;
            Some(QuotaState {
                max,
                used,
                remaining: max.saturating_sub(used),
                reset_at: epoch_rfc3339(window.end()),
            })
        }
        None => None,
    };
    Ok(KeyUsage {
        key_id: key.id.clone(),
        developer_id: key.developer_id.clone(),
        prefix: key.prefix.clone(),
        policy_id: policy.map(|p| p.id.clone()),
        rate: policy.and_then(|p| p.rate),
        quota,
        total: days.iter().map(|d| d.requests).sum(),
        days,
    })
}

async fn usage_of_keys(
    state: &AppState,
    org: &OrgId,
    keys: &[ApiKey],
    days: u32,
) -> Result<Vec<KeyUsage>, ServiceError> {
    let policies = resources::all::<Policy>(state.store.as_ref(), org).await?;
    let days = last_days(days);
    let mut views = Vec::with_capacity(keys.len());
    for key in keys {
        views.push(key_usage(state, org, key, &policies, &days).await?);
    }
    Ok(views)
}

/// A developer's own keys' use.
pub async fn own(
    state: &AppState,
    session: &DeveloperSession,
    query: UsageQuery,
) -> Result<Vec<KeyUsage>, ServiceError> {
    let days = days_of(&query)?;
    if query.key_id.is_some() || query.developer_id.is_some() {
        return Err(ServiceError::invalid(
            "key_id",
            "is for admins; a developer sees their own keys",
        ));
    }
    let keys = resources::of_developer::<ApiKey>(state.store.as_ref(), &session.org, &session.developer).await?;
    usage_of_keys(state, &session.org, &keys, days).await
}

/// One key's or one developer's use, for an admin (404 for anything of another organisation).
pub async fn of(state: &AppState, admin: &OrgAdmin, query: UsageQuery) -> Result<Vec<KeyUsage>, ServiceError> {
    admin.require(Permission::ReadUsage)?;
    let days = days_of(&query)?;
    let store = state.store.as_ref();
    let keys = match (query.key_id.as_deref(), query.developer_id.as_deref()) {
        (Some(id), None) => vec![
            resources::get::<ApiKey>(store, &admin.org, id)
                .await?
                .ok_or(ServiceError::NotFound("key"))?
                .value,
        ],
        (None, Some(id)) => {
            let id = DeveloperId::parse(id).ok_or(ServiceError::NotFound("developer"))?;
            crate::store::developers::get(store, &admin.org, &id)
                .await?
                .ok_or(ServiceError::NotFound("developer"))?;
            resources::of_developer::<ApiKey>(store, &admin.org, &id).await?
        }
        _ => {
            return Err(ServiceError::invalid(
                "key_id",
                "name one key (key_id) or one developer (developer_id)",
            ))
        }
    };
    usage_of_keys(state, &admin.org, &keys, days).await
}

/// A key's calls on one day, for the day's top keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopKey {
    pub key_id: KeyId,
    pub developer_id: DeveloperId,
    pub requests: u64,
}

/// The organisation's most used keys on `day` (`YYYY-MM-DD`, default today), most first.
pub async fn top(
    state: &AppState,
    admin: &OrgAdmin,
    day: Option<&str>,
    limit: usize,
) -> Result<Vec<TopKey>, ServiceError> {
    admin.require(Permission::ReadUsage)?;
    let day = match day {
        None => day_of(now_epoch()),
        Some(d)
            if time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).is_ok() && d.len() == 10 =>
        {
            d.to_string()
        }
        Some(_) => return Err(ServiceError::invalid("day", "must be a date, YYYY-MM-DD")),
    };
    let mut all = usage::of_day(state.store.as_ref(), &admin.org, &day).await?;
    all.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.key_id.as_str().cmp(b.key_id.as_str()))
    });
    all.truncate(limit);
    Ok(all
        .into_iter()
        .map(|u| TopKey {
            key_id: u.key_id,
            developer_id: u.developer_id,
            requests: u.requests,
        })
        .collect())
}
