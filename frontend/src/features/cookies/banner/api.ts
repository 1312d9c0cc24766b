/**
 * The banner's three calls, with plain `fetch` so the standalone script carries no client.
 * The configuration is public and the same for everyone (no cookies sent, so it caches), and
 * revalidated on every page load (a 304 costs little), so a new revision re-prompts at once; the
 * choice calls send the device cookie (`credentials: "include"`, allowed by the API's CORS).
 */
import type { CookieBanner, CookieChoice, CookieConsentRecord } from "./types";

export type ExtraHeaders = () => Record<string, string>;

export class BannerApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "BannerApiError";
    this.status = status;
  }
}

function endpoint(apiBase: string, path: string): string {
  return `${apiBase.replace(/\/+$/, "")}${path}`;
}

async function failure(response: Response): Promise<BannerApiError> {
  let detail = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { detail?: string; title?: string };
    detail = body.detail || body.title || detail;
  } catch {
    // Not problem+json: the status text says enough.
  }
  return new BannerApiError(response.status, detail);
}

export async function fetchBanner(apiBase: string): Promise<CookieBanner> {
  const response = await fetch(
    new Request(endpoint(apiBase, "/cookie-banner"), {
      credentials: "omit",
      cache: "no-cache",
      headers: { Accept: "application/json" },
    }),
  );
  if (!response.ok) throw await failure(response);
  return (await response.json()) as CookieBanner;
}

export async function postChoice(
  apiBase: string,
  choice: CookieChoice,
  headers: ExtraHeaders = () => ({}),
): Promise<CookieConsentRecord> {
  const response = await fetch(
    new Request(endpoint(apiBase, "/cookie-consents"), {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...headers() },
      body: JSON.stringify(choice),
    }),
  );
  if (!response.ok) throw await failure(response);
  return (await response.json()) as CookieConsentRecord;
}

/** This device's (or signed-in account's) recorded choice, or null when none is recorded yet. */
export async function fetchCurrentChoice(apiBase: string): Promise<CookieConsentRecord | null> {
  const response = await fetch(
    new Request(endpoint(apiBase, "/cookie-consents/current"), {
      credentials: "include",
      headers: { Accept: "application/json" },
    }),
  );
  if (response.status === 404) {
    // Read to the end: a body left unread keeps the request open in the browser.
    await response.text();
    return null;
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()) as CookieConsentRecord;
}
