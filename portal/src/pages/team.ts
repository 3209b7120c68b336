// The people who run an organisation: admin users (invite, change a role, remove), the admin keys
// machines hold, and the signed-in admin's own account.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, orgPath, redrawHeader, type Context } from "../app";
import { action, choice, field, form, h, notice, table, when } from "../dom";
import { may, updateAdmin } from "../session";
import { article, localeChoices } from "./accounts";

const roles: [Schemas["PersonRole"], string][] = [
  ["viewer", "Viewer: reads everything"],
  ["approver", "Approver: decides key requests"],
  ["admin", "Admin: runs the organisation"],
  ["owner", "Owner: everything, and where links go"],
];

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
        choice("locale", "Language of your emails", localeChoices(face.locales, "The organisation's default"), me.locale),
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
  { path: "admin/admins", title: "Admins", audience: "admin", needs: "read_admins", render: admins },
  { path: "admin/admin-keys", title: "Admin keys", audience: "admin", needs: "read_admins", render: adminKeys },
]);
