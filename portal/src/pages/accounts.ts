// Pages of getting in, for developers and admin users alike: log in, sign up, confirm an address,
// reset a password, accept an admin invitation. Each link an email carries lands on one of these.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, go, orgPath, redrawHeader, setLoginPages, type Context } from "../app";
import { choice, field, form, h, linkPage, notice } from "../dom";
import { logInAdmin, logInDeveloper } from "../session";

type Kind = "developer" | "admin";

/** Where a kind's pages live, and where it lands after logging in. */
const home = (kind: Kind) => (kind === "admin" ? "admin/key-requests" : "catalog");
const prefix = (kind: Kind) => (kind === "admin" ? "admin/" : "");

function loginForm(kind: Kind, context: Context, heading: string, lead?: string): Node {
  const { org, face } = context;
  const next = context.query.get("next") ?? (location.pathname.endsWith("/login") ? null : context.here);
  // Paused logins are the developers'; admins still log in to run the organisation.
  if (!face.login && kind === "developer") {
    return h("section", {}, h("h1", {}, heading), notice("This portal does not take logins at the moment.", "error"));
  }
  return h(
    "section",
    { class: "narrow" },
    h("h1", {}, heading),
    lead ? h("p", {}, lead) : null,
    form(
      "Log in",
      [
        field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "username" }),
        field({ name: "password", label: "Password", type: "password", required: true }),
      ],
      "Log in",
      async (values) => {
        const logIn = kind === "admin" ? logInAdmin : logInDeveloper;
        await logIn(org, values.text("email"), values.text("password"));
        redrawHeader(face);
        go(next && next.startsWith("/o/") ? next : orgPath(org, home(kind)), true);
      },
    ),
    h(
      "p",
      { class: "aside" },
      h("a", { href: orgPath(org, `${prefix(kind)}reset-password`) }, "Forgot your password?"),
      kind === "developer" && (face.signup === "open" || face.signup === "admin_approval")
        ? [" · ", h("a", { href: orgPath(org, "signup") }, "Create an account")]
        : null,
    ),
  );
}

setLoginPages({
  developer: (context) => loginForm("developer", context, "Log in", "Log in to continue."),
  admin: (context) => loginForm("admin", context, "Admin log in", "Log in as an admin to continue."),
});

function signUp(context: Context): Node {
  const { org, face } = context;
  if (face.signup === "closed" || face.signup === "invite_only") {
    return h("section", {}, h("h1", {}, "Sign up"), notice(face.signup === "closed" ? "This portal takes no sign-ups at the moment." : "Accounts on this portal are created by invitation.", "error"));
  }
  const done = h("div", {});
  const page = h(
    "section",
    { class: "narrow" },
    h("h1", {}, "Create an account"),
    face.signup === "admin_approval" ? h("p", {}, "An admin reviews new accounts before they can request keys.") : null,
    done,
  );
  done.append(
    form(
      "Create an account",
      [
        field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email" }),
        field({ name: "password", label: "Password", type: "password", required: true, autocomplete: "new-password", minlength: 12, hint: "At least 12 characters." }),
        fieldInputs(face.signup_fields),
        choice("locale", "Language of your emails", localeChoices(face.locales, "The portal's default")),
      ],
      "Create account",
      async (values) => {
        await call(
          api.POST("/portal/{org}/signup", {
            params: { path: { org } },
            body: {
              email: values.text("email"),
              password: values.text("password"),
              fields: fieldValues(face.signup_fields, values),
              ...(values.optional("locale") ? { locale: values.text("locale") } : {}),
            },
          }),
        );
        done.replaceChildren(notice("Thanks. Check your email to continue: we sent a link to confirm your address."));
      },
    ),
  );
  return page;
}

/** The inputs of an organisation's configured fields, named `fields.<name>` as the API names them in errors. */
export function fieldInputs(specs: Schemas["FieldSpecs"], values: Record<string, unknown> = {}): HTMLElement[] {
  return specs.map((spec) =>
    field({
      name: `fields.${spec.name}`,
      label: spec.label || spec.name.replace(/_/g, " "),
      type: spec.type === "number" ? "number" : spec.type === "boolean" ? "checkbox" : "text",
      required: spec.required,
      value: (values[spec.name] as string | number | boolean | undefined) ?? null,
    }),
  );
}

export function fieldValues(specs: Schemas["FieldSpecs"], values: { text(n: string): string; checked(n: string): boolean }): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const spec of specs) {
    const name = `fields.${spec.name}`;
    if (spec.type === "boolean") out[spec.name] = values.checked(name);
    else {
      const text = values.text(name);
      if (text === "") continue;
      out[spec.name] = spec.type === "number" && !Number.isNaN(Number(text)) ? Number(text) : text;
    }
  }
  return out;
}

