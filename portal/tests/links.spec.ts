// Every page an email or an inbox notice links to is a page of the portal: the paths after
// `{{portal_url}}` in every email template of every language, and the inbox links of the
// notification type table, each opened under one organisation; and no template sends its reader
// to an API route instead of a page. (The token pages those emails
// carry in their data, such as reset-password, are followed from real emails in journeys.spec.ts.)
import { expect } from "@playwright/test";
import { readFile, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { base, checkPage, createOrg, test } from "./support";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `/admin/key-requests/{{request_id}}?status=x` → `/admin/key-requests/id1`. */
const pagePath = (link: string) => link.replace(/\{\{[^}]*\}\}/g, "id1").split(/[?#]/)[0]!.replace(/[.,)]+$/, "");

/** Templates that point a reader at an API route instead of a page. */
const apiPaths: string[] = [];

async function templateLinks(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const folder = join(root, "email_templates");
  for (const language of await readdir(folder)) {
    for (const file of await readdir(join(folder, language))) {
      const text = await readFile(join(folder, language, file), "utf8");
      for (const route of text.match(/\/orgs\/\{|\/portal\/\{|\/v1\/|\b(?:GET|POST|PUT|PATCH|DELETE) \//g) ?? []) apiPaths.push(`${language}/${file}: ${route}`);
      for (const match of text.matchAll(/\{\{\s*(?:@root\.)?portal_url\s*\}\}(\/[^"'\s<]*)/g)) {
        found.set(pagePath(match[1]!), `${language}/${file}`);
      }
    }
  }
  return found;
}

/** The `link` of each notification type, from the table (the part before its tests). */
async function inboxLinks(): Promise<Map<string, string>> {
  const source = await readFile(join(root, "shared/src/domain/notifications.rs"), "utf8");
  const table = source.split("#[cfg(test)]")[0]!;
  const found = new Map<string, string>();
  for (const match of table.matchAll(/"(\/[a-z][a-z0-9/-]*)"/g)) found.set(pagePath(match[1]!), "notifications.rs");
  return found;
}

test("every page an email or an inbox notice links to is a page of the portal, and passes axe at 360 px logged out", async ({ page }) => {
  const org = await createOrg(`Links ${Date.now().toString(36)}`);
  const links = new Map([...(await templateLinks()), ...(await inboxLinks())]);
  expect(apiPaths, "templates link to portal pages, never to an API route").toEqual([]);
  // The table and the templates hold at least these; a regular expression gone blind finds none.
  for (const known of ["/usage", "/keys", "/admin/budgets", "/admin/key-requests/id1", "/admin/account"]) {
    expect([...links.keys()], `${known} among the links found`).toContain(known);
  }
  // And the pages no email names, as someone not logged in meets them.
  for (const path of ["", "/admin", "/admin/login", "/admin/reset-password", "/signup"]) links.set(path, "the portal's own");
  for (const [path, where] of links) {
    await page.goto(`${base()}/o/${org.id}${path}`);
    const heading = page.getByRole("main").getByRole("heading", { level: 1 });
    await expect(heading, `${path} (${where}) shows a page`).toBeVisible();
    await expect(heading, `${path} (${where}) is a page of the portal`).not.toHaveText("Page not found");
    await checkPage(page);
  }
  // An address the portal does not know says so, and offers the way back.
  await page.goto(`${base()}/o/${org.id}/no-such-page`);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await checkPage(page);
  await page.goto(`${base()}/`);
  await expect(page.getByRole("heading", { level: 1, name: "Gatehouse portal" })).toBeVisible();
  await checkPage(page);
});

test("the portal is served with a Content-Security-Policy that allows no inline script or style", async ({ page }) => {
  const org = await createOrg(`Headers ${Date.now().toString(36)}`);
  const response = await page.goto(`${base()}/o/${org.id}/catalog`);
  const scripts = await page.locator("script[src]").evaluateAll((all) => all.map((s) => (s as HTMLScriptElement).src));
  expect(scripts.length).toBeGreaterThan(0);
  for (const answer of [response!, ...(await Promise.all(scripts.map((src) => page.request.get(src))))]) {
    const headers = answer.headers();
    const policy = headers["content-security-policy"] ?? "";
    expect(policy, answer.url()).toContain("default-src 'none'");
    expect(policy, answer.url()).toContain("script-src 'self'");
    expect(policy, answer.url()).toContain("frame-ancestors 'none'");
    expect(policy, answer.url()).not.toContain("unsafe-");
    expect(headers["x-content-type-options"], answer.url()).toBe("nosniff");
    expect(headers["referrer-policy"], answer.url()).toBe("no-referrer");
  }
  // The page itself has nothing inline that the policy would refuse.
  expect(await page.locator("script:not([src]), style, [style]").count()).toBe(0);
  await checkPage(page);
});
