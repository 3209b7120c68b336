// The admin pages: key requests to decide, developers, the catalog, deliveries with replay, the
// audit log, admin users and roles, admin keys, webhook endpoints, settings and switches, and the
// admin's own account (usage and budgets are in usage.ts). Each shows only what the signed-in role
// may do; the API decides in the end.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, orgPath, redrawHeader, type Context } from "../app";
import { action, choice, field, form, h, notice, table, when, type FormValues } from "../dom";
import { may, updateAdmin } from "../session";
import { article, languageName } from "./accounts";

const roles: [Schemas["PersonRole"], string][] = [
  ["viewer", "Viewer: reads everything"],
  ["approver", "Approver: decides key requests"],
  ["admin", "Admin: runs the organisation"],
  ["owner", "Owner: everything, and where links go"],
];

async function keyRequests(context: Context): Promise<Node> {
  const { org } = context;
  const wanted = (context.query.get("status") ?? "pending") as "pending" | "approved";
  const page = await call(api.GET("/orgs/{org}/key-requests", { params: { path: { org }, query: { status: wanted, limit: 100 } } }));
  const status = h("div", {});
  const decide = may(org, "decide_key_requests") && wanted === "pending";
  const redraw = () => go(location.pathname + location.search, true);
  const focused = context.params.id;
  const items = focused ? page.items.filter((r) => r.id === focused) : page.items;
  return h(
    "section",
    {},
    h("h1", {}, focused ? "Key request" : wanted === "pending" ? `Key requests waiting (${page.items.length})` : "Approved key requests"),
    h("p", {}, h("a", { href: orgPath(org, `admin/key-requests?status=${wanted === "pending" ? "approved" : "pending"}`) }, wanted === "pending" ? "Show approved" : "Show waiting")),
    status,
    focused && items.length === 0 ? notice("This request is decided or gone.") : null,
    items.length === 0 && !focused
      ? h("p", {}, "Nothing is waiting.")
      : table(
          "Key requests",
          ["Developer", "Catalog entry", "Fields", "Asked", decide ? "Decide" : "Status"],
          items.map((r) => [
            r.developer_email,
            r.catalog_id ?? "—",
            Object.entries(r.fields ?? {}).map(([k, v]) => `${k}: ${String(v)}`).join("; ") || "—",
            when(r.created_at),
            decide
              ? h(
                  "div",
                  { class: "row" },
                  action("Approve", `the request of ${r.developer_email}`, async () => {
                    await call(api.POST("/orgs/{org}/key-requests/{id}/approve", { params: { path: { org, id: r.id } } }));
                    status.replaceChildren(notice(`Approved. ${r.developer_email} gets their key by email.`));
                    redraw();
                  }, status),
                  action("Decline", `the request of ${r.developer_email}`, async () => {
                    await call(api.POST("/orgs/{org}/key-requests/{id}/decline", { params: { path: { org, id: r.id } } }));
                    status.replaceChildren(notice(`Declined; ${r.developer_email} is told.`));
                    redraw();
                  }, status, "secondary"),
                )
              : r.status,
          ]),
        ),
  );
}

async function developers(context: Context): Promise<Node> {
  const { org } = context;
  const email = context.query.get("email") ?? "";
  const page = await call(api.GET("/orgs/{org}/developers", { params: { path: { org }, query: { email: email || undefined, limit: 50 } } }));
  const search = h(
    "form",
    { role: "search", class: "row", "aria-label": "Search developers" },
    field({ name: "email", label: "Email starts with", type: "search", value: email }),
    h("button", { type: "submit" }, "Search"),
  );
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (search.elements.namedItem("email") as HTMLInputElement).value.trim();
    go(orgPath(org, `admin/developers${value ? `?email=${encodeURIComponent(value)}` : ""}`));
  });
  const status = h("div", {});
  const decide = (d: Schemas["Developer"], to: "active" | "rejected", text: string) =>
    action(text, d.email, async () => {
      await call(api.PATCH("/orgs/{org}/developers/{id}", { params: { path: { org, id: d.id } }, body: { status: to } }));
      go(location.pathname + location.search, true);
    }, status, to === "rejected" ? "secondary" : "");
  return h(
    "section",
    {},
    h("h1", {}, "Developers"),
    search,
    status,
    page.items.length === 0
      ? h("p", {}, "No developer matches.")
      : table(
          "Developers",
          ["Email", "Status", "Address confirmed", "Signed up"],
          page.items.map((d) => [
            d.email,
            d.status === "pending" && may(org, "manage_developers")
              ? h("div", { class: "row" }, "pending", decide(d, "active", "Approve"), decide(d, "rejected", "Reject"))
              : d.status,
            d.email_confirmed ? "yes" : "no",
            when(d.created_at),
          ]),
        ),
  );
}

