import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { json, mockApi, renderPage, route } from "@/test/render";

import { PolicyPage } from "./policy-page";

const privacy = {
  kind: "privacy",
  version: "2026-11",
  title: "Privacy Policy",
  body: "What we collect.\n\nWhy we collect it.",
  sha256: "0".repeat(64),
  effective_at: "2026-11-01T00:00:00Z",
};

describe("PolicyPage", () => {
  it("shows the policy in effect with its version and date", async () => {
    mockApi(route("GET", "/api/v1/policies/privacy", () => json(privacy)));
    renderPage(<PolicyPage kind="privacy" />);

    expect(await screen.findByRole("heading", { name: "Privacy Policy" })).toBeInTheDocument();
    expect(screen.getByText(/Version 2026-11, in effect since/)).toBeInTheDocument();
    expect(screen.getByText(/Why we collect it\./)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Terms of service" })).toHaveAttribute("href", "/terms");
  });

  it("says so when the policy cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/policies/terms", () =>
        json({ type: "about:blank", title: "Service unavailable", status: 503, detail: "Try later." }, 503),
      ),
    );
    renderPage(<PolicyPage kind="terms" />);

    expect(await screen.findByText("The terms of service could not be loaded")).toBeInTheDocument();
  });
});
