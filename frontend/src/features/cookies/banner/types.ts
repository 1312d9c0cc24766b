/** The banner's view of the API (generated types only: the banner sends them with plain `fetch`). */
import type { components } from "@/shared/api/schema";

type Schemas = components["schemas"];

export type CookieBanner = Schemas["CookieBanner"];
export type BannerCategory = Schemas["CookieCategoryRead"];
export type BannerCookie = Schemas["CookieRead"];
export type CategoryKey = BannerCategory["key"];
export type CookieChoice = Schemas["CookieConsentCreate"];
export type CookieConsentRecord = Schemas["CookieConsent"];
