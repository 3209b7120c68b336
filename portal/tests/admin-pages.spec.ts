// The admin pages, each visited at 360 px and checked with axe-core: an owner runs an organisation
// with a little of everything in it (a pending developer, a used key, a budget with spend, a second
// admin), and a viewer sees the same pages without the controls a viewer may not use.
import { expect, type Page } from "@playwright/test";
import { apiCall, catalogEntry, checkPage, createOrg, email, linkIn, logIn, type Org, PASSWORD, phonePage, test, uniqueEmail } from "./support";

/** A developer signed up through the API (the organisation takes sign-ups for approval). */
async function developer(org: Org, who: string): Promise<string> {
  const signed = await apiCall("POST", `/portal/${org.id}/signup`, "", { email: who, password: PASSWORD });
  expect(signed.status, JSON.stringify(signed.json)).toBe(202);
  const found = await org.admin("GET", `/developers?email=${encodeURIComponent(who)}`);
  return found.items[0].id;
}

/** Accepts the invitation emailed to `who` in the browser and logs in as them. */
async function acceptAndLogIn(page: Page, who: string, role: string): Promise<void> {
  const invitation = await email(who, "accept-invitation");
  await page.goto(linkIn(invitation, "/admin/accept-invitation"));
  await page.getByRole("textbox", { name: "Choose a password" }).fill(PASSWORD);
  await page.getByRole("button", { name: "Accept invitation" }).click();
  await expect(page.getByText(`You are now ${role === "owner" ? "an" : "a"} ${role}`)).toBeVisible();
  await page.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await logIn(page, who);
  await expect(page.getByRole("heading", { name: /^Key requests waiting/ })).toBeVisible();
}

async function visit(page: Page, navigation: string | RegExp, heading: string | RegExp): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: navigation, exact: typeof navigation === "string" }).click();
  await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
  await checkPage(page);
}

