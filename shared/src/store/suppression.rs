//! Who is not written to: the deployment's suppression list (hard bounces and complaints, from SES
//! feedback) and each organisation's opt-outs (one-click unsubscribe, per category).

use serde::{Deserialize, Serialize};

use super::{from_record, table_keys, to_attrs, Condition, Store, StoreError, Write};
use crate::domain::{now_rfc3339, Email, OrgId};
use crate::secret::token_hash;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    pub email: String,
    /// `bounce` or `complaint`.
    pub reason: String,
    /// The provider's words (bounce type and subtype, complaint type).
    pub detail: String,
    pub at: String,
}

fn hash(email: &Email) -> String {
    token_hash(&email.normalized())
}

pub async fn suppress(store: &dyn Store, email: &Email, reason: &str, detail: &str) -> Result<(), StoreError> {
    let entry = Suppression {
        email: email.normalized(),
        reason: reason.into(),
        detail: detail.into(),
        at: now_rfc3339(),
    };
    store
        .transact(vec![Write::put(
            table_keys::suppressed(&hash(email)).record(to_attrs(&entry)),
            Condition::None,
        )])
        .await
}

/// Eventually consistent: an address suppressed in the last second may get one more email.
pub async fn suppressed(store: &dyn Store, email: &Email) -> Result<Option<Suppression>, StoreError> {
    store
        .get_eventually(&table_keys::suppressed(&hash(email)))
        .await?
        .map(from_record)
        .transpose()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptOut {
    pub email: String,
    pub category: String,
    pub at: String,
}

pub async fn opt_out(store: &dyn Store, org: &OrgId, email: &Email, category: &str) -> Result<(), StoreError> {
    let entry = OptOut {
        email: email.normalized(),
        category: category.into(),
        at: now_rfc3339(),
    };
    store
        .transact(vec![Write::put(
            table_keys::opt_out(org, &hash(email), category).record(to_attrs(&entry)),
            Condition::None,
        )])
        .await
}

/// Eventually consistent, as [`suppressed`] is.
pub async fn opted_out(store: &dyn Store, org: &OrgId, email: &Email, category: &str) -> Result<bool, StoreError> {
    Ok(store
        .get_eventually(&table_keys::opt_out(org, &hash(email), category))
        .await?
        .is_some())
}
