// The role table as openapi.yaml's orgAdmin scheme states it, to show each admin only what their
// role may do. The API stays the authority: a button shown by mistake gets a 403.
import type { Schemas } from "./api/client";

export type Permission =
  | "read_organisation"
  | "change_settings"
  | "change_destinations"
  | "read_developers"
  | "manage_developers"
  | "read_catalog"
  | "manage_catalog"
  | "read_key_requests"
  | "decide_key_requests"
  | "read_keys"
  | "manage_keys"
  | "read_deliveries"
  | "manage_deliveries"
  | "read_admins"
  | "manage_admins"
  | "manage_owners"
  | "read_audit_log"
  | "send_digests"
  | "read_usage"
  | "manage_budgets";

const APPROVER: Permission[] = [
  "read_organisation",
  "read_developers",
  "read_catalog",
  "read_key_requests",
  "decide_key_requests",
  "read_keys",
];

export function roleMay(role: Schemas["PersonRole"], permission: Permission): boolean {
  switch (role) {
    case "owner":
      return true;
    case "admin":
      return !["manage_owners", "send_digests", "change_destinations"].includes(permission);
    case "approver":
      return APPROVER.includes(permission);
    case "viewer":
      return permission.startsWith("read_");
  }
}
