import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { PurposesPage } from "./purposes-page";
import { aUser, type Role } from "@/test/fixtures";

function staff(role: Role) {
  return aUser({ email: "dpo@example.com", name: "Dee Pio", country: "DE", role, mfa_enabled: true });
}
const analytics = {
  key: "analytics",
  name: "Analytics",
  description: "Counting page views.",
  legal_basis: "consent",
  optional: true,
  version: 1,
  renewal_version: 1,
  created_at: "2025-01-02T03:04:05Z",
  updated_at: "2025-01-02T03:04:05Z",
};
const updates = { ...analytics, key: "product_updates", name: "Product updates", legal_basis: "legitimate_interest" };

afterEach(() => vi.unstubAllGlobals());

describe("PurposesPage", () => {
  it("lists purposes and sends only the changes with the material flag", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("privacy_officer"))),
      route("GET", "/api/v1/admin/purposes", () => json([analytics, updates])),
      route("PATCH", "/api/v1/admin/purposes/analytics", () =>
        json({ ...analytics, description: "Now also heatmaps.", version: 2, renewal_version: 2 }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<PurposesPage />);

    expect(await screen.findByRole("heading", { level: 1, name: "Purposes" })).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Purposes" });
    for (const header of ["Key", "Name", "Legal basis", "Optional", "Version"]) {
      expect(within(table).getByRole("columnheader", { name: header })).toBeInTheDocument();
    }
    expect(within(table).getByText("Legitimate interest")).toBeInTheDocument();

    await user.click(within(table).getByRole("button", { name: "Edit analytics" }));
    const form = screen.getByRole("form", { name: "Edit analytics" });
    const description = within(form).getByLabelText(/Description/);
    await fillIn(description, "Now also heatmaps.");
    await user.click(within(form).getByLabelText("Material change (asks everyone to renew)"));
    await user.click(within(form).getByRole("button", { name: "Save changes" }));

    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({
      description: "Now also heatmaps.",
      material: true,
    });
    expect(await screen.findByText("Analytics is saved (version 2).")).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Edit analytics" })).not.toBeInTheDocument();
  });

  it("creates a purpose and puts the API's field errors on the form", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/purposes", () => json([analytics])),
      route("POST", "/api/v1/admin/purposes", () =>
        json(
          {
            type: "urn:opmaestro:problem:validation",
            title: "Invalid request",
            status: 422,
            errors: [{ location: "body", field: "name", message: "Too long.", code: "string_too_long" }],
          },
          422,
        ),
      ),
    );
    const user = userEvent.setup();
    renderPage(<PurposesPage />);

    const form = await screen.findByRole("form", { name: "New purpose" });
    await fillIn(within(form).getByLabelText(/Key/), "partner_offers");
    await fillIn(within(form).getByLabelText(/Name/), "Partner offers");
    await fillIn(within(form).getByLabelText(/Description/), "Offers from partners, sent by us.");
    await user.selectOptions(within(form).getByLabelText("Legal basis"), "consent");
    await user.click(within(form).getByRole("button", { name: "Create purpose" }));

    await waitFor(() => expect(within(form).getByLabelText(/Name/)).toHaveAttribute("aria-invalid", "true"));
    expect(within(form).getByText("Too long.")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      key: "partner_offers",
      name: "Partner offers",
      description: "Offers from partners, sent by us.",
      legal_basis: "consent",
      optional: true,
    });
  });

  it("tells support staff the page is not for them and loads nothing", async () => {
    const calls = mockApi(route("GET", "/api/v1/me", () => json(staff("support"))));
    renderPage(<PurposesPage />);
    expect(await screen.findByText("Privacy staff only")).toBeInTheDocument();
    expect(calls.some((call) => call.path === "/api/v1/admin/purposes")).toBe(false);
  });
});
