// What an organisation offers, as its admins run it: APIs, the policies that grant them with their
// limits, and the catalog entries developers ask keys of. Changes need manage_catalog.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, type Context } from "../app";
import { action, choice, field, form, h, nameOf, refuse, seconds, table, when, type FormValues } from "../dom";
import { may } from "../session";

/** How a catalog entry's key requests are decided, as the choices name them. */
export const APPROVALS: [string, string][] = [["auto", "At once"], ["admin", "By an admin"], ["webhook", "By the approval service"], ["redirect", "On another site"]];

async function catalog(context: Context): Promise<Node> {
  const { org } = context;
  const [entries, apis, policies] = await Promise.all([
    call(api.GET("/orgs/{org}/catalog", { params: { path: { org }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/apis", { params: { path: { org }, query: { limit: 100 } } })),
    call(api.GET("/orgs/{org}/policies", { params: { path: { org }, query: { limit: 100 } } })),
  ]);
  const manage = may(org, "manage_catalog");
  const status = h("div", {});
  const reload = () => go(location.pathname, true);
  const create =
    manage && apis.items.length > 0 && policies.items.length > 0
      ? form(
          "New catalog entry",
          [
            field({ name: "name", label: "Name", required: true }),
            field({ name: "description", label: "Description" }),
            choice("api_id", "API", apis.items.map((a): [string, string] => [a.id, a.name])),
            choice("policy_id", "Policy (must grant the API)", policies.items.map((p): [string, string] => [p.id, p.name])),
            choice("approval", "Key requests are decided", [["", "The organisation's default"], ...APPROVALS]),
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
            nameOf(apis.items, e.api_id),
            nameOf(policies.items, e.policy_id),
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
    create ? [h("h2", {}, "New catalog entry"), create] : null,
    manage && !create ? h("p", {}, "A catalog entry offers an API under a policy: add an API and a policy below first.") : null,
    h("h2", {}, "APIs"),
    apis.items.length === 0
      ? h("p", {}, "No APIs yet.")
      : table("APIs", ["API", "Listen path", "Added"], apis.items.map((a) => [a.name, a.listen_path ?? "—", when(a.created_at)])),
    manage ? newApi(org) : null,
    h("h2", {}, "Policies"),
    policies.items.length === 0
      ? h("p", {}, "No policies yet.")
      : table(
          "Policies",
          ["Policy", "Grants", "Rate", "Quota"],
          policies.items.map((p) => [
            p.name,
            p.api_ids.map((id) => nameOf(apis.items, id)).join(", ") || "—",
            p.rate?.requests && p.rate.per_secs ? `${p.rate.requests.toLocaleString()} per ${seconds(p.rate.per_secs)}` : "none",
            p.quota?.max && p.quota.renewal_secs ? `${p.quota.max.toLocaleString()} per ${seconds(p.quota.renewal_secs)}` : "none",
          ]),
        ),
    manage && apis.items.length > 0 ? newPolicy(org, apis.items) : null,
  );
}

function newApi(org: string): HTMLFormElement {
  return form(
    "New API",
    [field({ name: "name", label: "API name", required: true }), field({ name: "listen_path", label: "Listen path", hint: "Where the gateway serves it, such as /weather/" })],
    "Add API",
    async (values) => {
      await call(api.POST("/orgs/{org}/apis", { params: { path: { org } }, body: { name: values.text("name"), listen_path: values.optional("listen_path") ?? undefined } }));
      go(location.pathname, true);
    },
  );
}

const PERIODS: [string, string][] = [["1", "second"], ["60", "minute"], ["3600", "hour"], ["86400", "day"], ["2592000", "30 days"]];

/** A number of requests per period, or nothing when the number is left empty. */
function perPeriod(values: FormValues, prefix: "rate" | "quota"): { count: number; secs: number } | null {
  const count = values.text(`${prefix}.count`);
  if (!count) return null;
  if (!/^\d+$/.test(count) || Number(count) < 1) refuse(`${prefix}.count`, "A whole number of requests, 1 or more.");
  return { count: Number(count), secs: Number(values.text(`${prefix}.per`)) };
}

function newPolicy(org: string, apis: { id: string; name: string }[]): HTMLFormElement {
  return form(
    "New policy",
    [
      field({ name: "name", label: "Policy name", required: true }),
      h("fieldset", {}, h("legend", {}, "APIs it grants"), apis.map((a) => field({ name: `api.${a.id}`, label: a.name, type: "checkbox" }))),
      h("fieldset", { class: "row" }, h("legend", {}, "Rate limit (empty for none)"), field({ name: "rate.count", label: "Requests", type: "number" }), choice("rate.per", "per", PERIODS, "1")),
      h("fieldset", { class: "row" }, h("legend", {}, "Quota (empty for none)"), field({ name: "quota.count", label: "Requests", type: "number" }), choice("quota.per", "per", PERIODS, "86400")),
    ],
    "Add policy",
    async (values) => {
      const rate = perPeriod(values, "rate");
      const quota = perPeriod(values, "quota");
      await call(
        api.POST("/orgs/{org}/policies", {
          params: { path: { org } },
          body: {
            name: values.text("name"),
            api_ids: apis.filter((a) => values.checked(`api.${a.id}`)).map((a) => a.id),
            rate: rate && { requests: rate.count, per_secs: rate.secs },
            quota: quota && { max: quota.count, renewal_secs: quota.secs },
          },
        }),
      );
      go(location.pathname, true);
    },
  );
}

addRoutes([
  { path: "admin/catalog", title: "Catalog", audience: "admin", needs: "read_catalog", render: catalog },
]);
