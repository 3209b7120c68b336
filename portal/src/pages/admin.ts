// The admin pages of the organisation's daily work: key requests to decide, developers, deliveries
// with replay, webhook endpoints, the audit log. What it offers (APIs, policies, the catalog) is in
// offerings.ts, the people who run it in team.ts, its settings in settings.ts, usage and budgets in
// usage.ts. Each page shows only what the
// signed-in role may do; the API decides in the end.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, orgPath, type Context } from "../app";
import { action, facts, field, h, nameOf, notice, table, when } from "../dom";
import { may } from "../session";

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
            h("a", { href: orgPath(org, `admin/developers/${d.id}`) }, d.email),
            d.status === "pending" && may(org, "manage_developers")
              ? h("div", { class: "row" }, "pending", decide(d, "active", "Approve"), decide(d, "rejected", "Reject"))
              : d.status,
            d.email_confirmed ? "yes" : "no",
            when(d.created_at),
          ]),
        ),
  );
}

/** One developer: their account, their keys (revoked here with manage_keys), their usage. */
async function developer(context: Context): Promise<Node> {
  const { org } = context;
  const id = context.params.id!;
  const [person, keys, policies, entries] = await Promise.all([
    call(api.GET("/orgs/{org}/developers/{id}", { params: { path: { org, id } } })),
    call(api.GET("/orgs/{org}/developers/{id}/keys", { params: { path: { org, id }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/policies", { params: { path: { org }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/catalog", { params: { path: { org }, query: { limit: 100 } } })),
  ]);
  const status = h("div", {});
  const reload = () => go(location.pathname, true);
  const decide = (to: "active" | "rejected", text: string) =>
    action(text, person.email, async () => {
      await call(api.PATCH("/orgs/{org}/developers/{id}", { params: { path: { org, id } }, body: { status: to } }));
      reload();
    }, status, to === "rejected" ? "secondary" : "");
  const fields = Object.entries(person.fields ?? {}).map(([k, v]): [string, string] => [k.replace(/_/g, " "), String(v)]);
  return h(
    "section",
    {},
    h("h1", {}, person.email),
    facts([["Status", person.status], ["Address confirmed", person.email_confirmed ? "yes" : "no"], ["Language", person.locale ?? "the organisation's"], ["Signed up", when(person.created_at)], ...fields]),
    status,
    person.status === "pending" && may(org, "manage_developers") ? h("p", { class: "row" }, decide("active", "Approve"), decide("rejected", "Reject")) : null,
    h("h2", {}, "Keys"),
    keys.items.length === 0
      ? h("p", {}, "No keys.")
      : table(
          "Keys of this developer",
          ["Key", "Catalog entry", "Policies", "Issued", ""],
          keys.items.map((k) => [
            h("code", {}, k.prefix),
            k.catalog_id ? nameOf(entries.items, k.catalog_id) : "(No Catalog Entry)",
            k.policy_ids.map((p) => nameOf(policies.items, p)).join(", "),
            when(k.created_at),
            may(org, "manage_keys")
              ? action("Revoke", `key ${k.prefix}`, async () => {
                  await call(api.DELETE("/orgs/{org}/keys/{id}", { params: { path: { org, id: k.id } } }));
                  reload();
                }, status, "secondary")
              : "",
          ]),
        ),
    may(org, "read_usage") ? h("p", {}, h("a", { href: orgPath(org, `admin/usage?developer_id=${id}`) }, "Usage of these keys")) : null,
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
      ? h("p", {}, focused ? "This delivery is not among the 50 newest of this list." : "No deliveries here.")
      : table(
          "Deliveries",
          ["Event", "Channel", "To", "Status", "Attempts", "Last", ""],
          items.map((d) => [
            focused ? d.event_id : h("a", { href: orgPath(org, `admin/deliveries/${d.id}`) }, d.event_id),
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
    focused && items[0] ? attempts(items[0]) : null,
  );
}

/** One delivery's attempts, oldest first, with why the last one failed. */
function attempts(delivery: Schemas["Delivery"]): Node {
  return h(
    "div",
    {},
    h("h2", {}, "Attempts"),
    delivery.last_error ? h("p", {}, `Last error: ${delivery.last_error}`) : null,
    delivery.log.length === 0
      ? h("p", {}, "No attempt yet.")
      : table(
          "Attempts",
          ["When", "Outcome", "Detail", "Took", "Next attempt"],
          delivery.log.map((a) => [when(a.at), a.outcome, a.detail ?? "—", `${a.duration_ms} ms`, when(a.next_attempt_at)]),
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

addRoutes([
  { path: "admin/key-requests", title: "Key requests", audience: "admin", needs: "read_key_requests", render: keyRequests },
  { path: "admin/key-requests/:id", title: "Key request", audience: "admin", needs: "read_key_requests", render: keyRequests },
  { path: "admin/developers", title: "Developers", audience: "admin", needs: "read_developers", render: developers },
  { path: "admin/developers/:id", title: "Developer", audience: "admin", needs: "read_developers", render: developer },
  { path: "admin/deliveries", title: "Deliveries", audience: "admin", needs: "read_deliveries", render: deliveries },
  { path: "admin/deliveries/:id", title: "Delivery", audience: "admin", needs: "read_deliveries", render: deliveries },
  { path: "admin/audit-log", title: "Audit log", audience: "admin", needs: "read_audit_log", render: auditLog },
  { path: "admin/webhook-endpoints", title: "Webhook endpoints", audience: "admin", needs: "read_deliveries", render: webhookEndpoints },
]);
