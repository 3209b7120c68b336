// A developer's pages: the catalog, asking for a key (the four approval modes' outcomes), the
// Generate Key page of a secure link, their keys and requests, and their profile (usage is in usage.ts).
import { api, call, type Answer, type Schemas } from "../api/client";
import { addRoutes, orgPath, type Context } from "../app";
import { action, choice, form, h, linkPage, notice, seconds, table, when } from "../dom";
import { developerOf, updateDeveloper } from "../session";
import { fieldInputs, fieldValues, localeChoices } from "./accounts";

type Entry = Answer<"publishedCatalog">["items"][number];

const limits = (entry: { rate: Schemas["Rate"] | null; quota: Schemas["Quota"] | null }) =>
  [
    entry.rate ? `${entry.rate.requests.toLocaleString()} requests per ${seconds(entry.rate.per_secs)}` : "No rate limit",
    entry.quota ? `${entry.quota.max.toLocaleString()} requests per ${seconds(entry.quota.renewal_secs)}` : "no quota",
  ].join(", ");

const approvalText: Record<Entry["approval"], string> = {
  auto: "Keys are issued at once.",
  admin: "An admin reviews each request.",
  webhook: "Requests are reviewed by the organisation's approval service.",
  redirect: "Requests continue on another site.",
};

async function catalog(context: Context): Promise<Node> {
  const { org } = context;
  const page = await call(api.GET("/portal/{org}/catalog", { params: { path: { org }, query: { limit: 100 } } }));
  const signed = developerOf(org) !== null;
  return h(
    "section",
    {},
    h("h1", {}, "API catalog"),
    page.items.length === 0 ? h("p", {}, "No APIs are published yet.") : null,
    h(
      "ul",
      { class: "cards" },
      page.items.map((entry) =>
        h(
          "li",
          { class: "card" },
          h("h2", {}, entry.name),
          entry.api ? h("p", { class: "meta" }, entry.api.name) : null,
          entry.description ? h("p", {}, entry.description) : null,
          h("p", { class: "meta" }, limits(entry)),
          h("p", { class: "meta" }, approvalText[entry.approval]),
          h("a", { class: "button", href: orgPath(org, signed ? `catalog/${entry.id}` : `login?next=${encodeURIComponent(orgPath(org, `catalog/${entry.id}`))}`) }, `Request access to ${entry.name}`),
        ),
      ),
    ),
  );
}

/** The key, shown this once, with a way to copy it. */
export function keyShownOnce(key: string): Node {
  const id = "issued-key";
  const copy = h("button", { type: "button", onclick: async () => {
    await navigator.clipboard?.writeText(key).catch(() => undefined);
    copy.textContent = "Copied";
  } }, "Copy");
  return h(
    "div",
    { class: "key-once", role: "status" },
    h("p", {}, h("strong", {}, "Your key. Copy it now: it is shown this once and Gatehouse keeps only its hash.")),
    h("label", { for: id }, "API key"),
    h("div", { class: "row" }, h("input", { id, readonly: true, value: key, class: "mono", autocomplete: "off", spellcheck: "false" }), copy),
  );
}

async function requestKey(context: Context): Promise<Node> {
  const { org, face } = context;
  const page = await call(api.GET("/portal/{org}/catalog", { params: { path: { org }, query: { limit: 100 } } }));
  const entry = page.items.find((e) => e.id === context.params.id);
  if (!entry) return h("section", {}, h("h1", {}, "Request a key"), notice("That catalog entry is not published.", "error"));
  const outcome = h("div", {});
  outcome.append(
    form(
      `Request access to ${entry.name}`,
      [fieldInputs(face.key_request_fields)],
      "Request key",
      async (values) => {
        const answer = await api.POST("/portal/{org}/key-requests", {
          params: { path: { org } },
          body: { catalog_id: entry.id, fields: fieldValues(face.key_request_fields, values) },
        });
        const data = answer.data;
        if (answer.response.status === 200 && data && "redirect_to" in data) {
          outcome.replaceChildren(
            notice("This API's access is requested on another site."),
            h("p", {}, h("a", { href: data.redirect_to, rel: "noopener" }, "Continue there")),
          );
          return;
        }
        const request = (await call(Promise.resolve(answer))) as Schemas["IssuedKeyRequest"];
        outcome.replaceChildren(...requested(org, request));
      },
    ),
  );
  return h(
    "section",
    { class: "narrow" },
    h("h1", {}, `Request access to ${entry.name}`),
    h("p", { class: "meta" }, limits(entry)),
    h("p", {}, approvalText[entry.approval]),
    outcome,
  );
}

