//! The organisation's view of the notification types: each type with its category, whether it is
//! critical and, per channel, its default and whether the organisation left it on; and the admin
//! switches that turn a non-critical type off for a channel, organisation-wide.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::OrgAdmin;
use super::{load_org, orgs, AppState, ServiceError};
use crate::domain::notifications::{Category, Channel, NotificationType, Switches, TYPES};
use crate::domain::roles::Permission;
use crate::domain::{now_rfc3339, ValidationErrors};

/// One channel of a type, as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelState {
    /// Whether the type uses the channel unless someone says otherwise.
    pub default: bool,
    /// Whether the organisation leaves it on (critical types always).
    pub enabled: bool,
}

/// A notification type, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeState {
    pub name: &'static str,
    pub category: Category,
    /// Who it reaches: `developer`, `admin`, `owners`, `admin_and_owners` or `event_options`.
    pub audience: &'static str,
    pub critical: bool,
    pub email: ChannelState,
    pub in_app: ChannelState,
}

fn state_of(t: &NotificationType, switches: &Switches) -> TypeState {
    let channel = |default: bool, c: Channel| ChannelState {
        default,
        enabled: !switches.is_off(t, c),
    };
    TypeState {
        name: t.name,
        category: t.category,
        audience: t.audience.as_str(),
        critical: t.critical,
        email: channel(t.email, Channel::Email),
        in_app: channel(t.in_app, Channel::InApp),
    }
}

pub async fn list(state: &AppState, admin: &OrgAdmin) -> Result<Vec<TypeState>, ServiceError> {
    admin.require(Permission::ReadOrganisation)?;
    let org = load_org(state, &admin.org).await?;
    Ok(TYPES.iter().map(|t| state_of(t, &org.notification_switches)).collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchesInput {
    /// `{"<type>": {"email": bool, "in_app": bool}}`: the whole set; a type left out is on.
    pub types: Option<Value>,
}

/// Replaces the organisation's switches (audited as `notification_types.changed`).
pub async fn set_switches(
    state: &AppState,
    admin: &OrgAdmin,
    input: SwitchesInput,
) -> Result<Vec<TypeState>, ServiceError> {
    admin.require(Permission::ChangeSettings)?;
    let mut errors = ValidationErrors::default();
    let Some(types) = input.types else {
        errors.push("types", "is required");
        return Err(errors.into());
    };
    let switches = Switches::parse(&types, &mut errors);
    let Some(switches) = switches else {
        return Err(errors.into());
    };
    let org = orgs::change_org(state, admin, "notification_types.changed", |org| {
        org.notification_switches = switches.clone();
        org.updated_at = now_rfc3339();
        Ok(())
    })
    .await?;
    Ok(TYPES.iter().map(|t| state_of(t, &org.notification_switches)).collect())
}
