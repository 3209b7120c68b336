// What the journeys share: the runner's address, the operator's calls that set an organisation up,
// the emails in the runner's outbox (real .eml files, parsed), and the accessibility check.
import AxeBuilder from "@axe-core/playwright";
import { test as playwrightTest, expect, type Browser, type Page } from "@playwright/test";
import { simpleParser } from "mailparser";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ROOT_KEY } from "./runner";

export const PASSWORD = "a long enough password";

export const base = () => process.env.PORTAL_BASE!;

let counter = 0;
export function uniqueEmail(who: string): string {
  return `${who}-${Date.now().toString(36)}-${++counter}@example.com`;
}

export async function apiCall(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

export interface Org {
  id: string;
  key: string;
  admin(method: string, path: string, body?: unknown): Promise<any>;
}

/** An organisation made by the operator, with its owner admin key for setting it up. */
export async function createOrg(name: string, settings: Record<string, unknown> = {}): Promise<Org> {
  const created = await apiCall("POST", "/orgs", ROOT_KEY, { name, settings });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const id: string = created.json.id;
  const key: string = created.json.admin_key;
  return {
    id,
    key,
    async admin(method, path, body) {
      const answer = await apiCall(method, `/orgs/${id}${path}`, key, body);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.json)}`).toBeLessThan(300);
      return answer.json;
    },
  };
}

/** A published catalog entry for a new API and policy, decided as `approval` says. */
export async function catalogEntry(org: Org, name: string, approval: "auto" | "admin"): Promise<string> {
  const api = await org.admin("POST", "/apis", { name: `${name} API`, listen_path: `/${name.toLowerCase()}/` });
  const policy = await org.admin("POST", "/policies", { name: `${name} plan`, api_ids: [api.id], rate: { requests: 10, per_secs: 1 }, quota: { max: 1000, renewal_secs: 86400 } });
  const entry = await org.admin("POST", "/catalog", { name, description: `The ${name} API`, api_id: api.id, policy_id: policy.id, approval });
  return entry.id;
}

export interface Mail {
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
}

/** The newest email in the outbox to `to` whose subject or text holds `needle`, waiting for it. */
export async function email(to: string, needle: string | RegExp, timeoutMs = 20_000): Promise<Mail> {
  const outbox = process.env.PORTAL_OUTBOX!;
  const deadline = Date.now() + timeoutMs;
  const matches = (s: string) => (typeof needle === "string" ? s.includes(needle) : needle.test(s));
  for (;;) {
    const files = (await readdir(outbox)).filter((f) => f.endsWith(".eml")).sort().reverse();
    for (const file of files) {
      const parsed = await simpleParser(await readFile(join(outbox, file)));
      const addressed = [parsed.to].flat().some((a) => a && a.text.toLowerCase().includes(to.toLowerCase()));
      const mail = { subject: parsed.subject ?? "", text: parsed.text ?? "", html: typeof parsed.html === "string" ? parsed.html : "", headers: parsed.headers };
      if (addressed && (matches(mail.subject) || matches(mail.text))) return mail;
    }
    if (Date.now() > deadline) throw new Error(`no email to ${to} with ${needle} in ${outbox}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The first link in the email (text or HTML) to a page of the portal whose path holds `page`. */
export function linkIn(mail: Mail, page: string): string {
  // The HTML part's links are attribute values: undo their character references as a mail client does.
  const html = mail.html
    .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec) => String.fromCodePoint(Number(dec)))
    .replace(/&amp;/g, "&");
  const links = [...`${mail.text}\n${html}`.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0]);
  const link = links.find((l) => new URL(l).pathname.includes(page));
  if (!link) throw new Error(`no ${page} link in “${mail.subject}”: ${links.join(" ")}`);
  expect(link.startsWith(base()), `${link} is the runner's own address`).toBe(true);
  return link;
}

/** What Chromium refused under the portal's Content-Security-Policy, on any page watched. */
const cspViolations: string[] = [];

function watchCsp(page: Page): Page {
  page.on("console", (message) => {
    if (message.type() === "error" && message.text().includes("Content Security Policy")) cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

/** Playwright's test, its page watched for Content-Security-Policy violations. */
export const test = playwrightTest.extend<{ cspWatched: void }>({
  cspWatched: [
    async ({ page }, use) => {
      watchCsp(page);
      await use();
    },
    { auto: true },
  ],
});

/** A second person's page at the phone width, watched like the first. */
export async function phonePage(browser: Browser): Promise<Page> {
  return watchCsp(await (await browser.newContext({ viewport: { width: 360, height: 780 } })).newPage());
}

/** Fills the login form on the page and submits it. */
export async function logIn(page: Page, who: string, password = PASSWORD): Promise<void> {
  await page.getByLabel("Email", { exact: true }).fill(who);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

/**
 * axe-core's WCAG checks on the page as it is: no serious or critical violation, nothing wider than
 * the screen, and nothing the Content-Security-Policy refused so far.
 */
export async function checkPage(page: Page): Promise<void> {
  expect(cspViolations, "no Content-Security-Policy violation").toEqual([]);
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), `accessibility of ${page.url()}`).toEqual([]);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  const widest = overflow > 0
    ? await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("body *")]
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`)
          .join(", "),
      )
    : "";
  expect(overflow, `${page.url()} fits the screen; wider: ${widest}`).toBeLessThanOrEqual(0);
}
