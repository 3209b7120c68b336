// The journeys every emailed link starts, in a browser at 360 px, following the links in the real
// .eml files the runner wrote. Each page on the way is checked with axe-core.
import { expect, type Locator, type Page } from "@playwright/test";
import { base, catalogEntry, checkPage, createOrg, email, linkIn, logIn, type Org, PASSWORD, phonePage, test, uniqueEmail } from "./support";

/** Signs `who` up on the organisation's sign-up page with the test password. */
async function signUp(page: Page, org: Org, who: string): Promise<void> {
  await page.goto(`${base()}/o/${org.id}/signup`);
  await page.getByLabel("Email", { exact: true }).fill(who);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Check your email")).toBeVisible();
}

test("a developer signs up, confirms, gets keys from an auto and an admin entry; an admin accepts their invitation and approves; the key link shows the key once; the inbox count goes up and down", async ({ page, browser }) => {
  const org = await createOrg(`Journey ${Date.now().toString(36)}`, {
    signup_fields: [{ name: "company", label: "Company", required: true }],
    key_request_fields: [{ name: "use_case", label: "What will you build?" }],
  });
  const instant = await catalogEntry(org, "Weather", "auto");
  await catalogEntry(org, "Payments", "admin");
  const developer = uniqueEmail("dev");
  const approver = uniqueEmail("approver");
  await org.admin("POST", "/admins", { email: approver, role: "approver" });

  // Sign up: a refusal is shown beside the field it names, then the real thing.
  await page.goto(`${base()}/o/${org.id}/signup`);
  await expect(page.getByRole("heading", { name: "Create an account" })).toBeVisible();
  await checkPage(page);
  await page.getByLabel("Email", { exact: true }).fill(developer);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Company").fill("Acme");
  await page.getByRole("button", { name: "Create account" }).click();
  const passwordError = page.locator(".field-error").filter({ hasText: /12/ });
  await expect(passwordError).toBeVisible();
  await expect(page.getByLabel("Password", { exact: true })).toHaveAttribute("aria-invalid", "true");
  await checkPage(page);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Check your email")).toBeVisible();

  // Confirm the address from the welcome email.
  const welcome = await email(developer, "confirm-email");
  await page.goto(linkIn(welcome, "/confirm-email"));
  await checkPage(page);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page.getByText("Your address is confirmed.")).toBeVisible();

  // Log in, and take a key from the auto entry: shown once.
  await page.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await checkPage(page);
  await logIn(page, developer);
  await expect(page.getByRole("heading", { name: "API catalog" })).toBeVisible();
  await checkPage(page);
  await page.getByRole("link", { name: "Request access to Weather" }).click();
  await expect(page).toHaveURL(new RegExp(`/o/${org.id}/catalog/${instant}$`));
  await checkPage(page);
  await page.getByLabel("What will you build?").fill("A forecast widget");
  await page.getByRole("button", { name: "Request key" }).click();
  const shown = page.getByLabel("API key");
  await expect(shown).toHaveValue(/^gh_live_/);
  await checkPage(page);

  // The admin entry: the request waits.
  await page.getByRole("link", { name: "Catalog" }).click();
  await page.getByRole("link", { name: "Request access to Payments" }).click();
  await page.getByRole("button", { name: "Request key" }).click();
  await expect(page.getByText("waiting for an admin")).toBeVisible();
  await page.getByRole("link", { name: "See your keys and requests" }).click();
  await expect(page.getByRole("heading", { name: "My keys" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Your pending requests" })).toBeVisible();
  await checkPage(page);

  // From now on approvals send a one-use Generate Key link instead of the key.
  await org.admin("PATCH", "", { settings: { secure_key_approval: true } });

  // The approver accepts the invitation from its email, logs in and approves.
  const admin = await phonePage(browser);
  const invitation = await email(approver, "accept-invitation");
  await admin.goto(linkIn(invitation, "/admin/accept-invitation"));
  await checkPage(admin);
  await admin.getByRole("textbox", { name: "Choose a password" }).fill(PASSWORD);
  await admin.getByRole("button", { name: "Accept invitation" }).click();
  await expect(admin.getByText("You are now an approver")).toBeVisible();
  await admin.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await logIn(admin, approver);
  await expect(admin.getByRole("heading", { name: "Key requests waiting (1)" })).toBeVisible();
  await checkPage(admin);
  // An approver sees what an approver may do, and no more.
  await expect(admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deliveries" })).toHaveCount(0);
  await expect(admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Developers" })).toBeVisible();
  await admin.getByRole("button", { name: `Approve the request of ${developer}` }).click();
  await expect(admin.getByRole("heading", { name: "Key requests waiting (0)" })).toBeVisible();

  // The developer follows the Generate Key link (a new page load: the session lived in memory, so
  // the page asks for a login first and comes back), and sees the key once.
  const approved = await email(developer, "keys/generate");
  const generate = linkIn(approved, "/keys/generate");
  await page.goto(generate);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await checkPage(page);
  await logIn(page, developer);
  await expect(page.getByRole("heading", { name: "Generate your key" })).toBeVisible();
  await checkPage(page);
  await page.getByRole("button", { name: "Generate my key" }).click();
  await expect(page.getByLabel("API key")).toHaveValue(/^gh_live_/);
  await checkPage(page);
  // The link works once.
  await page.goto(generate);
  await logIn(page, developer);
  await page.getByRole("button", { name: "Generate my key" }).click();
  await expect(page.getByRole("alert")).toBeVisible();

  // The inbox count went up with the approval, and goes down when it is read.
  const inbox = page.getByRole("link", { name: /^Inbox \(\d+ unread\)$/ });
  await expect(inbox).toBeVisible();
  await expect(inbox.locator(".badge")).toBeVisible();
  await inbox.click();
  await expect(page.getByRole("heading", { name: "Inbox" })).toBeVisible();
  await checkPage(page);
  await page.getByRole("button", { name: "Mark all read" }).click();
  await expect(page.getByRole("link", { name: "Inbox", exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: /unread/ })).toHaveCount(0);
  // The count's badge is gone from the screen too, not only from the link's name.
  await expect(page.getByRole("link", { name: "Inbox", exact: true }).locator(".badge")).toBeHidden();

  // Every other page of the developer's, at this width.
  for (const [name, heading] of [["My keys", "My keys"], ["Usage", "Usage, last 7 days"], ["Account", "Account"]] as const) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
    await checkPage(page);
  }
  await page.getByRole("link", { name: "Notification preferences" }).click();
  await expect(page.getByRole("heading", { name: "Notification preferences" })).toBeVisible();
  await checkPage(page);

  // A key rolled from My keys: the new secret shown once, the former one working one more hour.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My keys" }).click();
  const weather = page.getByRole("region", { name: "Your keys" }).getByRole("row", { name: /Weather/ });
  await expect(weather).toContainText("10 requests per second");
  await page.getByLabel("When you roll a key, its former secret").selectOption("3600");
  await weather.getByRole("button", { name: /^Roll/ }).click();
  await expect(page.getByLabel("API key")).toHaveValue(/^gh_live_/);
  await expect(weather.getByRole("cell").nth(4)).not.toHaveText("—");
  await checkPage(page);
});

test("a reset link from the outbox sets a new password", async ({ page }) => {
  const org = await createOrg(`Reset ${Date.now().toString(36)}`, { confirm_email: false });
  const developer = uniqueEmail("forgetful");
  await signUp(page, org, developer);

  await page.goto(`${base()}/o/${org.id}/login`);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await checkPage(page);
  await page.getByLabel("Email", { exact: true }).fill(developer);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByText("a link to choose a new password is on its way")).toBeVisible();

  const reset = await email(developer, "reset-password");
  await page.goto(linkIn(reset, "/reset-password"));
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await checkPage(page);
  await page.getByRole("textbox", { name: "New password" }).fill("a brand new long password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByText("Your password is changed")).toBeVisible();

  await page.getByRole("main").getByRole("link", { name: "Log in" }).click();
  await logIn(page, developer);
  await expect(page.getByRole("alert")).toContainText(/wrong/i);
  await logIn(page, developer, "a brand new long password");
  await expect(page.getByRole("heading", { name: "API catalog" })).toBeVisible();
});

test("an unsubscribe link turns the preference off", async ({ page }) => {
  const org = await createOrg(`Unsub ${Date.now().toString(36)}`, { confirm_email: false });
  const entry = await catalogEntry(org, "Maps", "admin");
  const developer = uniqueEmail("busy");
  await signUp(page, org, developer);
  await page.goto(`${base()}/o/${org.id}/catalog/${entry}`);
  await logIn(page, developer);
  await page.getByRole("button", { name: "Request key" }).click();
  await expect(page.getByText("waiting for an admin")).toBeVisible();
  const requests = await org.admin("GET", "/key-requests?status=pending");
  await org.admin("POST", `/key-requests/${requests.items[0].id}/decline`);

  // The decline's email carries the unsubscribe link of its kind of notice.
  const declined = await email(developer, /declined/i);
  const link = linkIn(declined, "/unsubscribe");
  expect(new URL(link).pathname).toBe(`/o/${org.id}/unsubscribe`);
  // Both parts carry it: the text part's footer and the HTML layout's.
  expect(declined.text).toContain(link);
  expect(declined.html).toContain(`/o/${org.id}/unsubscribe?token`);
  await page.goto(link);
  await checkPage(page);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  const done = page.getByText(/Unsubscribed from (.+) emails/);
  await expect(done).toBeVisible();
  const type = (await done.textContent())!.match(/Unsubscribed from (.+) emails/)![1]!;

  // The preference shows it: that type's email is off, its in-app notice still on.
  await page.goto(`${base()}/o/${org.id}/preferences`);
  await logIn(page, developer);
  await expect(page.getByRole("heading", { name: "Notification preferences" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: `Email for ${type}` })).not.toBeChecked();
  await expect(page.getByRole("checkbox", { name: `In the portal for ${type}` })).toBeChecked();
});

/** Presses Tab until `target` has the focus, and checks the focus can be seen there. */
async function tabTo(page: Page, target: Locator, most = 40): Promise<void> {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((element) => element === document.activeElement)) {
      const outline = await target.evaluate((element) => getComputedStyle(element).outlineStyle);
      expect(outline, "the focus is visible").not.toBe("none");
      return;
    }
  }
  throw new Error(`${target} was not reached with ${most} presses of Tab`);
}

test("a developer logs in and takes a key with the keyboard alone", async ({ page }) => {
  const org = await createOrg(`Keys ${Date.now().toString(36)}`, { confirm_email: false });
  await catalogEntry(org, "Geo", "auto");
  const developer = uniqueEmail("keyboard");
  await signUp(page, org, developer);

  await page.goto(`${base()}/o/${org.id}/login`);
  // A page starts with its heading focused, so the next Tab is into its content.
  await expect(page.getByRole("heading", { name: "Log in" })).toBeFocused();
  await tabTo(page, page.getByLabel("Email", { exact: true }));
  await page.keyboard.type(developer);
  await tabTo(page, page.getByLabel("Password", { exact: true }));
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "API catalog" })).toBeFocused();
  await tabTo(page, page.getByRole("link", { name: "Request access to Geo" }));
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Request access to Geo" })).toBeFocused();
  await tabTo(page, page.getByRole("button", { name: "Request key" }));
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("API key")).toHaveValue(/^gh_live_/);
});
