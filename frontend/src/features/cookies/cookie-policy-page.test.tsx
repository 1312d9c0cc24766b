import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { json, mockApi, renderPage, route } from "@/test/render";

import { CookiePolicyPage } from "./cookie-policy-page";
import { aBanner } from "./test-data";

describe("CookiePolicyPage", () => {
  it("lists each category and cookie, the signals statement and the privacy policy link", async () => {
    mockApi(route("GET", "/api/v1/cookie-banner", () => json(aBanner())));
    renderPage(<CookiePolicyPage />);
    expect(screen.getByRole("status", { name: "Loading the cookie policy" })).toBeInTheDocument();
    const analytics = await screen.findByRole("table", { name: "Analytics cookies" });
    const row = within(analytics).getByRole("row", { name: /_ga_\*/ });
    expect(within(row).getByText("Google")).toBeInTheDocument();
    expect(within(row).getByText("13 months")).toBeInTheDocument();
    expect(within(row).getByText("First party")).toBeInTheDocument();
    expect(
      within(screen.getByRole("table", { name: "Marketing cookies" })).getByText("Third party"),
    ).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Preferences" })).toBeInTheDocument();
    expect(screen.getByText("We set no cookies in this category.")).toBeInTheDocument();
    expect(screen.getByText(/We do not act on Do Not Track signals/)).toBeInTheDocument();
    expect(screen.getByText(/Global Privacy Control signal, we treat it as a refusal/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "privacy policy" })).toHaveAttribute("href", "https://example.com/privacy");
    expect(screen.getByRole("button", { name: "Cookie settings" })).toBeInTheDocument();
  });

  it("says Do Not Track is honored when the setting says so", async () => {
    mockApi(route("GET", "/api/v1/cookie-banner", () => json(aBanner({ do_not_track_honored: true }))));
    renderPage(<CookiePolicyPage />);
    expect(await screen.findByText(/We treat a Do Not Track signal like Global Privacy Control/)).toBeInTheDocument();
    expect(screen.queryByText(/We do not act on Do Not Track/)).not.toBeInTheDocument();
  });

  it("shows an error when the inventory cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/cookie-banner", () =>
        json({ type: "about:blank", title: "Unavailable", status: 503 }, 503),
      ),
    );
    renderPage(<CookiePolicyPage />);
    expect(await screen.findByText("The cookie policy could not be loaded")).toBeInTheDocument();
  });
});
