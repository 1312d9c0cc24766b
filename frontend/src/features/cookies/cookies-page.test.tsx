import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { json, mockApi, renderPage, route } from "@/test/render";

import { CookiesPage } from "./cookies-page";
import { aBanner, aChoice } from "./test-data";

const followChoice = vi.hoisted(() => vi.fn(() => Promise.resolve()));
vi.mock("@/features/cookies/banner/spa", () => ({ followChoice }));

function event(n: number, purpose_key: string, method = "banner") {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    purpose_key,
    purpose_version: 1,
    action: "granted",
    method,
    policy_version: "2025-01",
    jurisdiction: "GB",
    ip_address: null,
    user_agent: null,
    created_at: `2026-11-${String(n).padStart(2, "0")}T10:00:00Z`,
    hash: "ab".repeat(32),
  };
}

const events = () =>
  json({
    items: [event(3, "analytics"), event(2, "marketing_email", "signup"), event(1, "necessary_cookies")],
    next_cursor: null,
  });

function setGpc(value: boolean | undefined) {
  Object.defineProperty(window.navigator, "globalPrivacyControl", { value, configurable: true });
}

afterEach(() => setGpc(undefined));

describe("CookiesPage", () => {
  it("shows each category's switch from the recorded choice and only the cookie history", async () => {
    mockApi(
      route("GET", "/api/v1/cookie-banner", () => json(aBanner())),
      route("GET", "/api/v1/cookie-consents/current", () => json(aChoice({ analytics: true }))),
      route("GET", "/api/v1/me/consents/events", events),
    );
    renderPage(<CookiesPage />);
    expect(screen.getByRole("status", { name: "Loading your cookie choices" })).toBeInTheDocument();
    expect(await screen.findByRole("switch", { name: "Analytics" })).toBeChecked();
    expect(screen.getByRole("switch", { name: "Marketing" })).not.toBeChecked();
    expect(screen.queryByRole("switch", { name: "Necessary" })).not.toBeInTheDocument();
    expect(screen.getByText("Always on")).toBeInTheDocument();
    expect(screen.getByText(/Last chosen on .* via cookie banner/)).toBeInTheDocument();
    const history = await screen.findByRole("table", { name: "Cookie history" });
    expect(within(history).getByText("Analytics cookies")).toBeInTheDocument();
    expect(within(history).getByText("Necessary cookies")).toBeInTheDocument();
    expect(within(history).queryByText("marketing_email")).not.toBeInTheDocument();
    expect(within(history).getAllByRole("row")).toHaveLength(3);
  });

  it("records a switched category as a whole choice and lets the banner follow it", async () => {
    const saved = aChoice({ analytics: true, preferences: true });
    const calls = mockApi(
      route("GET", "/api/v1/cookie-banner", () => json(aBanner())),
      route("GET", "/api/v1/cookie-consents/current", () => json(aChoice({ analytics: true }))),
      route("GET", "/api/v1/me/consents/events", events),
      route("POST", "/api/v1/cookie-consents", () => json(saved, 201)),
    );
    renderPage(<CookiesPage />);
    await userEvent.click(await screen.findByRole("switch", { name: "Preferences" }));
    await waitFor(() => expect(followChoice).toHaveBeenCalledWith(saved));
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      revision: 3,
      accepted: ["analytics", "preferences"],
      gpc: false,
    });
    expect(await screen.findByText("Preferences cookies are on.")).toBeInTheDocument();
    await waitFor(() =>
      expect(calls.filter((call) => call.path === "/api/v1/me/consents/events").length).toBeGreaterThan(1),
    );
  });

  it("says when nothing is chosen yet", async () => {
    mockApi(
      route("GET", "/api/v1/cookie-banner", () => json(aBanner())),
      route("GET", "/api/v1/cookie-consents/current", () =>
        json({ type: "no-cookie-choice", title: "No cookie choice", status: 404 }, 404),
      ),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [], next_cursor: null })),
    );
    renderPage(<CookiesPage />);
    expect(await screen.findByText(/You have not chosen yet/)).toBeInTheDocument();
    expect(screen.getByRole("switch", { name: "Analytics" })).not.toBeChecked();
    expect(await screen.findByText("No cookie choices recorded yet")).toBeInTheDocument();
  });

  it("shows an error when the categories cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/cookie-banner", () =>
        json({ type: "about:blank", title: "Server error", status: 500 }, 500),
      ),
      route("GET", "/api/v1/cookie-consents/current", () => json(aChoice())),
    );
    renderPage(<CookiesPage />);
    expect(await screen.findByText("Your cookie choices could not be loaded")).toBeInTheDocument();
    expect(screen.queryByRole("switch")).not.toBeInTheDocument();
  });

  it("under GPC shows marketing off and disabled with the notice", async () => {
    setGpc(true);
    mockApi(
      route("GET", "/api/v1/cookie-banner", () => json(aBanner())),
      route("GET", "/api/v1/cookie-consents/current", () => json(aChoice({}, { gpc_honored: true, method: "gpc" }))),
      route("GET", "/api/v1/me/consents/events", events),
    );
    renderPage(<CookiesPage />);
    const marketing = await screen.findByRole("switch", { name: "Marketing" });
    expect(marketing).toBeDisabled();
    expect(marketing).not.toBeChecked();
    expect(marketing).toHaveAccessibleDescription(/Global Privacy Control signal is honored/);
    expect(screen.getByRole("switch", { name: "Analytics" })).toBeEnabled();
  });
});
