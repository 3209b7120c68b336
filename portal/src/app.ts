// The shell: routes under /o/{org}/…, the header with the organisation, the navigation a session
// may use and the inbox's unread count, and moving between pages without reloading (a reload would
// forget the session, which lives in memory only).
import { ApiProblem, api, call, type Answer } from "./api/client";
import { h, notice } from "./dom";
import { adminOf, developerOf, forget, logOut, may, signedIn, type Permission } from "./session";

export type Face = Answer<"portalFace">;

export interface Context {
  org: string;
  face: Face;
  params: Record<string, string>;
  query: URLSearchParams;
  /** This page's path and query, to come back to after a login. */
  here: string;
}

export type Audience = "public" | "developer" | "admin";

export interface Route {
  /** A path under /o/{org}: `catalog/:id`, `admin/key-requests`. */
  path: string;
  title: string;
  audience: Audience;
  /** For admin pages: what the role must hold to see the page at all. */
  needs?: Permission;
  render: (context: Context) => Promise<Node> | Node;
}

const routes: Route[] = [];
let loginPage: Record<"developer" | "admin", (context: Context) => Node> | null = null;

export function addRoutes(more: Route[]): void {
  routes.push(...more);
}

export function setLoginPages(pages: Record<"developer" | "admin", (context: Context) => Node>): void {
  loginPage = pages;
}

/** A path of an organisation's portal. */
export function orgPath(org: string, path = ""): string {
  return `/o/${encodeURIComponent(org)}/${path}`.replace(/\/$/, "") || "/";
}

export function go(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  void render();
}

function match(path: string): { route: Route; params: Record<string, string> } | null {
  const given = path.split("/").filter(Boolean);
  for (const route of routes) {
    const wanted = route.path.split("/").filter(Boolean);
    if (wanted.length !== given.length) continue;
    const params: Record<string, string> = {};
    if (wanted.every((part, i) => (part.startsWith(":") ? ((params[part.slice(1)] = decodeURIComponent(given[i]!)), true) : part === given[i]))) {
      return { route, params };
    }
  }
  return null;
}

const faces = new Map<string, Face>();

async function faceOf(org: string): Promise<Face> {
  const known = faces.get(org);
  if (known) return known;
  const face = await call(api.GET("/portal/{org}", { params: { path: { org } } }));
  faces.set(org, face);
  return face;
}

const main = () => document.getElementById("main")!;

/** Draws the page the address names. */
export async function render(): Promise<void> {
  const parts = location.pathname.split("/").filter(Boolean);
  if (parts[0] !== "o" || !parts[1]) {
    return show(null, "Gatehouse", welcome());
  }
  const org = decodeURIComponent(parts[1]);
  let face: Face;
  try {
    face = await faceOf(org);
  } catch (error) {
    const missing = error instanceof ApiProblem && error.status === 404;
    return show(null, "Not found", h("section", {}, h("h1", { tabindex: -1 }, missing ? "No such portal" : "The portal could not load"), notice(missing ? `There is no organisation “${org}”.` : (error as Error).message, "error")));
  }
  const found = match(parts.slice(2).join("/"));
  const context: Context = {
    org,
    face,
    params: found?.params ?? {},
    query: new URLSearchParams(location.search),
    here: location.pathname + location.search,
  };
  if (!found) {
    return show(face, "Page not found", h("section", {}, h("h1", { tabindex: -1 }, "Page not found"), h("p", {}, h("a", { href: orgPath(org, developerOf(org) ? "catalog" : "") }, "Go to the start"))));
  }
  const { route } = found;
  const needsLogin =
    (route.audience === "developer" && !developerOf(org)) || (route.audience === "admin" && !adminOf(org));
  if (needsLogin && loginPage) {
    return show(face, "Log in", loginPage[route.audience as "developer" | "admin"](context));
  }
  if (route.needs && !may(org, route.needs)) {
    return show(face, route.title, h("section", {}, h("h1", { tabindex: -1 }, route.title), notice("Your role does not include this page.", "error")));
  }
  try {
    show(face, route.title, await route.render(context));
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 401) {
      forget();
      return render();
    }
    show(face, route.title, h("section", {}, h("h1", { tabindex: -1 }, route.title), notice(error instanceof Error ? error.message : String(error), "error")));
  }
}

