import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import * as CookieConsent from "vanilla-cookieconsent";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { aBanner, aChoice } from "@/features/cookies/test-data";
import { json, mockApi, type MockCall, route } from "@/test/render";

import { CONSENT_EVENT, followChoice, resetBanner, startBanner } from "./banner";
import type { CookieConsentRecord } from "./types";

const API = "http://localhost:3000/api/v1";

function consentCommands(): Array<[string, string, Record<string, string>]> {
  return (window.dataLayer ?? [])
    .map((entry) => Array.from(entry as ArrayLike<unknown>) as [string, string, Record<string, string>])
    .filter(([command]) => command === "consent");
}

function answering(
  post: (call: MockCall) => Response = (call) =>
    json(aChoice(Object.fromEntries((call.body as { accepted: string[] }).accepted.map((key) => [key, true]))), 201),
  current: () => Response = () => json({ type: "no-cookie-choice", title: "No choice", status: 404 }, 404),
) {
  return mockApi(
    route("GET", "/api/v1/cookie-banner", () => json(aBanner())),
    route("GET", "/api/v1/cookie-consents/current", current),
    route("POST", "/api/v1/cookie-consents", post),
  );
}

function posts(calls: MockCall[]) {
  return calls.filter((call) => call.method === "POST").map((call) => call.body);
}

function setGpc(value: boolean | undefined) {
  Object.defineProperty(window.navigator, "globalPrivacyControl", { value, configurable: true });
}

beforeEach(() => {
  window.dataLayer = [];
});

afterEach(() => {
  resetBanner();
  setGpc(undefined);
  document.body.innerHTML = "";
});

