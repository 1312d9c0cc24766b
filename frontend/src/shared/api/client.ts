/**
 * The typed API client (openapi-fetch over the generated `schema.d.ts`).
 *
 * PATHS: the spec's paths already carry the `/api/v1` prefix, so every call names the full
 * path and the client adds only the origin: `api.GET("/api/v1/me")`,
 * `api.POST("/api/v1/auth/login", { body })`. Never `api.GET("/me")`.
 *
 * Auth is the cookie session only (nothing is kept in localStorage/sessionStorage):
 * - unsafe methods send `X-CSRF-Token` with the value of the readable CSRF cookie;
 * - a 401 from any call except the sign-in call and the GET /me probe calls the handler set
 *   with `onUnauthorized` (the app sends the user to /sign-in?next=<current path>).
 *
 * Wrap results with `unwrap()` from `./problem` to get the data or a thrown `ProblemError`.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";

export type { components, operations, paths } from "./schema";

export const CSRF_HEADER = "X-CSRF-Token";
const CSRF_COOKIES = ["__Host-opm_csrf", "opm_csrf"];
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const LOGIN_PATH = "/api/v1/auth/login";
const ME_PATH = "/api/v1/me";

let csrfFallback: string | null = null;
let unauthorizedHandler: () => void = () => {
  const here = window.location.pathname + window.location.search;
  window.location.assign(`/sign-in?next=${encodeURIComponent(here)}`);
};

/** The CSRF token: the cookie set by the server, else the one from the last sign-in response. */
export function csrfToken(): string | null {
  const cookies = document.cookie ? document.cookie.split("; ") : [];
  for (const name of CSRF_COOKIES) {
    const found = cookies.find((cookie) => cookie.startsWith(`${name}=`));
    if (found) return decodeURIComponent(found.slice(name.length + 1));
  }
  return csrfFallback;
}

/** Remember the `csrf_token` of a sign-in (or password change) response, in memory only. */
export function rememberCsrfToken(token: string | null): void {
  csrfFallback = token;
}

/** Set what happens when the session is missing or expired; returns a function restoring the previous one. */
export function onUnauthorized(handler: () => void): () => void {
  const previous = unauthorizedHandler;
  unauthorizedHandler = handler;
  return () => {
    unauthorizedHandler = previous;
  };
}

function isProbe(request: Request): boolean {
  const path = new URL(request.url).pathname;
  return path === LOGIN_PATH || (path === ME_PATH && request.method === "GET");
}

export const authMiddleware: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      const token = csrfToken();
      if (token) request.headers.set(CSRF_HEADER, token);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !isProbe(request)) unauthorizedHandler();
    return response;
  },
};

function origin(): string {
  return typeof window === "undefined" ? "http://localhost" : window.location.origin;
}

export const api = createClient<paths>({
  baseUrl: origin(),
  credentials: "same-origin",
  // Looked up at call time, so tests can stub the global fetch.
  fetch: (request) => globalThis.fetch(request),
});
api.use(authMiddleware);