function show(face: Face | null, title: string, page: Node): void {
  document.title = face ? `${title} · ${face.name}` : title;
  header(face);
  main().replaceChildren(page);
  // The new page's heading takes the focus, so keyboard and screen reader users start there.
  const heading = main().querySelector<HTMLElement>("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function welcome(): Node {
  return h(
    "section",
    {},
    h("h1", { tabindex: -1 }, "Gatehouse portal"),
    h("p", {}, "Each organisation's portal lives at /o/{organisation}. Follow the link in your email or ask your organisation for its address."),
  );
}

/** The header: the organisation, the navigation of whoever is signed in, the inbox count. */
function header(face: Face | null): void {
  const banner = document.getElementById("banner")!;
  if (!face) {
    banner.replaceChildren(h("span", { class: "brand" }, "Gatehouse"));
    return;
  }
  const org = face.id;
  const link = (path: string, text: string) =>
    h("a", { href: orgPath(org, path), "aria-current": location.pathname === orgPath(org, path) ? "page" : null }, text);
  const signed = signedIn();
  const items: Node[] = [];
  if (signed?.kind === "developer" && signed.org === org) {
    items.push(link("catalog", "Catalog"), link("keys", "My keys"), link("usage", "Usage"), inboxLink(org, "inbox"), link("account", "Account"));
  } else if (signed?.kind === "admin" && signed.org === org) {
    const allowed: [string, string, Permission][] = [
      ["admin/key-requests", "Key requests", "read_key_requests"],
      ["admin/developers", "Developers", "read_developers"],
      ["admin/catalog", "Catalog", "read_catalog"],
      ["admin/deliveries", "Deliveries", "read_deliveries"],
      ["admin/audit-log", "Audit log", "read_audit_log"],
      ["admin/admins", "Admins", "read_admins"],
      ["admin/usage", "Usage", "read_usage"],
      ["admin/settings", "Settings", "read_organisation"],
    ];
    for (const [path, text, permission] of allowed) if (may(org, permission)) items.push(link(path, text));
    items.push(inboxLink(org, "admin/inbox"), link("admin/account", "Account"));
  } else {
    items.push(link("catalog", "Catalog"), link("login", "Log in"));
    if (face.signup === "open" || face.signup === "admin_approval") items.push(link("signup", "Sign up"));
  }
  if (signed && signed.org === org) {
    items.push(
      h("button", { type: "button", class: "link", onclick: async () => {
        await logOut();
        go(orgPath(org, signed.kind === "admin" ? "admin/login" : "login"));
      } }, "Log out"),
    );
  }
  banner.replaceChildren(
    h("a", { class: "brand", href: orgPath(org, signed?.kind === "admin" ? "admin/key-requests" : "catalog") }, face.name),
    h("nav", { "aria-label": "Main" }, h("ul", {}, items.map((item) => h("li", {}, item)))),
  );
}

/** The inbox link, its unread count read afresh each time the header is drawn. */
function inboxLink(org: string, path: string): HTMLElement {
  const badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
  const spoken = h("span", { class: "visually-hidden" });
  const anchor = h("a", { href: orgPath(org, path), "aria-current": location.pathname === orgPath(org, path) ? "page" : null }, h("span", {}, "Inbox", spoken), badge);
  void refreshUnread(org).then((unread) => {
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    spoken.textContent = unread ? ` (${unread} unread)` : "";
  });
  return anchor;
}

export async function refreshUnread(org: string): Promise<number> {
  try {
    const answer = developerOf(org)
      ? await call(api.GET("/portal/{org}/notifications/count", { params: { path: { org } } }))
      : await call(api.GET("/orgs/{org}/me/notifications/count", { params: { path: { org } } }));
    return answer.unread;
  } catch {
    return 0;
  }
}

/** Redraws the header (after something changed the inbox count or the session). */
export function redrawHeader(face: Face): void {
  header(face);
}

/** Links inside the portal move without a reload. */
export function start(): void {
  document.addEventListener("click", (event) => {
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith("/o/") || anchor.target) return;
    event.preventDefault();
    go(url.pathname + url.search);
  });
  window.addEventListener("popstate", () => void render());
  void render();
}
