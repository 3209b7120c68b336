// A few DOM helpers instead of a UI framework: the portal is forms and lists, and this keeps the
// bundle small and every element's accessible name in plain sight.
import { ApiProblem, type Problem } from "./api/client";

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/** An element with attributes (`on…` ones are listeners; `false` and `null` leave one out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

let ids = 0;
const nextId = (name: string) => `f-${name.replace(/[^a-z0-9]+/gi, "-")}-${++ids}`;

export interface FieldOptions {
  name: string;
  label: string;
  type?: "text" | "email" | "password" | "number" | "checkbox" | "search" | "url" | "date";
  value?: string | number | boolean | null;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  minlength?: number;
}

/** A labelled input with its hint and a slot for the API's message about it. */
export function field(options: FieldOptions): HTMLElement {
  const id = nextId(options.name);
  const type = options.type ?? "text";
  const described = [options.hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  const input = h("input", {
    id,
    name: options.name,
    type,
    required: options.required,
    autocomplete: options.autocomplete ?? (type === "password" ? "current-password" : null),
    minlength: options.minlength,
    "aria-describedby": described,
    value: type === "checkbox" ? null : (options.value as string | number | null | undefined),
    checked: type === "checkbox" && options.value === true,
  });
  return h(
    "div",
    { class: type === "checkbox" ? "field check" : "field" },
    type === "checkbox" ? [input, h("label", { for: id }, options.label)] : [h("label", { for: id }, options.label), input],
    options.hint ? h("p", { id: `${id}-hint`, class: "hint" }, options.hint) : null,
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

/** A select with its label. */
export function choice(name: string, label: string, options: [string, string][], selected?: string | null): HTMLElement {
  const id = nextId(name);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h(
      "select",
      { id, name, "aria-describedby": `${id}-error` },
      options.map(([value, text]) => h("option", { value, selected: value === (selected ?? "") }, text)),
    ),
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
  );
}

/**
 * A form whose submit runs `action` with its values. While it runs the button is disabled; a refusal
 * is shown beside the fields it names (and in a summary at the top, which takes the focus).
 */
export function form(
  label: string,
  children: (Child | Child[])[],
  submit: string,
  action: (values: FormValues, form: HTMLFormElement) => Promise<void>,
): HTMLFormElement {
  const summary = h("div", { class: "form-error", role: "alert", tabindex: -1, hidden: true });
  const button = h("button", { type: "submit" }, submit);
  const element = h("form", { "aria-label": label, novalidate: true }, summary, ...children, h("div", { class: "actions" }, button));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblem(element);
    button.disabled = true;
    try {
      await action(new FormValues(element), element);
    } catch (error) {
      showProblem(element, error);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

/** The values of a form's named inputs, by name. */
export class FormValues {
  constructor(private readonly form: HTMLFormElement) {}

  text(name: string): string {
    const input = this.form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null;
    return input?.value.trim() ?? "";
  }

  /** The text, or null when left empty. */
  optional(name: string): string | null {
    return this.text(name) || null;
  }

  checked(name: string): boolean {
    return (this.form.elements.namedItem(name) as HTMLInputElement | null)?.checked ?? false;
  }
}

export function clearProblem(form: HTMLElement): void {
  form.querySelectorAll<HTMLElement>(".field-error").forEach((p) => {
    p.hidden = true;
    p.textContent = "";
  });
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  const summary = form.querySelector<HTMLElement>(".form-error");
  if (summary) summary.hidden = true;
}

/** Shows a refusal: each `errors[].field` beside its input, the rest in the form's summary. */
export function showProblem(form: HTMLElement, error: unknown): void {
  const problem: Problem =
    error instanceof ApiProblem
      ? error.problem
      : { type: "about:blank", title: "Something went wrong", status: 0, detail: String(error) };
  const unplaced: string[] = [];
  for (const { field: name, message } of problem.errors ?? []) {
    const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`);
    const slot = input && document.getElementById(`${input.id}-error`);
    if (input && slot) {
      input.setAttribute("aria-invalid", "true");
      slot.textContent = message;
      slot.hidden = false;
    } else {
      unplaced.push(`${name}: ${message}`);
    }
  }
  const summary = form.querySelector<HTMLElement>(".form-error");
  if (!summary) return;
  summary.replaceChildren();
  append(summary, [
    h("p", { class: "problem-title" }, problem.title),
    problem.detail ? h("p", {}, problem.detail) : null,
    unplaced.length ? h("ul", {}, unplaced.map((line) => h("li", {}, line))) : null,
  ]);
  summary.hidden = false;
  summary.focus();
}

/** A date and time as people read them, in the page's language. */
export function when(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return date.toLocaleString(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** A length of time in seconds as words: "day", "5 minutes". */
export function seconds(secs: number): string {
  const units: [number, string][] = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  for (const [size, name] of units) {
    if (secs % size === 0) return secs === size ? name : `${secs / size} ${name}s`;
  }
  return `${secs} seconds`;
}

/** A table in a region that scrolls sideways on a narrow screen (and can be scrolled by keyboard). */
export function table(caption: string, headings: string[], rows: (Node | string)[][]): HTMLElement {
  return h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": caption, tabindex: 0 },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
    ),
  );
}

/** A button that does one thing to one row; its accessible name says which row. */
export function action(text: string, what: string, run: () => Promise<void>, status: HTMLElement, kind = ""): HTMLButtonElement {
  const button = h("button", { type: "button", class: kind }, h("span", {}, text), h("span", { class: "visually-hidden" }, ` ${what}`));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await run();
    } catch (error) {
      status.replaceChildren(notice(error instanceof Error ? error.message : String(error), "error"));
      button.disabled = false;
    }
  });
  return button;
}

/** A refusal made here, shown like the API's: beside the field it names. */
export function refuse(field: string, message: string): never {
  throw new ApiProblem({ type: "about:blank", title: "Some fields need another look", status: 400, detail: "", errors: [{ field, message }] });
}

/** Terms and their values, read-only. */
export function facts(rows: [string, string][]): HTMLElement {
  return h("dl", { class: "facts" }, rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** The name of the item of `list` with this id, or the id itself when the list lacks it. */
export function nameOf(list: { id: string; name: string }[], id: string): string {
  return list.find((x) => x.id === id)?.name ?? id;
}

/** A notice that screen readers announce. */
export function notice(text: string, kind: "ok" | "error" = "ok"): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/**
 * A page an emailed link opens: the token from its address, what uses it (a form whose outcome
 * replaces it in `outcome`), or a clear message when the link lost its token.
 */
export function linkPage(heading: string, intro: Node | null, body: (token: string, outcome: HTMLElement) => Node): HTMLElement {
  const token = new URLSearchParams(location.search).get("token");
  const outcome = h("div", {});
  outcome.append(token ? body(token, outcome) : notice("This link has no token. Use the whole link from your email.", "error"));
  return h("section", { class: "narrow" }, h("h1", {}, heading), intro, outcome);
}