function requested(org: string, request: Schemas["IssuedKeyRequest"]): Node[] {
  if (request.key) return [notice("Your key is issued."), keyShownOnce(request.key), h("p", {}, h("a", { href: orgPath(org, "keys") }, "See your keys"))];
  const waiting =
    request.approval === "webhook"
      ? "Your request went to the organisation's approval service. You will get an email when it is decided."
      : request.approval === "auto"
        ? "Your key is issued. A link to generate it is in your email."
        : "Your request is waiting for an admin. You will get an email when it is decided.";
  return [notice(waiting), h("p", {}, h("a", { href: orgPath(org, "keys") }, "See your keys and requests"))];
}

/** The page of a Generate Key link: the developer, logged in, takes the key once. */
function generateKey(context: Context): Node {
  const { org } = context;
  return linkPage("Generate your key", h("p", {}, "The key is shown once, on this page. The link works once."), (token, outcome) =>
    form("Generate your key", [], "Generate my key", async () => {
      const key = await call(api.POST("/portal/{org}/keys/generate", { params: { path: { org } }, body: { token } }));
      outcome.replaceChildren(keyShownOnce(key.key), h("p", {}, h("a", { href: orgPath(org, "keys") }, "See your keys")));
    }),
  );
}

/** What a key's policies allow, in words. */
function grants(key: Schemas["OwnKey"]): string {
  return key.policies.map((p) => `${p.name}: ${limits(p)}`).join("; ") || "No policy";
}

const GRACE: [string, string][] = [["0", "stops at once"], ["3600", "works 1 more hour"], ["86400", "works 1 more day"], ["604800", "works 7 more days"]];

async function keys(context: Context): Promise<Node> {
  const { org } = context;
  const status = h("div", {});
  const list = h("div", {});
  const grace = choice("grace", "When you roll a key, its former secret", GRACE, "3600");
  // The list redraws after a roll; the new secret stays shown above it.
  const draw = async () => {
    const owned = await call(api.GET("/portal/{org}/keys", { params: { path: { org }, query: { limit: 100 } } }));
    list.replaceChildren(
      owned.items.length === 0
        ? h("p", {}, "You have no keys yet. ", h("a", { href: orgPath(org, "catalog") }, "Browse the catalog"), ".")
        : table(
            "Your keys",
            ["Key", "Catalog entry", "Limits", "Created", "Former secret works until", ""],
            owned.items.map((k) => [
              h("code", {}, k.prefix),
              k.catalog_entry.name,
              grants(k),
              when(k.created_at),
              when(k.previous?.valid_until),
              action("Roll", `key ${k.prefix}`, async () => {
                const kept = Number((grace.querySelector("select") as HTMLSelectElement).value);
                const rolled = await call(api.POST("/portal/{org}/keys/{id}/roll", { params: { path: { org, id: k.id } }, body: { grace_period_secs: kept } }));
                status.replaceChildren(notice(`Key ${k.prefix} has a new secret.`), keyShownOnce(rolled.key));
                await draw();
              }, status, "secondary"),
            ]),
          ),
    );
  };
  const [, requests] = await Promise.all([draw(), call(api.GET("/portal/{org}/key-requests", { params: { path: { org }, query: { limit: 100 } } }))]);
  const pending = requests.items.filter((r) => r.status === "pending");
  return h(
    "section",
    {},
    h("h1", {}, "My keys"),
    status,
    list,
    grace,
    h("h2", {}, "Requests waiting for a decision"),
    pending.length === 0
      ? h("p", {}, "None.")
      : table("Your pending requests", ["Catalog entry", "Decided by", "Asked"], pending.map((r) => [r.catalog_id ?? "—", r.approval === "webhook" ? "approval service" : "an admin", when(r.created_at)])),
  );
}

async function profile(context: Context): Promise<Node> {
  const { org, face } = context;
  const me = await call(api.GET("/portal/{org}/me", { params: { path: { org } } }));
  const saved = h("div", {});
  return h(
    "section",
    { class: "narrow" },
    h("h1", {}, "Account"),
    h("p", {}, `Signed in as ${me.email}.`),
    saved,
    form(
      "Profile",
      [
        fieldInputs(face.signup_fields, me.fields as Record<string, unknown>),
        choice("locale", "Language of your emails", localeChoices(face.locales, "The portal's default"), me.locale),
      ],
      "Save",
      async (values) => {
        const changed = await call(
          api.PATCH("/portal/{org}/me", {
            params: { path: { org } },
            body: { fields: fieldValues(face.signup_fields, values), locale: values.optional("locale") },
          }),
        );
        updateDeveloper(changed);
        saved.replaceChildren(notice("Saved."));
      },
    ),
    h("p", {}, h("a", { href: orgPath(org, "preferences") }, "Notification preferences")),
  );
}

addRoutes([
  { path: "catalog", title: "API catalog", audience: "public", render: catalog },
  { path: "catalog/:id", title: "Request a key", audience: "developer", render: requestKey },
  { path: "keys/generate", title: "Generate your key", audience: "developer", render: generateKey },
  { path: "keys", title: "My keys", audience: "developer", render: keys },
  { path: "account", title: "Account", audience: "developer", render: profile },
]);