async function catalog(context: Context): Promise<Node> {
  const { org } = context;
  const [entries, apis, policies] = await Promise.all([
    call(api.GET("/orgs/{org}/catalog", { params: { path: { org }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/apis", { params: { path: { org }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/policies", { params: { path: { org }, query: { limit: 100 } } })),
  ]);
  const name = (list: { id: string; name: string }[], id: string) => list.find((x) => x.id === id)?.name ?? id;
  const manage = may(org, "manage_catalog");
  const status = h("div", {});
  const reload = () => go(location.pathname, true);
  const approvals: [string, string][] = [["", "The organisation's default"], ["auto", "At once"], ["admin", "By an admin"], ["webhook", "By the approval service"], ["redirect", "On another site"]];
  const create =
    manage && apis.items.length > 0 && policies.items.length > 0
      ? form(
          "New catalog entry",
          [
            field({ name: "name", label: "Name", required: true }),
            field({ name: "description", label: "Description" }),
            choice("api_id", "API", apis.items.map((a): [string, string] => [a.id, a.name])),
            choice("policy_id", "Policy (must grant the API)", policies.items.map((p): [string, string] => [p.id, p.name])),
            choice("approval", "Key requests are decided", approvals),
            field({ name: "published", label: "Published: developers see it", type: "checkbox", value: true }),
          ],
          "Add entry",
          async (values) => {
            await call(
              api.POST("/orgs/{org}/catalog", {
                params: { path: { org } },
                body: {
                  name: values.text("name"),
                  description: values.optional("description") ?? undefined,
                  api_id: values.text("api_id"),
                  policy_id: values.text("policy_id"),
                  approval: (values.optional("approval") as Schemas["CatalogInput"]["approval"]) ?? undefined,
                  published: values.checked("published"),
                },
              }),
            );
            reload();
          },
        )
      : null;
  return h(
    "section",
    {},
    h("h1", {}, "Catalog"),
    status,
    entries.items.length === 0
      ? h("p", {}, "No catalog entries yet.")
      : table(
          "Catalog entries",
          ["Entry", "API", "Policy", "Approval", "Published"],
          entries.items.map((e) => [
            e.name,
            name(apis.items, e.api_id),
            name(policies.items, e.policy_id),
            e.approval ?? "organisation default",
            manage
              ? h(
                  "div",
                  { class: "row" },
                  e.published ? "yes" : "no",
                  action(e.published ? "Unpublish" : "Publish", e.name, async () => {
                    await call(api.PATCH("/orgs/{org}/catalog/{id}", { params: { path: { org, id: e.id } }, body: { published: !e.published } }));
                    reload();
                  }, status, "secondary"),
                )
              : e.published ? "yes" : "no",
          ]),
        ),
    create ? [h("h2", {}, "New catalog entry"), h("p", {}, "APIs and policies are created through the API (POST /orgs/{org}/apis, /policies)."), create] : null,
  );
}

async function deliveries(context: Context): Promise<Node> {
  const { org } = context;
  const wanted = context.query.get("status") as "in_progress" | "sent" | "failed" | "skipped" | null;
  const page = await call(api.GET("/orgs/{org}/deliveries", { params: { path: { org }, query: { status: wanted ?? undefined, limit: 50 } } }));
  const focused = context.params.id;
  const items = focused ? page.items.filter((d) => d.id === focused) : page.items;
  const status = h("div", {});
  const filter = h(
    "nav",
    { "aria-label": "Delivery status" },
    h("ul", { class: "row" }, [["", "All"], ["failed", "Failed"], ["sent", "Sent"], ["skipped", "Skipped"], ["in_progress", "In progress"]].map(([value, text]) =>
      h("li", {}, h("a", { href: orgPath(org, `admin/deliveries${value ? `?status=${value}` : ""}`), "aria-current": (wanted ?? "") === value ? "page" : null }, text!)),
    )),
  );
  return h(
    "section",
    {},
    h("h1", {}, focused ? "Delivery" : "Deliveries"),
    filter,
    h("p", {}, h("a", { href: orgPath(org, "admin/webhook-endpoints") }, "Webhook endpoints"), ": which are failing or disabled."),
    status,
    items.length === 0
      ? h("p", {}, "No deliveries here.")
      : table(
          "Deliveries",
          ["Event", "Channel", "To", "Status", "Attempts", "Last", ""],
          items.map((d) => [
            d.event_id,
            d.channel,
            d.target,
            d.reason ? `${d.status} (${d.reason})` : d.status,
            String(d.attempts),
            when(d.updated_at),
            d.status === "failed" && may(org, "manage_deliveries")
              ? action("Replay", `the delivery to ${d.target}`, async () => {
                  await call(api.POST("/orgs/{org}/deliveries/{id}/retry", { params: { path: { org, id: d.id } } }));
                  status.replaceChildren(notice(`Replaying the delivery to ${d.target}.`));
                }, status)
              : "",
          ]),
        ),
  );
}

async function auditLog(context: Context): Promise<Node> {
  const { org } = context;
  const actionFilter = context.query.get("action") ?? "";
  const page = await call(api.GET("/orgs/{org}/audit-log", { params: { path: { org }, query: { action: actionFilter || undefined, limit: 100 } } }));
  const filter = h("form", { class: "row", role: "search", "aria-label": "Filter the audit log" }, field({ name: "action", label: "Action (e.g. settings.changed, api)", type: "search", value: actionFilter }), h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (filter.elements.namedItem("action") as HTMLInputElement).value.trim();
    go(orgPath(org, `admin/audit-log${value ? `?action=${encodeURIComponent(value)}` : ""}`));
  });
  return h(
    "section",
    {},
    h("h1", {}, "Audit log"),
    filter,
    table(
      "Audit entries",
      ["When", "Who", "Did", "To", "From", "Changes"],
      page.items.map((e) => [
        when(e.at),
        (e.actor as { name?: string; email?: string; id?: string }).email ?? (e.actor as { name?: string }).name ?? JSON.stringify(e.actor),
        e.action,
        e.target ?? "—",
        e.source,
        (e.changes ?? []).map((c) => `${c.field}: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`).join("; ") || "—",
      ]),
    ),
  );
}

async function admins(context: Context): Promise<Node> {
  const { org } = context;
  const page = await call(api.GET("/orgs/{org}/admins", { params: { path: { org }, query: { limit: 100 } } }));
  const status = h("div", {});
  const manage = may(org, "manage_admins");
  const offered = roles.filter(([role]) => role !== "owner" || may(org, "manage_owners"));
  const invite = manage
    ? form(
        "Invite an admin",
        [field({ name: "email", label: "Email", type: "email", required: true }), choice("role", "Role", offered)],
        "Send invitation",
        async (values) => {
          await call(api.POST("/orgs/{org}/admins", { params: { path: { org } }, body: { email: values.text("email"), role: values.text("role") as Schemas["PersonRole"] } }));
          go(location.pathname, true);
        },
      )
    : null;
  return h(
    "section",
    {},
    h("h1", {}, "Admins"),
    h("p", {}, h("a", { href: orgPath(org, "admin/admin-keys") }, "Admin keys"), " are the machines' credentials, listed apart."),
    status,
    table(
      "Admin users",
      ["Email", "Name", "Role", "Status", manage ? "" : "Since"],
      page.items.map((a) => [
        a.email,
        a.name ?? "—",
        manage && (a.role !== "owner" || may(org, "manage_owners")) ? roleChoice(org, a, offered, status) : a.role,
        a.status,
        manage && (a.role !== "owner" || may(org, "manage_owners"))
          ? action("Remove", a.email, async () => {
              await call(api.DELETE("/orgs/{org}/admins/{id}", { params: { path: { org, id: a.id } } }));
              go(location.pathname, true);
            }, status, "secondary")
          : when(a.created_at),
      ]),
    ),
    invite ? [h("h2", {}, "Invite an admin"), invite] : null,
  );
}

/** An admin's role as a choice that saves when changed; the API keeps the last owner (409). */
function roleChoice(org: string, admin: Schemas["AdminUser"], offered: [Schemas["PersonRole"], string][], status: HTMLElement): HTMLElement {
  const id = `role-${admin.id}`;
  const select = h(
    "select",
    { id, name: "role" },
    offered.map(([role]) => h("option", { value: role, selected: role === admin.role }, role)),
  );
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      const changed = await call(api.PATCH("/orgs/{org}/admins/{id}", { params: { path: { org, id: admin.id } }, body: { role: select.value as Schemas["PersonRole"] } }));
      status.replaceChildren(notice(`${changed.email} is now ${article(changed.role)} ${changed.role}.`));
    } catch (error) {
      select.value = admin.role;
      status.replaceChildren(notice(error instanceof Error ? error.message : String(error), "error"));
    } finally {
      select.disabled = false;
    }
  });
  return h("span", {}, h("label", { for: id, class: "visually-hidden" }, `Role of ${admin.email}`), select);
}

