import { describe, expect, it } from "vitest";

import { aBanner } from "@/features/cookies/test-data";

import { buildConsentConfig, CONSENT_COOKIE, cookieMatcher, escapeHtml, gpcEnabled, safeHref } from "./config";
import { consentSignals } from "./consent-mode";

function translation(config: ReturnType<typeof buildConsentConfig>) {
  const en = config.language.translations.en;
  if (!en || typeof en !== "object" || typeof en === "function") throw new Error("no English texts");
  return en;
}

describe("buildConsentConfig", () => {
  it("makes necessary read-only and the other categories opt-in", () => {
    const config = buildConsentConfig(aBanner(), { gpc: false });
    expect(config.mode).toBe("opt-in");
    expect(config.categories.necessary).toEqual({ enabled: true, readOnly: true });
    expect(config.categories.preferences).toEqual({ enabled: false, readOnly: false });
    expect(config.categories.marketing).toEqual({ enabled: false, readOnly: false });
  });

  it("asks again on a new revision and after the re-prompt period", () => {
    const config = buildConsentConfig(aBanner({ revision: 7, reprompt_after_days: 180 }), { gpc: false });
    expect(config.revision).toBe(7);
    expect(config.cookie).toMatchObject({ name: CONSENT_COOKIE, expiresAfterDays: 180 });
    expect(translation(config).consentModal.description).toContain("{{revisionMessage}}");
  });

  it("clears only first-party cookies of a refused category, patterns included", () => {
    const config = buildConsentConfig(aBanner(), { gpc: false });
    const cleared = config.categories.analytics?.autoClear?.cookies ?? [];
    expect(cleared).toHaveLength(1);
    expect(cleared[0]?.name).toBeInstanceOf(RegExp);
    expect(config.categories.marketing?.autoClear).toBeUndefined();
  });

  it("lists each category's cookies in its section, escaped", () => {
    const sections = translation(buildConsentConfig(aBanner(), { gpc: false })).preferencesModal.sections;
    const analytics = sections.find((section) => section.linkedCategory === "analytics");
    expect(analytics?.description).toBe("Count visits &lt;b&gt;anonymously&lt;/b&gt;.");
    expect(analytics?.cookieTable?.body).toEqual([
      {
        name: "_ga_*",
        provider: "Google",
        description: "Distinguishes visits.",
        duration: "13 months",
        party: "First party",
      },
    ]);
    expect(sections.find((section) => section.linkedCategory === "preferences")?.cookieTable).toBeUndefined();
  });

  it("links the cookie and privacy policies in the footer", () => {
    const footer = translation(buildConsentConfig(aBanner(), { gpc: false })).consentModal.footer;
    expect(footer).toContain('href="https://app.example.com/cookie-policy"');
    expect(footer).toContain('href="https://example.com/privacy"');
  });

  it("drops a link that is not http(s)", () => {
    const banner = aBanner({ links: { cookie_policy: "javascript:alert(1)", privacy_policy: "/privacy" } });
    const footer = translation(buildConsentConfig(banner, { gpc: false })).consentModal.footer ?? "";
    expect(footer).not.toContain("javascript");
    expect(footer).toContain("Privacy policy");
  });

  it("under GPC keeps marketing out of the switchable categories and says why", () => {
    const config = buildConsentConfig(aBanner(), { gpc: true });
    expect(Object.keys(config.categories)).toEqual(["necessary", "preferences", "analytics"]);
    const texts = translation(config);
    expect(texts.consentModal.description).toContain("Global Privacy Control signal is honored");
    const marketing = texts.preferencesModal.sections.find((section) => section.title === "Marketing");
    expect(marketing?.linkedCategory).toBeUndefined();
    expect(marketing?.description).toContain("opm-cc-gpc");
  });

  it("shows no GPC notice without the signal", () => {
    const texts = translation(buildConsentConfig(aBanner(), { gpc: false }));
    expect(texts.consentModal.description).not.toContain("Global Privacy Control");
  });
});

describe("helpers", () => {
  it("escapes markup", () => {
    expect(escapeHtml(`<img src=x onerror="a('b')">&`)).toBe(
      "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;",
    );
  });

  it("turns a * pattern into an anchored expression", () => {
    const matcher = cookieMatcher({ name: "_ga_*", pattern: true }) as RegExp;
    expect(matcher.test("_ga_ABC123")).toBe(true);
    expect(matcher.test("x_ga_ABC")).toBe(false);
    expect(cookieMatcher({ name: "a.b", pattern: false })).toBe("a.b");
    expect((cookieMatcher({ name: "a.b*", pattern: true }) as RegExp).test("aXb")).toBe(false);
  });

  it("reads navigator.globalPrivacyControl", () => {
    expect(gpcEnabled({ globalPrivacyControl: true } as unknown as Navigator)).toBe(true);
    expect(gpcEnabled({} as Navigator)).toBe(false);
  });

  it("keeps relative links on this site", () => {
    expect(safeHref("/cookie-policy")).toBe(`${window.location.origin}/cookie-policy`);
    expect(safeHref("data:text/html,x")).toBeNull();
  });
});

describe("consentSignals", () => {
  it("grants only security storage by default", () => {
    expect(consentSignals([])).toEqual({
      ad_storage: "denied",
      ad_user_data: "denied",
      ad_personalization: "denied",
      analytics_storage: "denied",
      functionality_storage: "denied",
      personalization_storage: "denied",
      security_storage: "granted",
    });
  });

  it("maps each category to its signals", () => {
    expect(consentSignals(["necessary", "analytics"])).toMatchObject({
      analytics_storage: "granted",
      ad_storage: "denied",
    });
    expect(consentSignals(["marketing"])).toMatchObject({
      ad_storage: "granted",
      ad_user_data: "granted",
      ad_personalization: "granted",
      analytics_storage: "denied",
    });
    expect(consentSignals(["preferences"])).toMatchObject({
      functionality_storage: "granted",
      personalization_storage: "granted",
    });
  });
});
