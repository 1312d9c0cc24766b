/**
 * The banner's view of the API contract. These aliases point at the generated schema once the
 * cookies API is merged; the banner itself only ever uses `fetch`, never the SPA's client.
 */
export type CategoryKey = "necessary" | "preferences" | "analytics" | "marketing";
export type Party = "first" | "third";

export interface BannerCookie {
  name: string;
  pattern: boolean;
  provider: string;
  description: string;
  duration: string;
  party: Party;
}

export interface BannerCategory {
  key: CategoryKey;
  name: string;
  description: string;
  purpose_key: string;
  required: boolean;
  cookies: BannerCookie[];
}

export interface BannerTexts {
  title: string;
  description: string;
  accept_all: string;
  reject_all: string;
  save: string;
  manage: string;
  gpc_notice: string;
}

export interface CookieBanner {
  revision: number;
  updated_at: string;
  reprompt_after_days: number;
  do_not_track_honored: boolean;
  categories: BannerCategory[];
  texts: BannerTexts;
  links: { cookie_policy: string; privacy_policy: string };
}

export interface CookieChoice {
  revision: number;
  accepted: CategoryKey[];
  gpc?: boolean;
}

export interface CookieConsentRecord {
  revision: number;
  categories: Record<CategoryKey, boolean>;
  chosen_at: string;
  method: "banner" | "gpc";
  gpc_honored: boolean;
  events: Array<{ event_id: string; purpose_key: string; action: string; method: string }>;
}
