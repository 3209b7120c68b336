// An organisation's settings (owners also set where links and notices go) and its notification
// switches; read-only for roles that may not change them.
import { api, call, type Schemas } from "../api/client";
import { addRoutes, type Context } from "../app";
import { choice, facts, field, form, h, notice, type FormValues } from "../dom";
import { may } from "../session";
import { languageName, localeChoices } from "./accounts";
import { APPROVALS } from "./offerings";

type Settings = Schemas["Settings"];

/** The settings a form offers: its input, how it reads back, and its value when none is stored. */
type SettingSpec =
  | { key: keyof Settings; kind: "choice"; label: string; options: [string, string][]; unset: string }
  | { key: keyof Settings; kind: "check"; label: string; unset: boolean }
  | { key: keyof Settings; kind: "text"; label: string; type: "url" | "email"; hint?: string };

const SETTINGS: SettingSpec[] = [
  { key: "signup_mode", kind: "choice", label: "Sign-ups", unset: "open", options: [["open", "Open: anyone may sign up"], ["admin_approval", "Reviewed: an admin approves each account"], ["invite_only", "By invitation only"]] },
  { key: "confirm_email", kind: "check", label: "New developers confirm their address before anything else", unset: true },
  { key: "disable_signup", kind: "check", label: "Pause sign-ups", unset: false },
  { key: "disable_login", kind: "check", label: "Pause developer logins (admins still log in)", unset: false },
  { key: "default_approval", kind: "choice", label: "Key requests are decided", unset: "admin", options: APPROVALS },
  { key: "secure_key_approval", kind: "check", label: "Approvals send a one-use Generate Key link, not the key", unset: false },
  { key: "hide_token_data", kind: "check", label: "Approval emails never carry a key", unset: false },
];

/** Where links, notices and hand-offs go: the owners' to change (change_destinations). */
const DESTINATIONS: SettingSpec[] = [
  { key: "portal_url", kind: "text", label: "Portal address", type: "url", hint: "The base of every emailed link; empty for the deployment's portal" },
  { key: "admin_email", kind: "text", label: "Admins' address", type: "email", hint: "Where notices to the organisation's admins go" },
  { key: "redirect_to", kind: "text", label: "Redirect key requests to", type: "url" },
  { key: "key_request_webhook", kind: "text", label: "Approval service webhook", type: "url" },
];

function settingInput(spec: SettingSpec, settings: Settings): HTMLElement {
  const name = `settings.${spec.key}`;
  const stored = settings[spec.key];
  switch (spec.kind) {
    case "choice":
      return choice(name, spec.label, spec.options, String(stored ?? spec.unset));
    case "check":
      return field({ name, label: spec.label, type: "checkbox", value: Boolean(stored ?? spec.unset) });
    case "text":
      return field({ name, label: spec.label, type: spec.type, value: (stored as string | undefined) ?? "", hint: spec.hint });
  }
}

/** What the form changes: only settings whose value differs from the stored one (`null` clears). */
function changedSettings(specs: SettingSpec[], settings: Settings, values: FormValues): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const spec of specs) {
    const name = `settings.${spec.key}`;
    const stored = settings[spec.key];
    if (spec.kind === "check") {
      const now = values.checked(name);
      if (now !== Boolean(stored ?? spec.unset)) changes[spec.key] = now;
    } else {
      const now = values.optional(name);
      const before = stored === undefined || stored === null ? (spec.kind === "choice" ? spec.unset : null) : String(stored);
      if (now !== before) changes[spec.key] = now;
    }
  }
  return changes;
}

