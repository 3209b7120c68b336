//! Developer accounts, with the guard item that keeps emails unique per organisation.

use serde_json::{json, Map};

use super::orgs::event_write;
use super::{keys, to_attrs, Condition, Store, StoreError, Write};
use crate::domain::{Developer, Event};

#[derive(Debug, PartialEq, Eq)]
pub enum SignUpOutcome {
    Created,
    /// An account with this email (in any case) exists in the organisation; nothing was written.
    EmailTaken,
}

/// Writes the developer, its email guard and the sign-up event in one transaction.
pub async fn create_developer(store: &dyn Store, developer: &Developer, event: &Event) -> Result<SignUpOutcome, StoreError> {
    let guard = keys::developer_email(&developer.org_id, &developer.email.normalized())
        .record(Map::from_iter([("developer_id".to_string(), json!(developer.id))]));
    let record = keys::developer(&developer.org_id, &developer.id).record(to_attrs(developer));
    let writes = vec![
        Write::put(guard, Condition::NotExists),
        Write::put_versioned(record, 0),
        event_write(event),
    ];
    match store.transact(writes).await {
        Ok(()) => Ok(SignUpOutcome::Created),
        Err(StoreError::ConditionFailed { index: Some(0) }) => Ok(SignUpOutcome::EmailTaken),
        Err(e) => Err(e),
    }
}