async function adminKeys(context: Context): Promise<Node> {
  const { org } = context;
  const page = await call(api.GET("/orgs/{org}/admin-keys", { params: { path: { org }, query: { limit: 100 } } }));
  const status = h("div", {});
  return h(
    "section",
    {},
    h("h1", {}, "Admin keys"),
    status,
    table(
      "Admin keys",
      ["Name", "Key", "Role", "Last used", ""],
      page.items.map((k) => [
        k.name,
        h("code", {}, k.prefix),
        k.role,
        when(k.last_used_at),
        may(org, "manage_admins") && (k.role !== "owner" || may(org, "manage_owners"))
          ? action("Revoke", k.name, async () => {
              await call(api.DELETE("/orgs/{org}/admin-keys/{id}", { params: { path: { org, id: k.id } } }));
              go(location.pathname, true);
            }, status, "secondary")
          : "",
      ]),
    ),
  );
}

async function webhookEndpoints(context: Context): Promise<Node> {
  const { org } = context;
  const page = await call(api.GET("/orgs/{org}/webhook-endpoints", { params: { path: { org }, query: { limit: 100 } } }));
  const status = h("div", {});
  return h(
    "section",
    {},
    h("h1", {}, "Webhook endpoints"),
    status,
    page.items.length === 0
      ? h("p", {}, "No endpoint has failed yet.")
      : table(
          "Webhook endpoints",
          ["Address", "Failing since", "Disabled", ""],
          page.items.map((e) => [
            e.url ?? "—",
            e.failing_since ? when(e.failing_since) : "—",
            e.disabled_at ? `${when(e.disabled_at)} (${e.disabled_reason ?? ""})` : "no",
            e.disabled_at && e.url && may(org, "manage_deliveries")
              ? action("Enable", e.url, async () => {
                  await call(api.POST("/orgs/{org}/webhook-endpoints/enable", { params: { path: { org } }, body: { url: e.url! } }));
                  go(location.pathname, true);
                }, status)
              : "",
          ]),
        ),
  );
}

