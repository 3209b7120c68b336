// The in-app inbox and notification preferences, for developers (/portal/{org}/…) and admin users
// (/orgs/{org}/me/…) alike.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, orgPath, redrawHeader, type Context } from "../app";
import { form, h, linkPage, notice, when } from "../dom";

type Kind = "developer" | "admin";
type Item = Schemas["InboxItem"];

function client(kind: Kind, org: string) {
  const path = { params: { path: { org } } };
  const item = (id: string) => ({ params: { path: { org, id } } });
  return kind === "developer"
    ? {
        list: (archived: boolean) => call(api.GET("/portal/{org}/notifications", { params: { path: { org }, query: { archived, limit: 50 } } })),
        read: (id: string) => call(api.POST("/portal/{org}/notifications/{id}/read", item(id))),
        archive: (id: string) => call(api.POST("/portal/{org}/notifications/{id}/archive", item(id))),
        readAll: () => call(api.POST("/portal/{org}/notifications/read-all", path)),
        preferences: () => call(api.GET("/portal/{org}/preferences", path)),
        setPreferences: (body: Choices) => call(api.PUT("/portal/{org}/preferences", { ...path, body })),
      }
    : {
        list: (archived: boolean) => call(api.GET("/orgs/{org}/me/notifications", { params: { path: { org }, query: { archived, limit: 50 } } })),
        read: (id: string) => call(api.POST("/orgs/{org}/me/notifications/{id}/read", item(id))),
        archive: (id: string) => call(api.POST("/orgs/{org}/me/notifications/{id}/archive", item(id))),
        readAll: () => call(api.POST("/orgs/{org}/me/notifications/read-all", path)),
        preferences: () => call(api.GET("/orgs/{org}/me/preferences", path)),
        setPreferences: (body: Choices) => call(api.PUT("/orgs/{org}/me/preferences", { ...path, body })),
      };
}

type Choices = { types: Record<string, Schemas["ChannelChoices"]> };

function inbox(kind: Kind) {
  return async (context: Context): Promise<Node> => {
    const { org } = context;
    const calls = client(kind, org);
    const archived = context.query.get("archived") === "true";
    const list = h("div", {});
    const status = h("div", {});
    const draw = async () => {
      const page = await calls.list(archived);
      list.replaceChildren(
        page.items.length === 0
          ? h("p", {}, archived ? "Nothing archived." : "Your inbox is empty.")
          : h("ul", { class: "inbox" }, page.items.map((item) => row(item))),
      );
      redrawHeader(context.face);
    };
    const row = (item: Item) =>
      h(
        "li",
        { class: item.read ? "item" : "item unread" },
        h("h2", {}, item.read ? null : h("span", { class: "visually-hidden" }, "Unread: "), item.link ? h("a", { href: item.link }, item.title) : item.title),
        h("p", {}, item.body),
        h("p", { class: "meta" }, when(item.created_at)),
        h(
          "div",
          { class: "row" },
          item.read ? null : h("button", { type: "button", onclick: async () => { await calls.read(item.id); status.textContent = "Marked as read."; await draw(); } }, h("span", {}, "Mark read"), h("span", { class: "visually-hidden" }, `: ${item.title}`)),
          item.archived ? null : h("button", { type: "button", class: "secondary", onclick: async () => { await calls.archive(item.id); status.textContent = "Archived."; await draw(); } }, h("span", {}, "Archive"), h("span", { class: "visually-hidden" }, `: ${item.title}`)),
        ),
      );
    await draw();
    const base = kind === "admin" ? "admin/inbox" : "inbox";
    return h(
      "section",
      {},
      h("h1", {}, archived ? "Archived notifications" : "Inbox"),
      h(
        "div",
        { class: "row" },
        archived ? null : h("button", { type: "button", onclick: async () => { await calls.readAll(); status.textContent = "All marked as read."; await draw(); } }, "Mark all read"),
        h("a", { href: orgPath(org, archived ? base : `${base}?archived=true`) }, archived ? "Back to the inbox" : "Archived"),
        h("a", { href: orgPath(org, kind === "admin" ? "admin/preferences" : "preferences") }, "Preferences"),
      ),
      status,
      list,
    );
  };
}

const channelNames = { email: "Email", in_app: "In the portal" } as const;

function preferences(kind: Kind) {
  return async (context: Context): Promise<Node> => {
    const calls = client(kind, context.org);
    const current = await calls.preferences();
    const saved = h("div", {});
    const byCategory = new Map<string, typeof current.effective>();
    for (const type of current.effective) byCategory.set(type.category, [...(byCategory.get(type.category) ?? []), type]);
    const groups = [...byCategory].map(([category, types]) =>
      h(
        "fieldset",
        {},
        h("legend", {}, category.replace(/_/g, " ")),
        types.map((type) =>
          h(
            "div",
            { class: "pref" },
            h("span", { class: "pref-name", id: `pref-${type.name}` }, type.name.replace(/_/g, " ")),
            (["email", "in_app"] as const).map((channel) => {
              const id = `pref-${type.name}-${channel}`;
              return h(
                "span",
                { class: "check" },
                h("input", { type: "checkbox", id, name: `types.${type.name}.${channel}`, checked: type[channel], disabled: type.critical, "aria-describedby": type.critical ? `${id}-locked` : null }),
                h("label", { for: id }, `${channelNames[channel]}`, h("span", { class: "visually-hidden" }, ` for ${type.name.replace(/_/g, " ")}`)),
                type.critical ? h("span", { id: `${id}-locked`, class: "hint" }, "always sent") : null,
              );
            }),
          ),
        ),
      ),
    );
    return h(
      "section",
      {},
      h("h1", {}, "Notification preferences"),
      h("p", {}, "Choose how each notice reaches you. Security notices are always sent."),
      saved,
      form("Notification preferences", groups, "Save preferences", async (values) => {
        const types: Choices["types"] = {};
        for (const type of current.effective) {
          if (type.critical) continue;
          types[type.name] = { email: values.checked(`types.${type.name}.email`), in_app: values.checked(`types.${type.name}.in_app`) };
        }
        await calls.setPreferences({ types });
        saved.replaceChildren(notice("Saved."));
      }),
    );
  };
}

/** The link at the foot of a notice email: one button, so a mail scanner fetching the link changes nothing. */
function unsubscribe(context: Context): Node {
  const { org } = context;
  return linkPage("Unsubscribe", null, (token, outcome) =>
    form("Unsubscribe", [h("p", {}, "Stop emails of this kind? Other notices, and this one in the portal's inbox, are not affected.")], "Unsubscribe", async () => {
      const done = await call(api.POST("/portal/{org}/unsubscribe", { params: { path: { org }, query: { token } } }));
      outcome.replaceChildren(
        notice(`Unsubscribed from ${(done.unsubscribed ?? "these notices").replace(/_/g, " ")} emails.`),
        h("p", {}, "You can turn them on again in your notification preferences."),
      );
    }),
  );
}

addRoutes([
  { path: "unsubscribe", title: "Unsubscribe", audience: "public", render: unsubscribe },
  { path: "inbox", title: "Inbox", audience: "developer", render: inbox("developer") },
  { path: "preferences", title: "Notification preferences", audience: "developer", render: preferences("developer") },
  { path: "admin/inbox", title: "Inbox", audience: "admin", render: inbox("admin") },
  { path: "admin/preferences", title: "Notification preferences", audience: "admin", render: preferences("admin") },
]);
