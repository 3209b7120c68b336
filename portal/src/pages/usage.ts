// Use of keys: a developer's own (7 days against their limits), and the admins' view of the
// organisation's (the day's most used keys, one key or one developer, monthly budgets and spend).
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, orgPath, type Context } from "../app";
import { action, field, form, h, refuse, seconds, table, when } from "../dom";
import { may } from "../session";

async function developerUsage(context: Context): Promise<Node> {
  const { org } = context;
  const answer = await call(api.GET("/portal/{org}/usage", { params: { path: { org }, query: { days: 7 } } }));
  return h("section", {}, h("h1", {}, "Usage, last 7 days"), keyCards(answer.items, "No keys yet."));
}

/** A card per key: its limits, its quota this period, a chart of its calls per day. */
function keyCards(keys: Schemas["KeyUsage"][], none: string): Node {
  if (keys.length === 0) return h("p", {}, none);
  return h(
    "div",
    {},
    keys.map((key) =>
      h(
        "article",
        { class: "card" },
        h("h2", {}, h("code", {}, key.prefix)),
        h("p", { class: "meta" }, `${key.total.toLocaleString()} calls over ${key.days.length} days. ${key.rate ? `Rate limit ${key.rate.requests} per ${seconds(key.rate.per_secs)}.` : "No rate limit."}`),
        key.quota
          ? h("p", {}, `Quota: ${key.quota.used.toLocaleString()} of ${key.quota.max.toLocaleString()} used, ${key.quota.remaining.toLocaleString()} left; refills ${when(key.quota.reset_at)}.`)
          : h("p", {}, "No quota."),
        chart(key.days, key.quota?.max ?? null),
      ),
    ),
  );
}