type Settings = Schemas["Settings"];

/** The settings a form offers: its input, how it reads back, and its value when none is stored. */
type SettingSpec =
  | { key: keyof Settings; kind: "choice"; label: string; options: [string, string][]; unset: string }
  | { key: keyof Settings; kind: "check"; label: string; unset: boolean }
  | { key: keyof Settings; kind: "text"; label: string; type: "url" | "email"; hint?: string };

const SETTINGS: SettingSpec[] = [
  { key: "signup_mode", kind: "choice", label: "Sign-ups", unset: "open", options: [["open", "Open: anyone may sign up"], ["admin_approval", "Reviewed: an admin approves each account"], ["invite_only", "By invitation only"]] },
  { key: "confirm_email", kind: "check", label: "New developers confirm their address before anything else", unset: true },
  { key: "disable_signup", kind: "check", label: "Pause sign-ups", unset: false },
  { key: "disable_login", kind: "check", label: "Pause developer logins (admins still log in)", unset: false },
  { key: "default_approval", kind: "choice", label: "Key requests are decided", unset: "admin", options: [["auto", "At once"], ["admin", "By an admin"], ["webhook", "By the approval service"], ["redirect", "On another site"]] },
  { key: "secure_key_approval", kind: "check", label: "Approvals send a one-use Generate Key link, not the key", unset: false },
  { key: "hide_token_data", kind: "check", label: "Approval emails never carry a key", unset: false },
];