test("an owner uses every admin page at 360 px; a viewer sees them without the controls of other roles", async ({ page, browser }) => {
  test.setTimeout(180_000);
  const org = await createOrg(`Admin ${Date.now().toString(36)}`, { signup_mode: "admin_approval", confirm_email: false });
  const entry = await catalogEntry(org, "Search", "auto");

  // A developer approved by the API, holding a key that a gateway used three times today.
  const alice = uniqueEmail("alice");
  const aliceId = await developer(org, alice);
  await org.admin("PATCH", `/developers/${aliceId}`, { status: "active" });
  const login = await apiCall("POST", `/portal/${org.id}/login`, "", { email: alice, password: PASSWORD });
  const issued = await apiCall("POST", `/portal/${org.id}/key-requests`, login.json.token, { catalog_id: entry });
  expect(issued.status, JSON.stringify(issued.json)).toBe(201);
  const gateway = await org.admin("POST", "/admin-keys", { name: "edge", role: "gateway" });
  for (let i = 0; i < 3; i++) {
    const verdict = await apiCall("POST", "/v1/keys/verify", gateway.key, { key: issued.json.key });
    expect(verdict.json.valid).toBe(true);
  }
  // A budget for her, with spend reported; a second developer waiting for approval.
  await org.admin("POST", "/budgets", { developer_id: aliceId, amount: 5000, currency: "EUR" });
  await org.admin("POST", "/usage", { id: "invoice-1", developer_id: aliceId, amount: 1250 });
  const bob = uniqueEmail("bob");
  await developer(org, bob);

  const owner = uniqueEmail("owner");
  const viewer = uniqueEmail("viewer");
  await org.admin("POST", "/admins", { email: owner, role: "owner" });
  await org.admin("POST", "/admins", { email: viewer, role: "viewer" });

  await acceptAndLogIn(page, owner, "owner");
  await checkPage(page);

  // Developers: the pending one is approved from the list.
  await visit(page, "Developers", "Developers");
  await page.getByRole("button", { name: `Approve ${bob}` }).click();
  await expect(page.getByRole("row", { name: new RegExp(bob) })).toContainText("active");
  await expect(page.getByRole("button", { name: `Approve ${bob}` })).toHaveCount(0);

  // Catalog: unpublish and publish an entry, add one for the same API and policy.
  await visit(page, "Catalog", "Catalog");
  const entries = page.getByRole("region", { name: "Catalog entries" });
  await expect(entries.getByRole("row", { name: /Search/ })).toContainText("auto");
  await entries.getByRole("button", { name: "Unpublish Search" }).click();
  await expect(entries.getByRole("button", { name: "Publish Search" })).toBeVisible();
  expect((await apiCall("GET", `/portal/${org.id}/catalog`, "")).json.items).toHaveLength(0);
  await entries.getByRole("button", { name: "Publish Search" }).click();
  await expect(entries.getByRole("button", { name: "Unpublish Search" })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill("Search Pro");
  await page.getByLabel("Key requests are decided").selectOption("admin");
  await page.getByRole("button", { name: "Add entry" }).click();
  await expect(entries.getByRole("row", { name: /Search Pro/ })).toContainText("admin");
  await checkPage(page);
  // A new API, a policy granting it (a quota that is not a number refused beside its field), and
  // an entry offering the two.
  await page.getByLabel("API name").fill("Maps API");
  await page.getByLabel("Listen path").fill("/maps/");
  await page.getByRole("button", { name: "Add API" }).click();
  await expect(page.getByRole("region", { name: "APIs" })).toContainText("/maps/");
  const policy = page.getByRole("form", { name: "New policy" });
  await policy.getByLabel("Policy name").fill("Maps plan");
  await policy.getByRole("checkbox", { name: "Maps API" }).check();
  await policy.getByRole("group", { name: /Rate limit/ }).getByLabel("Requests").fill("5");
  await policy.getByRole("group", { name: /Quota/ }).getByLabel("Requests").fill("0");
  await policy.getByRole("button", { name: "Add policy" }).click();
  await expect(policy.getByRole("group", { name: /Quota/ }).getByLabel("Requests")).toHaveAttribute("aria-invalid", "true");
  await checkPage(page);
  await policy.getByRole("group", { name: /Quota/ }).getByLabel("Requests").fill("100");
  await policy.getByRole("button", { name: "Add policy" }).click();
  await expect(page.getByRole("region", { name: "Policies" }).getByRole("row", { name: /Maps plan/ })).toContainText("5 per second");
  await expect(page.getByRole("region", { name: "Policies" }).getByRole("row", { name: /Maps plan/ })).toContainText("100 per day");
  const newEntry = page.getByRole("form", { name: "New catalog entry" });
  await newEntry.getByLabel("Name", { exact: true }).fill("Maps");
  await newEntry.getByLabel("API", { exact: true }).selectOption({ label: "Maps API" });
  await newEntry.getByLabel("Policy (must grant the API)").selectOption({ label: "Maps plan" });
  await newEntry.getByRole("button", { name: "Add entry" }).click();
  await expect(entries.getByRole("row", { name: /^Maps Maps API Maps plan/ })).toBeVisible();
  expect((await apiCall("GET", `/portal/${org.id}/catalog`, "")).json.items.map((e: { name: string }) => e.name)).toContain("Maps");
  await checkPage(page);

  // Alice asks for the new entry: the owner's email links to that one request, which they approve
  // (a new page load: the session lived in memory, so the page asks for a login and comes back).
  const pro = (await org.admin("GET", "/catalog?limit=100")).items.find((e: { name: string }) => e.name === "Search Pro");
  const asked = await apiCall("POST", `/portal/${org.id}/key-requests`, login.json.token, { catalog_id: pro.id });
  expect(asked.status, JSON.stringify(asked.json)).toBe(201);
  const pending = await email(owner, /key-requests\/kr_/);
  await page.goto(linkIn(pending, "/admin/key-requests/kr_"));
  await logIn(page, owner);
  await expect(page.getByRole("heading", { name: "Key request", exact: true })).toBeVisible();
  await checkPage(page);
  await page.getByRole("button", { name: `Approve the request of ${alice}` }).click();
  await expect(page.getByText("This request is decided or gone.")).toBeVisible();

  // Deliveries: one opens with its attempts (the owner's invitation email among them).
  await visit(page, "Deliveries", "Deliveries");
  await page.getByRole("region", { name: "Deliveries" }).getByRole("link").first().click();
  await expect(page.getByRole("heading", { name: "Delivery", exact: true })).toBeVisible();
  await expect(page.getByRole("region", { name: "Attempts" })).toContainText(/sent|skipped/);
  await checkPage(page);
  await page.getByRole("navigation", { name: "Delivery status" }).getByRole("link", { name: "All" }).click();
  await page.getByRole("link", { name: "Webhook endpoints" }).click();
  await expect(page.getByRole("heading", { name: "Webhook endpoints" })).toBeVisible();
  await checkPage(page);

  await visit(page, "Audit log", "Audit log");
  await expect(page.getByRole("region", { name: "Audit entries" })).toContainText("developer.updated");

  // Admins: the viewer is made an approver from the list, and back.
  await visit(page, "Admins", "Admins");
  const role = page.getByRole("combobox", { name: `Role of ${viewer}` });
  await role.selectOption("approver");
  await expect(page.getByRole("status")).toContainText(`${viewer} is now an approver.`);
  await role.selectOption("viewer");
  await expect(page.getByRole("status")).toContainText(`${viewer} is now a viewer.`);
  await page.getByRole("link", { name: "Admin keys" }).click();
  await expect(page.getByRole("heading", { name: "Admin keys" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Admin keys" })).toContainText("edge");
  await checkPage(page);

  // Usage: today's most used key is Alice's, with its 3 calls; then her keys, and the budgets.
  await visit(page, "Usage", "Usage");
  const top = page.getByRole("region", { name: "Most used keys" });
  await expect(top.getByRole("row", { name: new RegExp(alice) })).toContainText("3");
  await top.getByRole("link", { name: alice }).click();
  await expect(page.getByRole("heading", { name: "Usage of a developer's keys, last 7 days" })).toBeVisible();
  await expect(page.getByText("3 calls over 7 days")).toBeVisible();
  await checkPage(page);
  await page.getByRole("link", { name: "Budgets" }).click();
  await expect(page.getByRole("heading", { name: "Budgets" })).toBeVisible();
  const budgets = page.getByRole("region", { name: "Budgets" });
  await expect(budgets.getByRole("row", { name: new RegExp(alice) })).toContainText("€50.00");
  await expect(budgets.getByRole("row", { name: new RegExp(alice) })).toContainText("€12.50");
  await checkPage(page);
  // A budget for Bob: a wrong amount is named beside its field, then the real one is listed.
  await page.getByLabel("Developer's email").fill(bob);
  await page.getByLabel("Budget per month").fill("twenty");
  await page.getByRole("button", { name: "Set budget" }).click();
  await expect(page.getByLabel("Budget per month")).toHaveAttribute("aria-invalid", "true");
  await checkPage(page);
  await page.getByLabel("Budget per month").fill("20.00");
  await page.getByLabel("Currency").fill("USD");
  await page.getByRole("button", { name: "Set budget" }).click();
  await expect(budgets.getByRole("row", { name: new RegExp(bob) })).toContainText("$20.00");
  await budgets.getByRole("button", { name: `Delete the budget for ${bob}` }).click();
  await expect(budgets.getByRole("row", { name: new RegExp(bob) })).toHaveCount(0);

  // Settings: a bad address is named beside its field and nothing is saved; then a real change.
  await visit(page, "Settings", "Settings");
  await page.getByLabel("Sign-ups", { exact: true }).selectOption("invite_only");
  await page.getByLabel("Portal address").fill("not an address");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByLabel("Portal address")).toHaveAttribute("aria-invalid", "true");
  expect((await org.admin("GET", "")).settings.signup_mode).toBe("admin_approval");
  await checkPage(page);
  await page.getByLabel("Portal address").fill("");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  expect((await org.admin("GET", "")).settings.signup_mode).toBe("invite_only");
  // The owner was told of the second admin's invitation and role changes: the inbox holds them.
  await visit(page, /^Inbox \(\d+ unread\)$/, "Inbox");
  await visit(page, "Account", "Account");
  await page.getByLabel("Name").fill("Olga Owner");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  const me = await apiCall("GET", `/orgs/${org.id}/admins?limit=100`, org.key);
  expect(me.json.items.find((a: { email: string }) => a.email === owner).name).toBe("Olga Owner");
  await page.getByRole("link", { name: "Notification preferences" }).click();
  await expect(page.getByRole("heading", { name: "Notification preferences" })).toBeVisible();
  await checkPage(page);

  // Alice's page: her two keys (Search at once, Search Pro approved above); the second is revoked.
  await visit(page, "Developers", "Developers");
  await page.getByRole("link", { name: alice }).click();
  await expect(page.getByRole("heading", { level: 1, name: alice })).toBeVisible();
  const keys = page.getByRole("region", { name: "Keys of this developer" });
  await expect(keys.getByRole("row")).toHaveCount(3);
  await checkPage(page);
  await keys.getByRole("row", { name: /Search Pro/ }).getByRole("button", { name: /^Revoke/ }).click();
  await expect(keys.getByRole("row")).toHaveCount(2);
  await expect(keys).not.toContainText("Search Pro");
  const left = await apiCall("GET", `/orgs/${org.id}/developers/${aliceId}/keys`, org.key);
  expect(left.json.items).toHaveLength(1);

  // The viewer: the same pages to read, none of the controls.
  const other = await phonePage(browser);
  await acceptAndLogIn(other, viewer, "viewer");
  await visit(other, "Admins", "Admins");
  await expect(other.getByRole("combobox", { name: /^Role of/ })).toHaveCount(0);
  await expect(other.getByRole("button", { name: "Send invitation" })).toHaveCount(0);
  await visit(other, "Usage", "Usage");
  await other.getByRole("link", { name: "Budgets" }).click();
  await expect(other.getByRole("region", { name: "Budgets" })).toContainText("€50.00");
  await expect(other.getByRole("button", { name: "Set budget" })).toHaveCount(0);
  await expect(other.getByRole("button", { name: /^Delete/ })).toHaveCount(0);
  await visit(other, "Settings", "Settings");
  await expect(other.getByRole("button", { name: /^Save/ })).toHaveCount(0);
  await visit(other, "Catalog", "Catalog");
  await expect(other.getByRole("button", { name: /Publish/ })).toHaveCount(0);
  await visit(other, "Developers", "Developers");
  await other.getByRole("link", { name: alice }).click();
  await expect(other.getByRole("region", { name: "Keys of this developer" }).getByRole("row")).toHaveCount(2);
  await expect(other.getByRole("button", { name: /^Revoke/ })).toHaveCount(0);
});
