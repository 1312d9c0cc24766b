/**
 * Google Consent Mode v2 signals: a `default` with everything denied except security storage,
 * sent before any tag can load, then an `update` mapped from the accepted categories.
 */
import type { CategoryKey } from "./types";

type ConsentState = "granted" | "denied";
export type ConsentSignals = Record<(typeof SIGNALS)[number], ConsentState>;

const SIGNALS = [
  "ad_storage",
  "ad_user_data",
  "ad_personalization",
  "analytics_storage",
  "functionality_storage",
  "personalization_storage",
  "security_storage",
] as const;

const GRANTED_BY: Record<CategoryKey, Array<(typeof SIGNALS)[number]>> = {
  necessary: ["security_storage"],
  preferences: ["functionality_storage", "personalization_storage"],
  analytics: ["analytics_storage"],
  marketing: ["ad_storage", "ad_user_data", "ad_personalization"],
};

declare global {
  interface Window {
    dataLayer?: unknown[];
  }
}

// gtag.js acts only on Arguments objects (as Google's own snippet pushes them), never on arrays.
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- read through `arguments`
function gtag(..._command: unknown[]): void {
  window.dataLayer = window.dataLayer ?? [];
  // eslint-disable-next-line prefer-rest-params -- see above
  window.dataLayer.push(arguments);
}

/** The Consent Mode signals for a set of accepted categories (necessary is always granted). */
export function consentSignals(accepted: readonly string[]): ConsentSignals {
  const granted = new Set<string>(GRANTED_BY.necessary);
  for (const key of accepted) for (const signal of GRANTED_BY[key as CategoryKey] ?? []) granted.add(signal);
  return Object.fromEntries(
    SIGNALS.map((signal) => [signal, granted.has(signal) ? "granted" : "denied"]),
  ) as ConsentSignals;
}

/** Deny everything by default; tags wait up to half a second for the visitor's stored choice. */
export function sendConsentDefault(): void {
  gtag("consent", "default", { ...consentSignals([]), wait_for_update: 500 });
}

export function sendConsentUpdate(accepted: readonly string[]): void {
  gtag("consent", "update", consentSignals(accepted));
}
