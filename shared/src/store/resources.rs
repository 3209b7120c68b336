//! Simple organisation-owned resources (APIs, policies, catalog entries): one record each under
//! `<PREFIX><id>` in the organisation's partition, versioned, written with the events they raise.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::orgs::{event_write, Versioned};
use super::{from_record, keys, to_attrs, Condition, Key, Store, StoreError, Write};
use crate::domain::catalog::{Api, CatalogEntry, Policy};
use crate::domain::keys::{ApiKey, KeyRequest};
use crate::domain::{Event, OrgId};

pub trait Resource: Serialize + DeserializeOwned + Send + Sync {
    /// The sort key prefix, e.g. `API#`.
    const PREFIX: &'static str;
    fn id(&self) -> &str;
    fn org(&self) -> &OrgId;
}

/// Resources carry their own `id` and `org_id`.
macro_rules! resource {
    ($($type:ty => $prefix:literal),* $(,)?) => {$(
        impl Resource for $type {
            const PREFIX: &'static str = $prefix;
            fn id(&self) -> &str {
                self.id.as_str()
            }
            fn org(&self) -> &OrgId {
                &self.org_id
            }
        }
    )*};
}

resource! {
    Api => "API#",
    Policy => "POLICY#",
    CatalogEntry => "CATALOG#",
    KeyRequest => "KEYREQ#",
    ApiKey => "KEY#",
}

/// Every resource of this kind in the organisation, read a page of 100 at a time.
pub async fn all<R: Resource>(store: &dyn Store, org: &OrgId) -> Result<Vec<R>, StoreError> {
    super::query_all(store, &keys::org_pk(org), R::PREFIX)
        .await?
        .into_iter()
        .map(from_record)
        .collect()
}

/// The write that stores `resource` at `version` (0 creates), for callers composing a transaction.
pub fn write<R: Resource>(resource: &R, version: u64) -> Write {
    Write::put_versioned(
        key::<R>(resource.org(), resource.id()).record(to_attrs(resource)),
        version,
    )
}

pub fn key<R: Resource>(org: &OrgId, id: &str) -> Key {
    Key::new(keys::org_pk(org), format!("{}{id}", R::PREFIX))
}

/// Writes `resource` at `version` (0 creates) with `events`; `Err(ConditionFailed)` when someone
/// else changed it first.
pub async fn save<R: Resource>(
    store: &dyn Store,
    resource: &R,
    version: u64,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut writes = vec![write(resource, version)];
    writes.extend(events.iter().map(event_write));
    store.transact(writes).await
}

pub async fn get<R: Resource>(store: &dyn Store, org: &OrgId, id: &str) -> Result<Option<Versioned<R>>, StoreError> {
    super::get_versioned(store, &key::<R>(org, id)).await
}

/// A page of the organisation's resources of this kind, in id (creation) order.
pub async fn list<R: Resource>(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<R>, Option<String>), StoreError> {
    let after = after.map(|id| format!("{}{id}", R::PREFIX));
    let page = store
        .query(&keys::org_pk(org), R::PREFIX, after.as_deref(), limit)
        .await?;
    let next = page.next.map(|sk| sk.trim_start_matches(R::PREFIX).to_string());
    let items = page
        .records
        .into_iter()
        .map(from_record)
        .collect::<Result<Vec<R>, _>>()?;
    Ok((items, next))
}

pub async fn delete<R: Resource>(
    store: &dyn Store,
    resource: &R,
    version: u64,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut writes = vec![Write::Delete {
        key: key::<R>(resource.org(), resource.id()),
        condition: Condition::Version(version),
    }];
    writes.extend(events.iter().map(event_write));
    store.transact(writes).await
}
