// The one way the portal calls Gatehouse: a client typed by the paths and schemas generated from
// openapi.yaml (`npm run generate`), so a route or a field the API changes fails the build here.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** Where the API answers: the `gatehouse-api` meta tag the build writes, else this page's origin. */
function apiBase(): string {
  const configured = document.querySelector<HTMLMetaElement>('meta[name="gatehouse-api"]')?.content;
  return (configured || location.origin).replace(/\/+$/, "");
}

/**
 * The session token lives in this variable and nowhere else: not in localStorage, sessionStorage or a
 * cookie. Script on the page could read any of those as easily, and memory is gone when the tab is,
 * so a token left behind on a shared computer dies with it. The cost is logging in again after a
 * reload; every page that needs a session offers the login form and comes back.
 */
let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export function hasToken(): boolean {
  return token !== null;
}

const bearer: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: apiBase() });
api.use(bearer);

/** A refusal from the API, carrying its problem+json. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }

  get status(): number {
    return this.problem.status;
  }
}

type Outcome<T> = { data?: T; error?: unknown; response: Response };

/** The answer's data, or an `ApiProblem` (a network failure becomes one too, so pages show one kind). */
export async function call<T>(request: Promise<Outcome<T>>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await request;
  } catch {
    throw new ApiProblem({
      type: "about:blank",
      title: "Gatehouse could not be reached",
      status: 0,
      detail: "Check your connection and try again.",
    });
  }
  if (outcome.response.ok) return outcome.data as T;
  const error = outcome.error as Partial<Problem> | undefined;
  throw new ApiProblem({
    type: error?.type ?? "about:blank",
    title: error?.title ?? outcome.response.statusText,
    status: outcome.response.status,
    detail: error?.detail ?? "",
    errors: error?.errors ?? [],
  });
}

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** The JSON an operation answers with (by its operationId and status). */
export type Answer<O extends keyof operations, S extends PropertyKey = 200> = operations[O]["responses"] extends infer R
  ? S extends keyof R
    ? JsonOf<R[S]>
    : never
  : never;
