//! Admin users, with the guard that keeps their emails unique in an organisation. Both live in the
//! organisation's partition: an organisation has few admins, an admin changes rarely, and a login
//! reads the record without writing it.

use serde_json::{json, Map};

use super::{
    from_record, get_versioned, table_keys, to_attrs, version_of, Condition, Store, StoreError, Versioned, Write,
};
use crate::domain::{AdminUser, AdminUserId, Email, OrgId};
use crate::store::sessions::{self, Account};

fn record(user: &AdminUser) -> super::Record {
    table_keys::admin_user(&user.org_id, &user.id).record(to_attrs(user))
}

fn guard(user: &AdminUser) -> super::Record {
    table_keys::admin_email(&user.org_id, &user.email.normalized())
        .record(Map::from_iter([("admin_id".to_string(), json!(user.id))]))
}

/// The writes that add a new admin user (refused, at index 0, if another has the email).
pub fn create(user: &AdminUser) -> Vec<Write> {
    vec![
        Write::put(guard(user), Condition::NotExists),
        Write::put_versioned(record(user), 0),
    ]
}

pub async fn get(store: &dyn Store, org: &OrgId, id: &AdminUserId) -> Result<Option<Versioned<AdminUser>>, StoreError> {
    get_versioned(store, &table_keys::admin_user(org, id)).await
}

pub async fn find_by_email(
    store: &dyn Store,
    org: &OrgId,
    email: &Email,
) -> Result<Option<Versioned<AdminUser>>, StoreError> {
    let Some(guard) = store.get(&table_keys::admin_email(org, &email.normalized())).await? else {
        return Ok(None);
    };
    let id = guard
        .get("admin_id")
        .and_then(|v| v.as_str())
        .and_then(AdminUserId::parse)
        .ok_or_else(|| StoreError::Invalid("an admin email guard without an admin id".into()))?;
    get(store, org, &id).await
}

/// The write that saves a changed admin user read at `version` (the email never changes).
pub fn save(user: &AdminUser, version: u64) -> Write {
    Write::put_versioned(record(user), version)
}

/// A check for a transaction: the admin user is still as read at `version`.
pub fn unchanged(user: &AdminUser, version: u64) -> Write {
    Write::Check {
        key: table_keys::admin_user(&user.org_id, &user.id),
        condition: Condition::Version(version),
    }
}

/// The writes that remove an admin user read at `version`: the record, the email guard, their
/// sessions and their known addresses.
pub async fn delete(store: &dyn Store, user: &AdminUser, version: u64) -> Result<Vec<Write>, StoreError> {
    let account = Account::Admin(&user.id);
    let mut writes = vec![
        Write::Delete {
            key: table_keys::admin_user(&user.org_id, &user.id),
            condition: Condition::Version(version),
        },
        Write::Delete {
            key: table_keys::admin_email(&user.org_id, &user.email.normalized()),
            condition: Condition::None,
        },
        sessions::forget_addresses(&user.org_id, account),
        super::preferences::forget(&user.org_id, account),
    ];
    writes.extend(sessions::end_all(store, &user.org_id, account).await?);
    Ok(writes)
}

/// A page of the organisation's admin users in id (so creation) order, each with its version.
pub async fn page(
    store: &dyn Store,
    org: &OrgId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<Versioned<AdminUser>>, Option<String>), StoreError> {
    let page = store
        .query(&table_keys::org_pk(org), table_keys::ADMIN_USER_PREFIX, after, limit)
        .await?;
    let mut users = Vec::with_capacity(page.records.len());
    for record in page.records {
        let version = version_of(&record);
        users.push(Versioned {
            value: from_record(record)?,
            version,
        });
    }
    Ok((users, page.next))
}