describe("the cookie banner", () => {
  it("sends the Consent Mode default before loading the configuration", async () => {
    answering();
    const started = startBanner({ apiBase: API });
    expect(consentCommands()[0]?.slice(0, 2)).toEqual(["consent", "default"]);
    expect(consentCommands()[0]?.[2]).toMatchObject({ analytics_storage: "denied", security_storage: "granted" });
    await started;
  });

  it("shows the banner on a first visit and records Reject all with the revision", async () => {
    const calls = answering();
    await startBanner({ apiBase: API });
    const dialog = await screen.findByRole("dialog", { name: "We use cookies" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Reject all" }));
    await waitFor(() => expect(posts(calls)).toEqual([{ revision: 3, accepted: [], gpc: false }]));
    expect(CookieConsent.acceptedCategory("analytics")).toBe(false);
    expect(calls.find((call) => call.method === "POST")?.headers.get("Content-Type")).toBe("application/json");
  });

  it("records Accept all, updates Consent Mode and tells the page", async () => {
    const calls = answering();
    const seen: CookieConsentRecord[] = [];
    window.addEventListener(CONSENT_EVENT, (event) => seen.push((event as CustomEvent<CookieConsentRecord>).detail));
    await startBanner({ apiBase: API });
    await userEvent.click(await screen.findByRole("button", { name: "Accept all" }));
    await waitFor(() =>
      expect(posts(calls)).toEqual([{ revision: 3, accepted: ["preferences", "analytics", "marketing"], gpc: false }]),
    );
    await waitFor(() => expect(seen).toHaveLength(1));
    expect(consentCommands().at(-1)).toEqual([
      "consent",
      "update",
      expect.objectContaining({ analytics_storage: "granted", ad_storage: "granted" }),
    ]);
  });

  it("turns an analytics-tagged script into a runnable one only after consent", async () => {
    answering();
    const tagged = document.createElement("script");
    tagged.type = "text/plain";
    tagged.dataset.category = "analytics";
    tagged.textContent = "window.analyticsRan = true;";
    document.body.append(tagged);
    const runnable = () =>
      Array.from(document.querySelectorAll("script")).filter(
        (script) => script.textContent === tagged.textContent && script.type !== "text/plain",
      );
    await startBanner({ apiBase: API });
    await screen.findByRole("dialog", { name: "We use cookies" });
    expect(runnable()).toHaveLength(0);
    await userEvent.click(screen.getByRole("button", { name: "Accept all" }));
    await waitFor(() => expect(runnable()).toHaveLength(1));
  });

  it("leaves an analytics-tagged script inert after Reject all", async () => {
    answering();
    const tagged = document.createElement("script");
    tagged.type = "text/plain";
    tagged.dataset.category = "analytics";
    document.body.append(tagged);
    await startBanner({ apiBase: API });
    await userEvent.click(await screen.findByRole("button", { name: "Reject all" }));
    await waitFor(() => expect(CookieConsent.validConsent()).toBe(true));
    expect(tagged.isConnected).toBe(true);
    expect(tagged.type).toBe("text/plain");
  });

  it("under GPC keeps marketing off, says so, and sends gpc: true", async () => {
    setGpc(true);
    const calls = answering();
    await startBanner({ apiBase: API });
    const dialog = await screen.findByRole("dialog", { name: "We use cookies" });
    expect(within(dialog).getByText(/Global Privacy Control signal is honored/)).toBeVisible();
    await userEvent.click(within(dialog).getByRole("button", { name: "Accept all" }));
    await waitFor(() =>
      expect(posts(calls)).toEqual([{ revision: 3, accepted: ["preferences", "analytics"], gpc: true }]),
    );
    expect(CookieConsent.acceptedCategory("marketing")).toBe(false);
  });

  it("under GPC withdraws a marketing grant recorded before the signal, as a GPC choice", async () => {
    setGpc(true);
    const calls = answering(undefined, () => json(aChoice({ analytics: true, marketing: true })));
    await startBanner({ apiBase: API });
    await waitFor(() => expect(posts(calls)).toEqual([{ revision: 3, accepted: ["analytics"], gpc: true }]));
    expect(CookieConsent.acceptedCategory("marketing")).toBe(false);
  });

  it("leaves a recorded choice alone under GPC when marketing is already off", async () => {
    setGpc(true);
    const calls = answering(undefined, () => json(aChoice({ analytics: true })));
    await startBanner({ apiBase: API });
    await waitFor(() => expect(CookieConsent.acceptedCategory("analytics")).toBe(true));
    expect(posts(calls)).toEqual([]);
  });

  it("under GPC shows the marketing switch off and disabled in the preferences", async () => {
    setGpc(true);
    answering();
    await startBanner({ apiBase: API });
    await userEvent.click(await screen.findByRole("button", { name: "Manage preferences" }));
    const held = await screen.findByRole("checkbox", { name: /Marketing: off/ });
    expect(held).toBeDisabled();
    expect(held).not.toBeChecked();
    expect(screen.getByRole("checkbox", { name: "Analytics" })).toBeEnabled();
  });

  it("follows the server when the recorded choice differs from the one sent", async () => {
    const calls = answering(() => json(aChoice({ analytics: true }), 201));
    await startBanner({ apiBase: API });
    await userEvent.click(await screen.findByRole("button", { name: "Reject all" }));
    await waitFor(() => expect(CookieConsent.acceptedCategory("analytics")).toBe(true));
    expect(posts(calls)).toHaveLength(1);
  });

  it("takes the account's choice on a device that has none, without recording it again", async () => {
    const calls = answering(undefined, () => json(aChoice({ preferences: true })));
    await startBanner({ apiBase: API });
    await waitFor(() => expect(CookieConsent.acceptedCategory("preferences")).toBe(true));
    expect(CookieConsent.validConsent()).toBe(true);
    expect(posts(calls)).toEqual([]);
  });

  it("ignores a recorded choice of an older revision: the banner asks again", async () => {
    const calls = answering(undefined, () => json(aChoice({ analytics: true }, { revision: 2 })));
    await startBanner({ apiBase: API });
    await waitFor(() => expect(calls.some((call) => call.path.endsWith("/current"))).toBe(true));
    expect(CookieConsent.validConsent()).toBe(false);
    expect(await screen.findByRole("dialog", { name: "We use cookies" })).toBeInTheDocument();
  });

  it("follows a choice recorded on the settings page without recording it again", async () => {
    const calls = answering();
    await startBanner({ apiBase: API });
    await screen.findByRole("dialog", { name: "We use cookies" });
    await followChoice(aChoice({ analytics: true }));
    expect(CookieConsent.acceptedCategory("analytics")).toBe(true);
    expect(CookieConsent.validConsent()).toBe(true);
    expect(posts(calls)).toEqual([]);
  });

  it("sends the page's extra headers with a choice", async () => {
    const calls = answering();
    await startBanner({ apiBase: API, headers: () => ({ "X-CSRF-Token": "t0k3n" }) });
    await userEvent.click(await screen.findByRole("button", { name: "Reject all" }));
    await waitFor(() => expect(posts(calls)).toHaveLength(1));
    expect(calls.find((call) => call.method === "POST")?.headers.get("X-CSRF-Token")).toBe("t0k3n");
  });

  it("escapes inventory text in the banner", async () => {
    answering();
    await startBanner({ apiBase: API });
    await userEvent.click(await screen.findByRole("button", { name: "Manage preferences" }));
    expect(await screen.findByText("Count visits <b>anonymously</b>.")).toBeInTheDocument();
  });
});
