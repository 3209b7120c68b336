// Who is signed in to this tab: a developer or an admin user of one organisation. The token itself
// is kept by the API client, in memory only (see api/client.ts).
import { api, call, setToken, type Schemas } from "./api/client";

/** One of the permissions an admin role holds, named as openapi.yaml's x-permission names them. */
export type Permission = Schemas["Permission"];

export type Signed =
  | { kind: "developer"; org: string; developer: Schemas["Developer"] }
  | { kind: "admin"; org: string; admin: Schemas["AdminUser"]; permissions: ReadonlySet<Permission> };

let current: Signed | null = null;

export function signedIn(): Signed | null {
  return current;
}

export function developerOf(org: string): Schemas["Developer"] | null {
  return current?.kind === "developer" && current.org === org ? current.developer : null;
}

export function adminOf(org: string): Schemas["AdminUser"] | null {
  return current?.kind === "admin" && current.org === org ? current.admin : null;
}

/**
 * Whether the signed-in admin's role may do this, as the login answer listed it. The portal keeps
 * no role table of its own; the API decides every call in the end, this only hides what it would refuse.
 */
export function may(org: string, permission: Permission): boolean {
  return current?.kind === "admin" && current.org === org && current.permissions.has(permission);
}

export async function logInDeveloper(org: string, email: string, password: string): Promise<void> {
  const answer = await call(api.POST("/portal/{org}/login", { params: { path: { org } }, body: { email, password } }));
  setToken(answer.token);
  current = { kind: "developer", org, developer: answer.developer };
}

export async function logInAdmin(org: string, email: string, password: string): Promise<void> {
  const answer = await call(api.POST("/orgs/{org}/login", { params: { path: { org } }, body: { email, password } }));
  setToken(answer.token);
  current = { kind: "admin", org, admin: answer.admin, permissions: new Set(answer.permissions) };
}

export function updateDeveloper(developer: Schemas["Developer"]): void {
  if (current?.kind === "developer") current = { ...current, developer };
}

export function updateAdmin(admin: Schemas["AdminUser"]): void {
  if (current?.kind === "admin") current = { ...current, admin };
}

export async function logOut(): Promise<void> {
  const signed = current;
  current = null;
  try {
    if (signed?.kind === "developer") {
      await api.POST("/portal/{org}/logout", { params: { path: { org: signed.org } } });
    } else if (signed?.kind === "admin") {
      await api.POST("/orgs/{org}/logout", { params: { path: { org: signed.org } } });
    }
  } finally {
    setToken(null);
  }
}

/** Forgets a session the API no longer takes (expired, ended elsewhere). */
export function forget(): void {
  current = null;
  setToken(null);
}
