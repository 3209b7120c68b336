//! Organisation-owned resources, versioned. The catalog (APIs, policies, catalog entries) changes
//! rarely and is listed together, so it lives in the organisation's partition under `<PREFIX><id>`.
//! Key requests and API keys are written per request, so each has a partition of its own, listed
//! organisation-wide through GSI2's write shards, and indexed under their developer in GSI1, so a
//! developer's own list is one query of their own records.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{table_keys, to_attrs, Condition, Key, Store, StoreError, Versioned, Write, GSI1PK, GSI1SK};
use crate::domain::api_keys::{ApiKey, KeyRequest};
use crate::domain::budgets::Budget;
use crate::domain::catalog::{Api, CatalogEntry, Policy};
use crate::domain::{DeveloperId, OrgId};

/// Where a kind of resource is kept (see the module's comment).
pub enum Placement {
    /// In the organisation's partition, under this sort-key prefix.
    Collection(&'static str),
    /// In a partition of its own per record, listed through GSI2; the kind names both.
    Spread(&'static str),
}

pub trait Resource: Serialize + DeserializeOwned + Send + Sync {
    const PLACEMENT: Placement;
    fn id(&self) -> &str;
    fn org(&self) -> &OrgId;
    /// The developer it belongs to, for resources listed per developer.
    fn owner(&self) -> Option<&DeveloperId> {
        None
    }
}

/// Resources carry their own `id` and `org_id`; owned ones a `developer_id`.
macro_rules! resource {
    ($($type:ty => $placement:expr $(, owned by $owner:ident)?);* $(;)?) => {$(
        impl Resource for $type {
            const PLACEMENT: Placement = $placement;
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
    Api => Placement::Collection(table_keys::API_PREFIX);
    Policy => Placement::Collection(table_keys::POLICY_PREFIX);
    Budget => Placement::Collection(table_keys::BUDGET_PREFIX);
    CatalogEntry => Placement::Collection(table_keys::CATALOG_PREFIX);
    KeyRequest => Placement::Spread(table_keys::KEY_REQUEST_KIND), owned by developer_id;
    ApiKey => Placement::Spread(table_keys::API_KEY_KIND), owned by developer_id;
}

/// The GSI1 sort-key prefix of this kind under its developer.
fn owned_prefix<R: Resource>() -> String {
    match R::PLACEMENT {
        Placement::Collection(prefix) => prefix.to_string(),
        Placement::Spread(kind) => table_keys::developer_item_sk(kind, ""),
    }
}

/// Every resource of this kind in the organisation, read a page of 100 at a time.
pub async fn all<R: Resource>(store: &dyn Store, org: &OrgId) -> Result<Vec<R>, StoreError> {
    super::every_page(|after| async move { list::<R>(store, org, after.as_deref(), 100).await }).await
}

/// Every resource of this kind that `developer` owns, from GSI1: only their records are read.
pub async fn of_developer<R: Resource>(
    store: &dyn Store,
    org: &OrgId,
    developer: &DeveloperId,
) -> Result<Vec<R>, StoreError> {
    super::every_page(|after| async move { page_of_developer::<R>(store, org, developer, after.as_deref(), 100).await })
        .await
}

/// The write that stores `resource` at `version` (0 creates), for callers composing a transaction.
pub fn write<R: Resource>(resource: &R, version: u64) -> Write {
    let (org, id) = (resource.org(), resource.id());
    let mut attrs = to_attrs(resource);
    if let Some(owner) = resource.owner() {
        attrs.insert(GSI1PK.into(), Value::from(table_keys::developer_items_pk(org, owner)));
        attrs.insert(GSI1SK.into(), Value::from(format!("{}{id}", owned_prefix::<R>())));
    }
    if let Placement::Spread(kind) = R::PLACEMENT {
        attrs.extend(super::listing_attrs(org, kind, id));
    }
    Write::put_versioned(key::<R>(org, id).record(attrs), version)
}

/// The write that deletes `resource` if it is still at `version`.
pub fn delete_write<R: Resource>(resource: &R, version: u64) -> Write {
    Write::Delete {
        key: key::<R>(resource.org(), resource.id()),
        condition: Condition::Version(version),
    }
}

pub fn key<R: Resource>(org: &OrgId, id: &str) -> Key {
    match R::PLACEMENT {
        Placement::Collection(prefix) => Key::new(table_keys::org_pk(org), format!("{prefix}{id}")),
        Placement::Spread(kind) => table_keys::spread(org, kind, id),
    }
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
    let page = match R::PLACEMENT {
        Placement::Collection(prefix) => store.query(&table_keys::org_pk(org), prefix, after, limit).await?,
        Placement::Spread(kind) => super::list_sharded(store, org, kind, after, false, limit).await?,
    };
    page.decode()
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
    let page = store.query_gsi1(&pk, &owned_prefix::<R>(), after, limit).await?;
    page.decode()
}
