/** The banner as the SPA loads it (a chunk of its own, with its stylesheet). */
import "./banner.css";

export { CONSENT_EVENT, followChoice, refreshBanner, showCookiePreferences, startBanner } from "./banner";
