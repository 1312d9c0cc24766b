/**
 * `banner.js` for the marketing site: one tag,
 * `<script src="https://app.example.com/banner.js" data-api="https://app.example.com/api/v1" defer></script>`.
 * It loads `banner.css` from next to itself unless the page already links it, and exposes
 * `window.OpMaestroCookies.showPreferences()` for a "Cookie settings" link.
 */
import "./banner.css";

import { showCookiePreferences, startBanner } from "./banner";

declare global {
  interface Window {
    OpMaestroCookies?: { showPreferences: () => void };
  }
}

const script = document.currentScript as HTMLScriptElement | null;

/** The API base from `data-api`, else the `/api/v1` of the origin that served this script. */
export function apiBaseOf(tag: HTMLScriptElement | null): string {
  const declared = tag?.dataset.api;
  if (declared) return declared;
  return new URL("/api/v1", tag?.src || window.location.href).href;
}

function ensureStylesheet(tag: HTMLScriptElement | null): void {
  if (!tag?.src || document.querySelector('link[href$="banner.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("banner.css", tag.src).href;
  document.head.append(link);
}

ensureStylesheet(script);
window.OpMaestroCookies = { showPreferences: showCookiePreferences };
// Elements marked `data-opm-cookie-settings` reopen the preferences (no inline handler needed).
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target.closest("[data-opm-cookie-settings]") : null;
  if (!target) return;
  event.preventDefault();
  showCookiePreferences();
});
void startBanner({ apiBase: apiBaseOf(script) }).catch(() => undefined);
