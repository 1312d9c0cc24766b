/**
 * The vanilla-cookieconsent configuration built from `GET /cookie-banner`. Every text the
 * server sends is escaped: the library writes titles, descriptions and table cells as HTML, and
 * the inventory is edited by staff, so nothing from it may become markup on the marketing site.
 */
import type * as CookieConsent from "vanilla-cookieconsent";

import type { BannerCategory, BannerCookie, CookieBanner } from "./types";

// The library's own name, as the inventory lists it.
export const CONSENT_COOKIE = "cc_cookie";
export const GPC_CATEGORY = "marketing";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** An http(s) or same-site link as an attribute value; anything else (javascript:, data:) is dropped. */
export function safeHref(url: string): string | null {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? escapeHtml(parsed.href) : null;
  } catch {
    return null;
  }
}

/** An inventory name with `*` wildcards (`_ga_*`) as the RegExp the library clears cookies by. */
export function cookieMatcher(cookie: Pick<BannerCookie, "name" | "pattern">): string | RegExp {
  if (!cookie.pattern) return cookie.name;
  const source = cookie.name
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`);
}

/** True when the browser sends Global Privacy Control (`navigator.globalPrivacyControl`). */
export function gpcEnabled(nav: Navigator = navigator): boolean {
  return (nav as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true;
}

/** The categories the visitor may switch on here: marketing is not one of them under GPC. */
export function switchableCategories(banner: CookieBanner, gpc: boolean): BannerCategory[] {
  return banner.categories.filter((category) => !(gpc && category.key === GPC_CATEGORY));
}

function cookieTable(category: BannerCategory): CookieConsent.CookieTable | undefined {
  if (category.cookies.length === 0) return undefined;
  return {
    caption: `Cookies used for ${escapeHtml(category.name)}`,
    headers: { name: "Cookie", provider: "Provider", description: "Purpose", duration: "Duration", party: "Party" },
    body: category.cookies.map((cookie) => ({
      name: escapeHtml(cookie.name),
      provider: escapeHtml(cookie.provider),
      description: escapeHtml(cookie.description),
      duration: escapeHtml(cookie.duration),
      party: cookie.party === "first" ? "First party" : "Third party",
    })),
  };
}

function category(category: BannerCategory): CookieConsent.Category {
  if (category.required) return { enabled: true, readOnly: true };
  // Only first-party cookies can be erased by the page; a third party's stay with the third party.
  const ours = category.cookies.filter((cookie) => cookie.party === "first");
  return {
    enabled: false,
    readOnly: false,
    ...(ours.length > 0 && { autoClear: { cookies: ours.map((cookie) => ({ name: cookieMatcher(cookie) })) } }),
  };
}

function footer(banner: CookieBanner): string {
  const links = [
    [banner.links.cookie_policy, "Cookie policy"],
    [banner.links.privacy_policy, "Privacy policy"],
  ]
    .map(([url, label]) => {
      const href = safeHref(url ?? "");
      return href ? `<a href="${href}">${label}</a>` : "";
    })
    .filter(Boolean);
  return links.join(" · ");
}

export function gpcNoticeHtml(banner: CookieBanner): string {
  return `<span class="opm-cc-gpc" role="note">${escapeHtml(banner.texts.gpc_notice)}</span>`;
}

/** The full configuration (without callbacks) for `CookieConsent.run`. */
export function buildConsentConfig(banner: CookieBanner, { gpc }: { gpc: boolean }): CookieConsent.CookieConsentConfig {
  const texts = banner.texts;
  const gpcNotice = gpc ? `<br>${gpcNoticeHtml(banner)}` : "";
  const sections: CookieConsent.Section[] = banner.categories.map((item) => {
    const held = gpc && item.key === GPC_CATEGORY;
    return {
      title: escapeHtml(item.name),
      description: escapeHtml(item.description) + (held ? `<br>${gpcNoticeHtml(banner)}` : ""),
      ...(!held && { linkedCategory: item.key }),
      ...(cookieTable(item) && { cookieTable: cookieTable(item) }),
    };
  });
  return {
    revision: banner.revision,
    mode: "opt-in",
    manageScriptTags: true,
    autoClearCookies: true,
    autoShow: true,
    // Automated browsers (our own browser tests among them) are people's browsers too.
    hideFromBots: false,
    cookie: { name: CONSENT_COOKIE, expiresAfterDays: banner.reprompt_after_days, sameSite: "Lax" },
    guiOptions: {
      consentModal: { layout: "box", position: "bottom right", equalWeightButtons: true },
      preferencesModal: { layout: "box", equalWeightButtons: true },
    },
    categories: Object.fromEntries(switchableCategories(banner, gpc).map((item) => [item.key, category(item)])),
    language: {
      default: "en",
      translations: {
        en: {
          consentModal: {
            title: escapeHtml(texts.title),
            description: `${escapeHtml(texts.description)}${gpcNotice} {{revisionMessage}}`,
            revisionMessage: "<br>Our use of cookies has changed since you last chose: please choose again.",
            acceptAllBtn: escapeHtml(texts.accept_all),
            acceptNecessaryBtn: escapeHtml(texts.reject_all),
            showPreferencesBtn: escapeHtml(texts.manage),
            footer: footer(banner),
          },
          preferencesModal: {
            title: escapeHtml(texts.manage),
            acceptAllBtn: escapeHtml(texts.accept_all),
            acceptNecessaryBtn: escapeHtml(texts.reject_all),
            savePreferencesBtn: escapeHtml(texts.save),
            closeIconLabel: "Close",
            sections: [{ description: `${escapeHtml(texts.description)} ${footer(banner)}` }, ...sections],
          },
        },
      },
    },
  };
}