export function languageName(locale: string): string {
  try {
    return new Intl.DisplayNames([locale.replace("_", "-")], { type: "language" }).of(locale.replace("_", "-")) ?? locale;
  } catch {
    return locale;
  }
}

/** The choices of a language select: `unset` (no language chosen) first, then each locale by name. */
export function localeChoices(locales: string[], unset: string): [string, string][] {
  return [["", unset], ...locales.map((l): [string, string] => [l, languageName(l)])];
}

/** The link of a welcome email: a button, so a mail scanner fetching the link confirms nothing. */
function confirmEmail(context: Context): Node {
  const { org } = context;
  return linkPage("Confirm your email address", null, (token, outcome) =>
    form("Confirm your address", [], "Confirm my address", async () => {
      await call(api.POST("/portal/{org}/confirm-email", { params: { path: { org } }, body: { token } }));
      outcome.replaceChildren(notice("Your address is confirmed."), h("p", {}, h("a", { href: orgPath(org, "login") }, "Log in")));
    }),
  );
}

/** Ask for a reset link, or (with the link's token) choose the new password. */
function resetPassword(kind: Kind) {
  return (context: Context): Node => {
    const { org } = context;
    const token = context.query.get("token");
    const outcome = h("div", {});
    if (!token) {
      outcome.append(
        form("Ask for a reset link", [field({ name: "email", label: "Email", type: "email", required: true, autocomplete: "email" })], "Email me a link", async (values) => {
          const email = values.text("email");
          if (kind === "admin") await call(api.POST("/orgs/{org}/password-reset", { params: { path: { org } }, body: { email } }));
          else await call(api.POST("/portal/{org}/password-reset", { params: { path: { org } }, body: { email } }));
          outcome.replaceChildren(notice("If that address has an account, a link to choose a new password is on its way."));
        }),
      );
    } else {
      outcome.append(
        form("Choose a new password", [field({ name: "password", label: "New password", type: "password", required: true, autocomplete: "new-password", minlength: 12, hint: "At least 12 characters." })], "Set password", async (values) => {
          const body = { token, password: values.text("password") };
          if (kind === "admin") await call(api.POST("/orgs/{org}/password-reset/complete", { params: { path: { org } }, body }));
          else await call(api.POST("/portal/{org}/password-reset/complete", { params: { path: { org } }, body }));
          outcome.replaceChildren(notice("Your password is changed, and every session you had is ended."), h("p", {}, h("a", { href: orgPath(org, `${prefix(kind)}login`) }, "Log in")));
        }),
      );
    }
    return h("section", { class: "narrow" }, h("h1", {}, token ? "Choose a new password" : "Reset your password"), outcome);
  };
}

function acceptInvitation(context: Context): Node {
  const { org } = context;
  return linkPage(`Join ${context.face.name} as an admin`, null, (token, outcome) =>
    form("Accept the invitation", [field({ name: "password", label: "Choose a password", type: "password", required: true, autocomplete: "new-password", minlength: 12, hint: "At least 12 characters." })], "Accept invitation", async (values) => {
      const admin = await call(api.POST("/orgs/{org}/admins/accept", { params: { path: { org } }, body: { token, password: values.text("password") } }));
      outcome.replaceChildren(notice(`Welcome. You are now ${article(admin.role)} ${admin.role} of ${context.face.name}.`), h("p", {}, h("a", { href: orgPath(org, "admin/login") }, "Log in")));
    }),
  );
}

/** "a" or "an" before a word, for the role names. */
export const article = (word: string) => (/^[aeiou]/.test(word) ? "an" : "a");

addRoutes([
  { path: "", title: "Welcome", audience: "public", render: (c) => { go(orgPath(c.org, "catalog"), true); return h("p", {}, "…"); } },
  { path: "login", title: "Log in", audience: "public", render: (c) => loginForm("developer", c, "Log in") },
  { path: "signup", title: "Sign up", audience: "public", render: signUp },
  { path: "confirm-email", title: "Confirm your address", audience: "public", render: confirmEmail },
  { path: "reset-password", title: "Reset your password", audience: "public", render: resetPassword("developer") },
  { path: "admin", title: "Admin", audience: "admin", render: (c) => { go(orgPath(c.org, "admin/key-requests"), true); return h("p", {}, "…"); } },
  { path: "admin/login", title: "Admin log in", audience: "public", render: (c) => loginForm("admin", c, "Admin log in") },
  { path: "admin/reset-password", title: "Reset your password", audience: "public", render: resetPassword("admin") },
  { path: "admin/accept-invitation", title: "Accept your invitation", audience: "public", render: acceptInvitation },
]);