/** Where links, notices and hand-offs go: the owners' to change (change_destinations). */
const DESTINATIONS: SettingSpec[] = [
  { key: "portal_url", kind: "text", label: "Portal address", type: "url", hint: "The base of every emailed link; empty for the deployment's portal" },
  { key: "admin_email", kind: "text", label: "Admins' address", type: "email", hint: "Where notices to the organisation's admins go" },
  { key: "redirect_to", kind: "text", label: "Redirect key requests to", type: "url" },
  { key: "key_request_webhook", kind: "text", label: "Approval service webhook", type: "url" },
];

function settingInput(spec: SettingSpec, settings: Settings): HTMLElement {
  const name = `settings.${spec.key}`;
  const stored = settings[spec.key];
  switch (spec.kind) {
    case "choice":
      return choice(name, spec.label, spec.options, String(stored ?? spec.unset));
    case "check":
      return field({ name, label: spec.label, type: "checkbox", value: Boolean(stored ?? spec.unset) });
    case "text":
      return field({ name, label: spec.label, type: spec.type, value: (stored as string | undefined) ?? "", hint: spec.hint });
  }
}

/** What the form changes: only settings whose value differs from the stored one (`null` clears). */
function changedSettings(specs: SettingSpec[], settings: Settings, values: FormValues): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const spec of specs) {
    const name = `settings.${spec.key}`;
    const stored = settings[spec.key];
    if (spec.kind === "check") {
      const now = values.checked(name);
      if (now !== Boolean(stored ?? spec.unset)) changes[spec.key] = now;
    } else {
      const now = values.optional(name);
      const before = stored === undefined || stored === null ? (spec.kind === "choice" ? spec.unset : null) : String(stored);
      if (now !== before) changes[spec.key] = now;
    }
  }
  return changes;
}

function settingsForm(org: string, organisation: Schemas["Organisation"], locales: string[]): Node {
  const s = organisation.settings;
  const owner = may(org, "change_destinations");
  const saved = h("div", {});
  const languages: [string, string][] = [["", "English, unless a person chose another"], ...locales.filter((l) => l !== "en").map((l): [string, string] => [l, languageName(l)])];
  return h(
    "div",
    {},
    saved,
    form(
      "Settings",
      [
        field({ name: "name", label: "Organisation name", value: organisation.name, required: true }),
        SETTINGS.map((spec) => settingInput(spec, s)),
        choice("settings.default_locale", "Default language of emails", languages, s.default_locale ?? ""),
        owner
          ? h("fieldset", {}, h("legend", {}, "Where links and notices go"), DESTINATIONS.map((spec) => settingInput(spec, s)))
          : facts(DESTINATIONS.map((spec) => [spec.label, String(s[spec.key] ?? "—")])),
      ],
      "Save settings",
      async (values) => {
        const changes = changedSettings([...SETTINGS, ...(owner ? DESTINATIONS : [])], s, values);
        const locale = values.optional("settings.default_locale");
        if (locale !== (s.default_locale ?? null)) changes.default_locale = locale;
        const name = values.text("name");
        const changed = await call(
          api.PATCH("/orgs/{org}", { params: { path: { org } }, body: { ...(name !== organisation.name ? { name } : {}), settings: changes as Settings } }),
        );
        const anything = Object.keys(changes).length > 0 || name !== organisation.name;
        Object.assign(organisation, changed);
        saved.replaceChildren(notice(anything ? "Saved." : "Nothing changed."));
      },
    ),
  );
}

