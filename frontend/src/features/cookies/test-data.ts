import type { CookieBanner, CookieConsentRecord } from "./banner/types";

/** A banner configuration as `GET /cookie-banner` answers it. */
export function aBanner(overrides: Partial<CookieBanner> = {}): CookieBanner {
  return {
    revision: 3,
    updated_at: "2026-11-01T10:00:00Z",
    reprompt_after_days: 365,
    do_not_track_honored: false,
    categories: [
      {
        key: "necessary",
        name: "Necessary",
        description: "Needed to sign in and keep the service secure.",
        purpose_key: "necessary_cookies",
        required: true,
        cookies: [
          {
            name: "opm_session",
            pattern: false,
            provider: "OpMaestro",
            description: "Keeps you signed in.",
            duration: "12 hours",
            party: "first",
          },
        ],
      },
      {
        key: "preferences",
        name: "Preferences",
        description: "Remember your settings.",
        purpose_key: "personalization",
        required: false,
        cookies: [],
      },
      {
        key: "analytics",
        name: "Analytics",
        description: "Count visits <b>anonymously</b>.",
        purpose_key: "analytics",
        required: false,
        cookies: [
          {
            name: "_ga_*",
            pattern: true,
            provider: "Google",
            description: "Distinguishes visits.",
            duration: "13 months",
            party: "first",
          },
        ],
      },
      {
        key: "marketing",
        name: "Marketing",
        description: "Measure our campaigns.",
        purpose_key: "marketing_cookies",
        required: false,
        cookies: [
          {
            name: "ads",
            pattern: false,
            provider: "AdNetwork",
            description: "Ads.",
            duration: "1 year",
            party: "third",
          },
        ],
      },
    ],
    texts: {
      title: "We use cookies",
      description: "Choose which cookies we may set.",
      accept_all: "Accept all",
      reject_all: "Reject all",
      save: "Save my choices",
      manage: "Manage preferences",
      gpc_notice: "Your browser's Global Privacy Control signal is honored: marketing stays off.",
    },
    links: { cookie_policy: "https://app.example.com/cookie-policy", privacy_policy: "https://example.com/privacy" },
    ...overrides,
  };
}

/** A recorded choice as `POST /cookie-consents` and `GET /cookie-consents/current` answer it. */
export function aChoice(
  categories: Partial<CookieConsentRecord["categories"]> = {},
  overrides: Partial<CookieConsentRecord> = {},
): CookieConsentRecord {
  return {
    revision: 3,
    categories: { necessary: true, preferences: false, analytics: false, marketing: false, ...categories },
    chosen_at: "2026-11-20T09:30:00Z",
    method: "banner",
    gpc_honored: false,
    events: [],
    ...overrides,
  };
}
