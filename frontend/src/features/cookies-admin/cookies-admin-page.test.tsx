import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { fillIn } from "@/test/fill-in";
import { aUser, type Role } from "@/test/fixtures";
import { json, mockApi, renderPage, route } from "@/test/render";

import { CookiesAdminPage } from "./cookies-admin-page";

function staff(role: Role) {
  return aUser({ email: "dpo@example.com", name: "Dee Pio", role, mfa_enabled: true });
}

const session = {
  id: "11111111-1111-4111-8111-111111111111",
  name: "opm_session",
  pattern: false,
  provider: "OpMaestro",
  description: "Keeps you signed in.",
  duration: "12 hours",
  party: "first",
  created_at: "2026-11-01T10:00:00Z",
  updated_at: "2026-11-01T10:00:00Z",
};

function inventory(revision = 4) {
  return {
    revision,
    updated_at: "2026-11-20T09:00:00Z",
    categories: [
      {
        key: "necessary",
        name: "Necessary",
        description: "Needed.",
        purpose_key: "necessary_cookies",
        required: true,
        cookies: [session],
      },
      {
        key: "analytics",
        name: "Analytics",
        description: "Counting.",
        purpose_key: "analytics",
        required: false,
        cookies: [],
      },
    ],
  };
}

afterEach(() => vi.unstubAllGlobals());

describe("CookiesAdminPage", () => {
  it("lists the inventory by category with the banner revision", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(staff("privacy_officer"))),
      route("GET", "/api/v1/admin/cookies", () => json(inventory())),
    );
    renderPage(<CookiesAdminPage />);
    expect(await screen.findByText(/Banner revision 4/)).toBeInTheDocument();
    const necessary = screen.getByRole("table", { name: "Necessary cookies" });
    expect(within(necessary).getByText("opm_session")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Analytics" })).toBeInTheDocument();
    expect(screen.getByText("No cookies in this category.")).toBeInTheDocument();
  });

  it("is for privacy staff only", async () => {
    const calls = mockApi(route("GET", "/api/v1/me", () => json(staff("support"))));
    renderPage(<CookiesAdminPage />);
    expect(await screen.findByText("Privacy staff only")).toBeInTheDocument();
    expect(calls.some((call) => call.path === "/api/v1/admin/cookies")).toBe(false);
  });

  it("shows an error when the inventory cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/cookies", () => json({ type: "about:blank", title: "Boom", status: 500 }, 500)),
    );
    renderPage(<CookiesAdminPage />);
    expect(await screen.findByText("Could not load the cookie inventory")).toBeInTheDocument();
  });

  it("refuses an empty cookie before sending, and shows the server's field errors", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/cookies", () => json(inventory())),
      route("POST", "/api/v1/admin/cookies", () =>
        json(
          {
            type: "https://opmaestro.dev/problems/validation-error",
            title: "Invalid request",
            status: 422,
            errors: [
              {
                location: "body",
                field: "name",
                message: "String should match pattern",
                code: "string_pattern_mismatch",
              },
            ],
          },
          422,
        ),
      ),
    );
    renderPage(<CookiesAdminPage />);
    const form = await screen.findByRole("form", { name: "Add a cookie" });
    await userEvent.click(within(form).getByRole("button", { name: "Add cookie" }));
    expect(await within(form).findByText("Enter the cookie's name.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);

    await userEvent.selectOptions(within(form).getByRole("combobox", { name: "Category" }), "analytics");
    await fillIn(within(form).getByRole("textbox", { name: "Name" }), "bad name!");
    await fillIn(within(form).getByRole("textbox", { name: "Provider" }), "Google");
    await fillIn(within(form).getByRole("textbox", { name: "Purpose" }), "Counts visits.");
    await fillIn(within(form).getByRole("textbox", { name: "Duration" }), "13 months");
    await userEvent.click(within(form).getByRole("button", { name: "Add cookie" }));
    expect(await within(form).findByText("String should match pattern")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      category: "analytics",
      name: "bad name!",
      pattern: false,
      provider: "Google",
      description: "Counts visits.",
      duration: "13 months",
      party: "first",
    });
  });

  it("sends only the changed fields of an edit, with the material flag", async () => {
    let revision = 4;
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/cookies", () => json(inventory(revision))),
      route("PATCH", `/api/v1/admin/cookies/${session.id}`, () => {
        revision = 5;
        return json({ ...session, description: "Keeps you signed in, securely." });
      }),
    );
    renderPage(<CookiesAdminPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Edit opm_session" }));
    const form = screen.getByRole("form", { name: "Edit opm_session" });
    await fillIn(within(form).getByRole("textbox", { name: "Purpose" }), "Keeps you signed in, securely.");
    await userEvent.click(within(form).getByRole("checkbox", { name: /Material change/ }));
    await userEvent.click(within(form).getByRole("button", { name: "Save changes" }));
    await waitFor(() =>
      expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({
        material: true,
        description: "Keeps you signed in, securely.",
      }),
    );
    expect(await screen.findByText(/Banner revision 5/)).toBeInTheDocument();
  });

  it("deletes a cookie after confirmation", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/cookies", () => json(inventory())),
      route("DELETE", `/api/v1/admin/cookies/${session.id}`, () => new Response(null, { status: 204 })),
    );
    renderPage(<CookiesAdminPage />);
    await userEvent.click(await screen.findByRole("button", { name: "Delete opm_session" }));
    const dialog = await screen.findByRole("dialog", { name: "Delete opm_session?" });
    await userEvent.click(within(dialog).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(calls.some((call) => call.method === "DELETE")).toBe(true));
    expect(await screen.findByText("opm_session is deleted.")).toBeInTheDocument();
  });
});
