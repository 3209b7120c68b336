//! Organisation-owned resources (APIs, policies, catalog entries, key requests, API keys): one record
//! each under `<PREFIX><id>` in the organisation's partition, versioned. What a developer owns is also
//! indexed under the developer in GSI1, so their own list is one query of their own records.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{from_record, table_keys, to_attrs, Condition, Key, Store, StoreError, Versioned, Write, GSI1PK, GSI1SK};
use crate::domain::api_keys::{ApiKey, KeyRequest};
use crate::domain::catalog::{Api, CatalogEntry, Policy};
use crate::domain::{DeveloperId, OrgId};

pub trait Resource: Serialize + DeserializeOwned + Send + Sync {
    /// The sort key prefix, e.g. `API#`.
    const PREFIX: &'static str;
    fn id(&self) -> &str;
    fn org(&self) -> &OrgId;
    /// The developer it belongs to, for resources listed per developer.
    fn owner(&self) -> Option<&DeveloperId> {
        None
    }
}

/// Resources carry their own `id` and `org_id`; owned ones a `developer_id`.
macro_rules! resource {
    ($($type:ty => $prefix:expr $(, owned by $owner:ident)?);* $(;)?) => {$(
        impl Resource for $type {
            const PREFIX: &'static str = $prefix;
            fn id(&self) -> &str {
                self.id.as_str()
            }
            fn org(&self) -> &OrgId {
                &self.org_id
            }
            $(fn owner(&self) -> Option<&DeveloperId> {
                Some(&self.$owner)
            })?
        }
    )*};
}

resource! {
    Api => table_keys::API_PREFIX;
    Policy => table_keys::POLICY_PREFIX;
    CatalogEntry => table_keys::CATALOG_PREFIX;
    KeyRequest => table_keys::KEY_REQUEST_PREFIX, owned by developer_id;
    ApiKey => table_keys::API_KEY_PREFIX, owned by developer_id;
}

/// Every resource of this kind in the organisation, read a page of 100 at a time.
pub async fn all<R: Resource>(store: &dyn Store, org: &OrgId) -> Result<Vec<R>, StoreError> {
    super::query_all(store, &table_keys::org_pk(org), R::PREFIX)
        .await?
        .into_iter()
        .map(from_record)
        .collect()
}

/// Every resource of this kind that `developer` owns, from GSI1: only their records are read.
pub async fn of_developer<R: Resource>(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
) -> Result<Vec<R>, StoreError> {
    let pk = table_keys::developer_items_pk(org, developer);
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.query_gsi1(&pk, R::PREFIX, after.as_deref(), 100).await?;
        for record in page.records {
            items.push(from_record(record)?);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(items),
        }
    }
}

/// The write that stores `resource` at `version` (0 creates), for callers composing a transaction.
pub fn write<R: Resource>(resource: &R, version: u64) -> Write {
    let key = key::<R>(resource.org(), resource.id());
    let mut attrs = to_attrs(resource);
    if let Some(owner) = resource.owner() {
        attrs.insert(
            GSI1PK.into(),
            Value::from(table_keys::developer_items_pk(resource.org(), owner)),
        );
        attrs.insert(GSI1SK.into(), Value::from(key.sk.clone()));
    }
    Write::put_versioned(key.record(attrs), version)
}

/// The write that deletes `resource` if it is still at `version`.
pub fn delete_write<R: Resource>(resource: &R, version: u64) -> Write {
    Write::Delete {
        key: key::<R>(resource.org(), resource.id()),
        condition: Condition::Version(version),
    }
}

pub fn key<R: Resource>(org: &OrgId, id: &str) -> Key {
    Key::new(table_keys::org_pk(org), format!("{}{id}", R::PREFIX))
}

pub async fn get<R: Resource>(store: &dyn Store, org: &OrgId, id: &str) -> Result<Option<Versioned<R>>, StoreError> {
    super::get_versioned(store, &key::<R>(org, id)).await
}

/// A page of the organisation's resources of this kind, in id (creation) order, after the cursor
/// `after` (a previous page's `next`).
pub async fn list<R: Resource>(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<R>, Option<String>), StoreError> {
    let page = store.query(&table_keys::org_pk(org), R::PREFIX, after, limit).await?;
    let items = page
        .records
        .into_iter()
        .map(from_record)
        .collect::<Result<Vec<R>, _>>()?;
    Ok((items, page.next))
}

/// A page of the resources of this kind that `developer` owns, from GSI1.
pub async fn page_of_developer<R: Resource>(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<R>, Option<String>), StoreError> {
    let pk = table_keys::developer_items_pk(org, developer);
    let page = store.query_gsi1(&pk, R::PREFIX, after, limit).await?;
    let items = page
        .records
        .into_iter()
        .map(from_record)
        .collect::<Result<Vec<R>, _>>()?;
    Ok((items, page.next))
}