/** Terms and their values, read-only. */
function facts(rows: [string, string][]): HTMLElement {
  return h("dl", { class: "facts" }, rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

async function settings(context: Context): Promise<Node> {
  const { org, face } = context;
  const [organisation, types] = await Promise.all([
    call(api.GET("/orgs/{org}", { params: { path: { org } } })),
    call(api.GET("/orgs/{org}/notification-types", { params: { path: { org } } })),
  ]);
  const change = may(org, "change_settings");
  const people = types.items.filter((t) => t.audience !== "event_options");
  const saved = h("div", {});
  const switches = people.map((t) =>
    h(
      "div",
      { class: "pref" },
      h("span", { class: "pref-name" }, `${t.name.replace(/_/g, " ")} (${t.audience.replace(/_/g, " ")})`),
      (["email", "in_app"] as const).map((channel) => {
        const id = `switch-${t.name}-${channel}`;
        return h(
          "span",
          { class: "check" },
          h("input", { type: "checkbox", id, name: `types.${t.name}.${channel}`, checked: t[channel].enabled, disabled: t.critical || !change }),
          h("label", { for: id }, channel === "email" ? "Email" : "In the portal", h("span", { class: "visually-hidden" }, ` for ${t.name.replace(/_/g, " ")}`)),
        );
      }),
    ),
  );
  const s = organisation.settings;
  const fieldset = h("fieldset", {}, h("legend", {}, "Notices to people"), switches);
  return h(
    "section",
    {},
    h("h1", {}, "Settings"),
    change
      ? settingsForm(org, organisation, face.locales)
      : facts([
          ["Name", organisation.name],
          ...SETTINGS.map((spec): [string, string] => [spec.label, String(s[spec.key] ?? (spec.kind === "text" ? "—" : spec.unset))]),
          ["Default language of emails", s.default_locale ? languageName(s.default_locale) : "English"],
          ...DESTINATIONS.map((spec): [string, string] => [spec.label, String(s[spec.key] ?? "—")]),
        ]),
    h("h2", {}, "Notification switches"),
    h("p", {}, "A switch turned off withholds that notice from everyone in the organisation. Critical notices cannot be switched off."),
    saved,
    change
      ? form("Notification switches", [fieldset], "Save switches", async (values) => {
          const off: Record<string, { email?: boolean; in_app?: boolean }> = {};
          for (const t of people) {
            if (t.critical) continue;
            const email = values.checked(`types.${t.name}.email`);
            const inApp = values.checked(`types.${t.name}.in_app`);
            if (!email || !inApp) off[t.name] = { ...(email ? {} : { email: false }), ...(inApp ? {} : { in_app: false }) };
          }
          await call(api.PUT("/orgs/{org}/notification-types", { params: { path: { org } }, body: { types: off } }));
          saved.replaceChildren(notice("Saved."));
        })
      : fieldset,
  );
}

async function account(context: Context): Promise<Node> {
  const { org, face } = context;
  const me = await call(api.GET("/orgs/{org}/me", { params: { path: { org } } }));
  const saved = h("div", {});
  return h(
    "section",
    { class: "narrow" },
    h("h1", {}, "Account"),
    h("p", {}, `Signed in as ${me.email}, ${article(me.role)} ${me.role}.`),
    saved,
    form(
      "Profile",
      [
        field({ name: "name", label: "Name", value: me.name, autocomplete: "name" }),
        choice("locale", "Language of your emails", [["", "The organisation's default"], ...face.locales.map((l): [string, string] => [l, languageName(l)])], me.locale),
      ],
      "Save",
      async (values) => {
        const changed = await call(api.PATCH("/orgs/{org}/me", { params: { path: { org } }, body: { name: values.optional("name"), locale: values.optional("locale") } }));
        updateAdmin(changed);
        redrawHeader(face);
        saved.replaceChildren(notice("Saved."));
      },
    ),
    h("p", {}, h("a", { href: orgPath(org, "admin/preferences") }, "Notification preferences")),
  );
}

addRoutes([
  { path: "admin/account", title: "Account", audience: "admin", render: account },
  { path: "admin/key-requests", title: "Key requests", audience: "admin", needs: "read_key_requests", render: keyRequests },
  { path: "admin/key-requests/:id", title: "Key request", audience: "admin", needs: "read_key_requests", render: keyRequests },
  { path: "admin/developers", title: "Developers", audience: "admin", needs: "read_developers", render: developers },
  { path: "admin/catalog", title: "Catalog", audience: "admin", needs: "read_catalog", render: catalog },
  { path: "admin/deliveries", title: "Deliveries", audience: "admin", needs: "read_deliveries", render: deliveries },
  { path: "admin/deliveries/:id", title: "Delivery", audience: "admin", needs: "read_deliveries", render: deliveries },
  { path: "admin/audit-log", title: "Audit log", audience: "admin", needs: "read_audit_log", render: auditLog },
  { path: "admin/admins", title: "Admins", audience: "admin", needs: "read_admins", render: admins },
  { path: "admin/admin-keys", title: "Admin keys", audience: "admin", needs: "read_admins", render: adminKeys },
  { path: "admin/webhook-endpoints", title: "Webhook endpoints", audience: "admin", needs: "read_deliveries", render: webhookEndpoints },
  { path: "admin/settings", title: "Settings", audience: "admin", needs: "read_organisation", render: settings },
]);
