/**
 * The cookie banner, framework-free: shared by the SPA (mounted once for every page) and the
 * standalone `banner.js` of the marketing site. It sends the Consent Mode default, loads the
 * configuration, runs vanilla-cookieconsent, records each choice through the API and follows the
 * server when the stored choice differs (another device of the account, a sign-in merge, GPC).
 */
import * as CookieConsent from "vanilla-cookieconsent";

import { type ExtraHeaders, fetchBanner, fetchCurrentChoice, postChoice } from "./api";
import { buildConsentConfig, GPC_CATEGORY, gpcEnabled, switchableCategories } from "./config";
import { sendConsentDefault, sendConsentUpdate } from "./consent-mode";
import { CONSENT_EVENT } from "./events";
import type { CategoryKey, CookieBanner, CookieConsentRecord } from "./types";

export { CONSENT_EVENT } from "./events";

export interface BannerOptions {
  /** The API base, such as `/api/v1` or `https://app.example.com/api/v1`. */
  apiBase: string;
  /** Headers added to the choice's POST (the SPA sends its CSRF token). */
  headers?: ExtraHeaders;
  navigator?: Navigator;
}

interface Running {
  banner: CookieBanner;
  gpc: boolean;
  options: BannerOptions;
}

let started: Promise<Running> | null = null;
// Set while the banner follows the server's choice, so following it is not recorded as a new choice.
let following = false;

function acceptedCategories(): CategoryKey[] {
  return CookieConsent.getUserPreferences().acceptedCategories as CategoryKey[];
}

/** The choice a record holds, limited to what this page can switch on (never marketing under GPC). */
export function recordedCategories(record: CookieConsentRecord, banner: CookieBanner, gpc: boolean): CategoryKey[] {
  return switchableCategories(banner, gpc)
    .map((category) => category.key)
    .filter((key) => record.categories[key]);
}

function sameSet(left: readonly string[], right: readonly string[]): boolean {
  return left.length === right.length && left.every((item) => right.includes(item));
}

/** Make the banner (and its cookie, and the Consent Mode signals) show the server's choice. */
function follow(running: Running, record: CookieConsentRecord): void {
  if (record.revision !== running.banner.revision) return;
  const wanted = recordedCategories(record, running.banner, running.gpc);
  if (CookieConsent.validConsent() && sameSet(wanted, acceptedCategories())) return;
  following = true;
  try {
    CookieConsent.acceptCategory(wanted);
  } finally {
    following = false;
  }
  CookieConsent.hide();
}

async function record(running: Running, accepted: readonly string[]): Promise<CookieConsentRecord> {
  const choice = {
    revision: running.banner.revision,
    accepted: accepted.filter((key): key is CategoryKey => key !== "necessary"),
    gpc: running.gpc,
  };
  const saved = await postChoice(running.options.apiBase, choice, running.options.headers);
  follow(running, saved);
  window.dispatchEvent(new CustomEvent<CookieConsentRecord>(CONSENT_EVENT, { detail: saved }));
  return saved;
}

function report(error: unknown): void {
  // The page keeps working without the banner's record; the next choice is sent again.
  console.warn("OpMaestro cookie banner:", error instanceof Error ? error.message : error);
}

/** Under GPC the marketing section keeps a switch, shown off and disabled, beside its notice. */
function showHeldSwitch(modal: HTMLElement, banner: CookieBanner): void {
  const notice = modal.querySelector(".opm-cc-gpc");
  const wrapper = notice?.closest(".pm__section")?.querySelector(".pm__section-title-wrapper");
  if (!wrapper || wrapper.querySelector("input")) return;
  const name = banner.categories.find((category) => category.key === GPC_CATEGORY)?.name ?? GPC_CATEGORY;
  const label = document.createElement("label");
  label.className = "section__toggle-wrapper";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.className = "section__toggle";
  input.checked = false;
  input.disabled = true;
  input.setAttribute("aria-label", `${name}: off (Global Privacy Control)`);
  const icon = document.createElement("span");
  icon.className = "toggle__icon";
  icon.setAttribute("aria-hidden", "true");
  icon.append(Object.assign(document.createElement("span"), { className: "toggle__icon-circle" }));
  label.append(input, icon);
  wrapper.append(label);
}

async function reconcile(running: Running): Promise<void> {
  const current = await fetchCurrentChoice(running.options.apiBase);
  if (!current) {
    if (CookieConsent.validConsent()) await record(running, acceptedCategories());
    return;
  }
  follow(running, current);
  // A marketing grant recorded before the browser sent GPC is withdrawn now, and recorded as GPC.
  if (running.gpc && current.categories.marketing && current.revision === running.banner.revision) {
    await record(running, acceptedCategories());
  }
}

async function run(options: BannerOptions): Promise<Running> {
  const banner = await fetchBanner(options.apiBase);
  const gpc = gpcEnabled(options.navigator);
  const running: Running = { banner, gpc, options };
  const save = (accepted: readonly string[]) => {
    if (!following) record(running, accepted).catch(report);
  };
  await CookieConsent.run({
    ...buildConsentConfig(banner, { gpc }),
    onConsent: ({ cookie }) => sendConsentUpdate(cookie.categories),
    onFirstConsent: ({ cookie }) => save(cookie.categories),
    onChange: ({ cookie }) => {
      sendConsentUpdate(cookie.categories);
      save(cookie.categories);
    },
    onModalReady: ({ modalName, modal }) => {
      if (gpc && modalName === "preferencesModal") showHeldSwitch(modal, banner);
    },
  });
  return running;
}

/**
 * Start the banner once per page: Consent Mode default first (before any tag can read it), then
 * the configuration, the banner, and the server's record of this device or account.
 */
export function startBanner(options: BannerOptions): Promise<CookieBanner> {
  if (!started) {
    sendConsentDefault();
    started = run(options);
    started.then(reconcile).catch(report);
  }
  return started.then((running) => running.banner);
}

/** Follow the server's record again, e.g. after signing in merged the device's choice into the account. */
export async function refreshBanner(): Promise<void> {
  if (!started) return;
  await reconcile(await started);
}

/** Follow a choice recorded outside the banner (the Privacy > Cookies page), so its cookie agrees. */
export async function followChoice(record: CookieConsentRecord): Promise<void> {
  if (!started) return;
  follow(await started, record);
}

export function showCookiePreferences(): void {
  CookieConsent.showPreferences();
}

/** For tests: forget the running banner and its cookie. */
export function resetBanner(): void {
  started = null;
  following = false;
  CookieConsent.reset(true);
}
