/** Fired on `window` after the API recorded a choice from the banner; `detail` is the `CookieConsent`. */
export const CONSENT_EVENT = "opm:cookie-consent";
