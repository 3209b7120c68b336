//! Who may do what in an organisation: the roles an admin key (and, later, an admin user) holds,
//! and the one table of what each role allows. Every admin use case names the permission it needs
//! (`service::auth::OrgAdmin::require`); this table alone decides.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including owners, admin keys of any role, settings and the signing secret.
    Owner,
    /// Everything except granting, changing or removing the owner role.
    Admin,
    /// Reads developers, the catalog, key requests and keys; decides key requests.
    Approver,
    /// Reads everything an admin can read; changes nothing.
    Viewer,
    /// A gateway's credential (admin keys only): verifies API keys and does nothing else.
    Gateway,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Approver, Role::Viewer, Role::Gateway];
    /// The roles a person (an admin user) may hold: a gateway is a machine.
    pub const OF_PEOPLE: [Role; 4] = [Role::Owner, Role::Admin, Role::Approver, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Approver => "approver",
            Role::Viewer => "viewer",
            Role::Gateway => "gateway",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The permission table.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(permission, ManageOwners | SendDigests | ChangeDestinations),
            Role::Approver => matches!(
                permission,
                ReadOrganisation | ReadDevelopers | ReadCatalog | ReadKeyRequests | DecideKeyRequests | ReadKeys
            ),
            Role::Viewer => permission.is_read(),
            Role::Gateway => permission == VerifyKeys,
        }
    }

    /// Every permission this role holds, in the table's order.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|p| self.allows(*p)).collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an admin use case needs. Its snake_case name is the one openapi.yaml's `x-permission`
/// and an admin user's login answer (`permissions`) use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// The organisation's name, settings and `event_options` (never its secrets).
    ReadOrganisation,
    /// Settings and `event_options`, except where links, emails and webhooks go.
    ChangeSettings,
    /// Where links and secrets go: `portal_url`, `redirect_to`, `admin_email`, every webhook URL
    /// and `event_options` address, and the webhook signing secret. Owners only: whoever moves
    /// these can receive an owner's reset link or forge the organisation's webhooks.
    ChangeDestinations,
    ReadDevelopers,
    /// Invite, edit and remove developers.
    ManageDevelopers,
    /// APIs, policies and catalog entries.
    ReadCatalog,
    ManageCatalog,
    ReadKeyRequests,
    /// Approve or decline key requests.
    DecideKeyRequests,
    ReadKeys,
    /// Issue keys to developers, change their policies, revoke them.
    ManageKeys,
    /// The delivery log, webhook endpoint health, email templates and their previews.
    ReadDeliveries,
    /// Replay deliveries, enable endpoints, send test emails.
    ManageDeliveries,
    /// Webhook URLs in full (their query often holds the receiver's token); without it, reads show
    /// them without query and fragment.
    SeeWebhookUrls,
    /// The admin keys (prefixes, roles, last use).
    ReadAdmins,
    /// Create and revoke admin keys of roles other than owner.
    ManageAdmins,
    /// Create, change or revoke anything holding the owner role.
    ManageOwners,
    /// The audit log.
    ReadAuditLog,
    /// Send the digests of pending key requests at once, outside their schedule.
    SendDigests,
    /// Check API keys at the gate (`POST /v1/keys/verify`), which counts their use.
    VerifyKeys,
    /// Usage and quotas of keys and developers, budgets and spend; holders are told when a key
    /// reaches a threshold.
    ReadUsage,
    /// Set budgets of keys and developers, and report their spend.
    ManageBudgets,
}

impl Permission {
    pub const ALL: [Permission; 22] = [
        Permission::ReadOrganisation,
        Permission::ChangeSettings,
        Permission::ChangeDestinations,
        Permission::ReadDevelopers,
        Permission::ManageDevelopers,
        Permission::ReadCatalog,
        Permission::ManageCatalog,
        Permission::ReadKeyRequests,
        Permission::DecideKeyRequests,
        Permission::ReadKeys,
        Permission::ManageKeys,
        Permission::ReadDeliveries,
        Permission::ManageDeliveries,
        Permission::SeeWebhookUrls,
        Permission::ReadAdmins,
        Permission::ManageAdmins,
        Permission::ManageOwners,
        Permission::ReadAuditLog,
        Permission::SendDigests,
        Permission::VerifyKeys,
        Permission::ReadUsage,
        Permission::ManageBudgets,
    ];

    pub fn is_read(self) -> bool {
        use Permission::*;
        matches!(
            self,
            ReadOrganisation
                | ReadDevelopers
                | ReadCatalog
                | ReadKeyRequests
                | ReadKeys
                | ReadDeliveries
                | ReadAdmins
                | ReadAuditLog
                | ReadUsage
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_from_owner_down_to_viewer() {
        for p in Permission::ALL {
            assert!(Role::Owner.allows(p));
            // What a lesser role may do, every greater one may too.
            assert!(!Role::Approver.allows(p) || Role::Admin.allows(p), "{p:?}");
            assert!(!Role::Viewer.allows(p) || p.is_read(), "{p:?}");
            // A gateway verifies keys and can do nothing else.
            assert_eq!(Role::Gateway.allows(p), p == Permission::VerifyKeys, "{p:?}");
        }
        assert!(
            !Role::Viewer.allows(Permission::VerifyKeys),
            "verifying counts use: a write"
        );
        assert!(Role::Viewer.allows(Permission::ReadUsage));
        assert!(!Role::Admin.allows(Permission::ManageOwners));
        assert!(!Role::Admin.allows(Permission::SendDigests));
        assert!(!Role::Admin.allows(Permission::ChangeDestinations));
        assert!(Role::Admin.allows(Permission::SeeWebhookUrls));
        assert!(!Role::Approver.allows(Permission::SeeWebhookUrls));
        assert!(!Role::Viewer.allows(Permission::SeeWebhookUrls));
        assert!(Role::Owner.allows(Permission::ChangeDestinations));
        assert!(Role::Owner.allows(Permission::SendDigests));
        assert!(Role::Admin.allows(Permission::ManageAdmins));
        assert!(Role::Approver.allows(Permission::DecideKeyRequests));
        assert!(!Role::Approver.allows(Permission::ManageKeys));
        assert!(!Role::Approver.allows(Permission::ReadDeliveries));
        assert!(!Role::Viewer.allows(Permission::DecideKeyRequests));
        assert!(Role::Viewer.allows(Permission::ReadDeliveries));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("gateway"), Some(Role::Gateway));
        assert!(!Role::OF_PEOPLE.contains(&Role::Gateway));
    }
}