/** A bar per day as SVG (no inline style), with the numbers in a table for screen readers. */
function chart(days: { day: string; requests: number }[], quota: number | null): Node {
  const most = Math.max(1, ...days.map((d) => d.requests));
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${days.length * 40} 120`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("aria-hidden", "true");
  days.forEach((d, i) => {
    const height = Math.round((d.requests / most) * 100);
    const bar = document.createElementNS(ns, "rect");
    for (const [name, value] of Object.entries({ x: i * 40 + 6, y: 105 - height, width: 28, height, class: "bar" })) bar.setAttribute(name, String(value));
    const label = document.createElementNS(ns, "text");
    for (const [name, value] of Object.entries({ x: i * 40 + 20, y: 118, "text-anchor": "middle", class: "axis" })) label.setAttribute(name, String(value));
    label.textContent = d.day.slice(8);
    svg.append(bar, label);
  });
  return h(
    "figure",
    {},
    svg,
    h("figcaption", {}, quota ? `Calls per day; the quota is ${quota.toLocaleString()} per period.` : "Calls per day."),
    table("Calls per day", ["Day", "Calls"], days.map((d) => [d.day, d.requests.toLocaleString()])),
  );
}

/** The email of each developer named, where the caller may read it (the id otherwise). */
async function developerEmails(org: string, ids: (string | undefined)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => Boolean(id)))];
  const found = await Promise.all(
    wanted.map((id) =>
      call(api.GET("/orgs/{org}/developers/{id}", { params: { path: { org, id } } })).then(
        (d) => [id, d.email] as const,
        () => [id, id] as const,
      ),
    ),
  );
  return new Map(found);
}

const today = () => new Date().toISOString().slice(0, 10);

async function adminUsage(context: Context): Promise<Node> {
  const { org } = context;
  const keyId = context.query.get("key_id");
  const developerId = context.query.get("developer_id");
  const links = h(
    "p",
    { class: "row" },
    keyId || developerId ? h("a", { href: orgPath(org, "admin/usage") }, "The most used keys") : null,
    h("a", { href: orgPath(org, "admin/budgets") }, "Budgets"),
  );
  if (keyId || developerId) {
    const answer = await call(
      api.GET("/orgs/{org}/usage", { params: { path: { org }, query: { key_id: keyId ?? undefined, developer_id: developerId ?? undefined, days: 7 } } }),
    );
    const emails = await developerEmails(org, [developerId ?? answer.items[0]?.developer_id]);
    const who = emails.values().next().value;
    return h(
      "section",
      {},
      h("h1", {}, keyId ? "Usage of one key, last 7 days" : "Usage of a developer's keys, last 7 days"),
      who ? h("p", {}, `Held by ${who}.`) : null,
      links,
      keyCards(answer.items, "No keys."),
    );
  }
  const day = context.query.get("day") || today();
  const top = await call(api.GET("/orgs/{org}/usage/top", { params: { path: { org }, query: { day, limit: 20 } } }));
  const emails = await developerEmails(org, top.items.map((k) => k.developer_id));
  const pick = h("form", { class: "row", role: "search", "aria-label": "Pick a day" }, field({ name: "day", label: "Day (UTC)", type: "date", value: day }), h("button", { type: "submit" }, "Show"));
  pick.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (pick.elements.namedItem("day") as HTMLInputElement).value;
    go(orgPath(org, `admin/usage${value ? `?day=${value}` : ""}`));
  });
  return h(
    "section",
    {},
    h("h1", {}, "Usage"),
    links,
    pick,
    h("h2", {}, `Most used keys on ${day}`),
    top.items.length === 0
      ? h("p", {}, "No key was used that day.")
      : table(
          "Most used keys",
          ["Key", "Developer", "Calls"],
          top.items.map((k) => [
            h("a", { href: orgPath(org, `admin/usage?key_id=${k.key_id}`) }, h("code", {}, k.key_id)),
            h("a", { href: orgPath(org, `admin/usage?developer_id=${k.developer_id}`) }, emails.get(k.developer_id) ?? k.developer_id),
            k.requests.toLocaleString(),
          ]),
        ),
  );
}

/** The currency's minor unit digits (2 for EUR, 0 for JPY), as the browser knows them. */
function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** An amount in minor units as money in the page's language: 5000 EUR → "€50.00". */
export function money(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat(document.documentElement.lang || undefined, { style: "currency", currency }).format(amount / 10 ** minorDigits(currency));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** "50", "50.5" or "50,50" in the currency's units as minor units; null when it is not an amount. */
function toMinor(text: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const match = /^(\d+)(?:[.,](\d+))?$/.exec(text.trim());
  if (!match || (match[2] ?? "").length > digits) return null;
  const minor = Number(match[1]) * 10 ** digits + Number((match[2] ?? "").padEnd(digits, "0") || 0);
  return minor >= 1 && Number.isSafeInteger(minor) ? minor : null;
}

async function budgets(context: Context): Promise<Node> {
  const { org } = context;
  const page = await call(api.GET("/orgs/{org}/budgets", { params: { path: { org }, query: { limit: 100 } } }));
  const emails = await developerEmails(org, page.items.map((b) => b.developer_id));
  const manage = may(org, "manage_budgets");
  const status = h("div", {});
  const subject = (b: Schemas["BudgetStatus"]) =>
    b.key_id
      ? h("a", { href: orgPath(org, `admin/usage?key_id=${b.key_id}`) }, "key ", h("code", {}, b.key_id))
      : h("a", { href: orgPath(org, `admin/usage?developer_id=${b.developer_id}`) }, emails.get(b.developer_id!) ?? b.developer_id!);
  const create = manage
    ? form(
        "Set a budget",
        [
          field({ name: "developer_email", label: "Developer's email", type: "email", hint: "For all of one developer's keys. Leave it empty to budget one key." }),
          field({ name: "key_id", label: "Or one key's ID", hint: "key_…, from the usage page" }),
          field({ name: "amount", label: "Budget per month", required: true, hint: "In the currency's units, such as 50.00" }),
          field({ name: "currency", label: "Currency", required: true, value: "EUR", hint: "Three letters, such as EUR or USD" }),
          field({ name: "trigger_limits", label: "Tell at (percent of the budget)", value: "80, 100" }),
        ],
        "Set budget",
        async (values) => {
          const currency = values.text("currency").toUpperCase();
          const amount = toMinor(values.text("amount"), currency);
          if (amount === null) refuse("amount", `An amount such as 50 or 50.${"0".repeat(minorDigits(currency) || 1)}.`);
          const limits = values.text("trigger_limits").split(/[\s,]+/).filter(Boolean).map(Number);
          if (limits.some((n) => !Number.isInteger(n))) refuse("trigger_limits", "Whole percentages, such as 80, 100.");
          const email = values.text("developer_email");
          const keyId = values.optional("key_id");
          let developerId: string | undefined;
          if (email) {
            const found = await call(api.GET("/orgs/{org}/developers", { params: { path: { org }, query: { email, limit: 1 } } }));
            const developer = found.items.find((d) => d.email.toLowerCase() === email.toLowerCase());
            if (!developer) refuse("developer_email", "No developer of this organisation has this email.");
            developerId = developer.id;
          } else if (!keyId) {
            refuse("developer_email", "Give a developer's email or a key's ID.");
          }
          await call(
            api.POST("/orgs/{org}/budgets", {
              params: { path: { org } },
              body: { developer_id: developerId, key_id: developerId ? undefined : keyId ?? undefined, amount, currency, trigger_limits: limits.length ? limits : undefined },
            }),
          );
          go(location.pathname, true);
        },
      )
    : null;
  return h(
    "section",
    {},
    h("h1", {}, "Budgets"),
    h("p", {}, "A monthly budget for a developer or a key. Spend is reported to the API; people who read usage are told as it crosses each percentage."),
    status,
    page.items.length === 0
      ? h("p", {}, "No budgets yet.")
      : table(
          "Budgets",
          ["For", "Month", "Budget", "Spent", "Left", "Tell at", "Resets", manage ? "" : "Since"],
          page.items.map((b) => [
            subject(b),
            b.month,
            money(b.amount, b.currency),
            money(b.spent, b.currency),
            money(b.remaining, b.currency),
            b.trigger_limits.map((n) => `${n}%`).join(", "),
            when(b.resets_at),
            manage
              ? action("Delete", `the budget for ${b.key_id ?? emails.get(b.developer_id!) ?? b.developer_id}`, async () => {
                  await call(api.DELETE("/orgs/{org}/budgets/{id}", { params: { path: { org, id: b.id } } }));
                  go(location.pathname, true);
                }, status, "secondary")
              : when(b.created_at),
          ]),
        ),
    create ? [h("h2", {}, "Set a budget"), create] : null,
  );
}

addRoutes([
  { path: "usage", title: "Usage", audience: "developer", render: developerUsage },
  { path: "admin/usage", title: "Usage", audience: "admin", needs: "read_usage", render: adminUsage },
  { path: "admin/budgets", title: "Budgets", audience: "admin", needs: "read_usage", render: budgets },
]);