function settingsForm(org: string, organisation: Schemas["Organisation"], locales: string[]): Node {
  const s = organisation.settings;
  const owner = may(org, "change_destinations");
  const saved = h("div", {});
  const languages = localeChoices(locales, "Not set (English)");
  return h(
    "div",
    {},
    saved,
    form(
      "Settings",
      [
        field({ name: "name", label: "Organisation name", value: organisation.name, required: true }),
        SETTINGS.map((spec) => settingInput(spec, s)),
        choice("settings.default_locale", "Default language of emails", languages, s.default_locale ?? ""),
        owner
          ? h("fieldset", {}, h("legend", {}, "Where links and notices go"), DESTINATIONS.map((spec) => settingInput(spec, s)))
          : facts(DESTINATIONS.map((spec) => [spec.label, String(s[spec.key] ?? "—")])),
      ],
      "Save settings",
      async (values) => {
        const changes = changedSettings([...SETTINGS, ...(owner ? DESTINATIONS : [])], s, values);
        const locale = values.optional("settings.default_locale");
        if (locale !== (s.default_locale ?? null)) changes.default_locale = locale;
        const name = values.text("name");
        const changed = await call(
          api.PATCH("/orgs/{org}", { params: { path: { org } }, body: { ...(name !== organisation.name ? { name } : {}), settings: changes as Settings } }),
        );
        const anything = Object.keys(changes).length > 0 || name !== organisation.name;
        Object.assign(organisation, changed);
        saved.replaceChildren(notice(anything ? "Saved." : "Nothing changed."));
      },
    ),
  );
}

async function settings(context: Context): Promise<Node> {
  const { org, face } = context;
  const [organisation, types] = await Promise.all([
    call(api.GET("/orgs/{org}", { params: { path: { org } } })),
    call(api.GET("/orgs/{org}/notification-types", { params: { path: { org } } })),
  ]);
  const change = may(org, "change_settings");
  const people = types.items.filter((t) => t.audience !== "event_options");
  const saved = h("div", {});
  const switches = people.map((t) =>
    h(
      "div",
      { class: "pref" },
      h("span", { class: "pref-name" }, `${t.name.replace(/_/g, " ")} (${t.audience.replace(/_/g, " ")})`),
      (["email", "in_app"] as const).map((channel) => {
        const id = `switch-${t.name}-${channel}`;
        return h(
          "span",
          { class: "check" },
          h("input", { type: "checkbox", id, name: `types.${t.name}.${channel}`, checked: t[channel].enabled, disabled: t.critical || !change }),
          h("label", { for: id }, channel === "email" ? "Email" : "In the portal", h("span", { class: "visually-hidden" }, ` for ${t.name.replace(/_/g, " ")}`)),
        );
      }),
    ),
  );
  const s = organisation.settings;
  const fieldset = h("fieldset", {}, h("legend", {}, "Notices to people"), switches);
  return h(
    "section",
    {},
    h("h1", {}, "Settings"),
    change
      ? settingsForm(org, organisation, face.locales)
      : facts([
          ["Name", organisation.name],
          ...SETTINGS.map((spec): [string, string] => [spec.label, String(s[spec.key] ?? (spec.kind === "text" ? "—" : spec.unset))]),
          ["Default language of emails", s.default_locale ? languageName(s.default_locale) : "English"],
          ...DESTINATIONS.map((spec): [string, string] => [spec.label, String(s[spec.key] ?? "—")]),
        ]),
    h("h2", {}, "Notification switches"),
    h("p", {}, "A switch turned off withholds that notice from everyone in the organisation. Critical notices cannot be switched off."),
    saved,
    change
      ? form("Notification switches", [fieldset], "Save switches", async (values) => {
          const off: Record<string, { email?: boolean; in_app?: boolean }> = {};
          for (const t of people) {
            if (t.critical) continue;
            const email = values.checked(`types.${t.name}.email`);
            const inApp = values.checked(`types.${t.name}.in_app`);
            if (!email || !inApp) off[t.name] = { ...(email ? {} : { email: false }), ...(inApp ? {} : { in_app: false }) };
          }
          await call(api.PUT("/orgs/{org}/notification-types", { params: { path: { org } }, body: { types: off } }));
          saved.replaceChildren(notice("Saved."));
        })
      : fieldset,
  );
}

addRoutes([
  { path: "admin/settings", title: "Settings", audience: "admin", needs: "read_organisation", render: settings },
]);
