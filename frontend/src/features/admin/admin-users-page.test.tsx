import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { AdminUsersPage } from "./admin-users-page";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { aUser, type Role } from "@/test/fixtures";

function staff(role: Role) {
  return aUser({ email: "boss@example.com", name: "The Boss", country: "DE", role, mfa_enabled: true });
}
const member = {
  id: "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
  email: "ada@example.com",
  name: "Ada Lovelace",
  company: null,
  role: "member",
  status: "active",
  email_verified: true,
  mfa_enabled: false,
  created_at: "2025-02-02T03:04:05Z",
};

afterEach(() => vi.unstubAllGlobals());

describe("AdminUsersPage", () => {
  it("asks for a reason, sends it with the search and says when nothing matches", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("support"))),
      route("GET", "/api/v1/admin/users", () => json({ items: [], next_cursor: null })),
    );
    const user = userEvent.setup();
    renderPage(<AdminUsersPage />);

    await fillIn(await screen.findByLabelText("Search"), "nobody");
    await user.click(screen.getByRole("button", { name: "Search" }));
    expect(screen.getByLabelText(/Reason/)).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((call) => call.path === "/api/v1/admin/users")).toBe(false);

    await fillIn(screen.getByLabelText(/Reason/), "Ticket 4711");
    await user.click(screen.getByRole("button", { name: "Search" }));
    expect(await screen.findByText("No users match")).toBeInTheDocument();
    const search = calls.find((call) => call.path === "/api/v1/admin/users");
    expect(search?.query.get("reason")).toBe("Ticket 4711");
    expect(search?.query.get("q")).toBe("nobody");
  });

  it("lets an admin change a role with the stated reason", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(staff("admin"))),
      route("GET", "/api/v1/admin/users", () => json({ items: [member], next_cursor: null })),
      route("PATCH", `/api/v1/admin/users/${member.id}`, (call) => json({ ...member, ...(call.body as object) })),
    );
    const user = userEvent.setup();
    renderPage(<AdminUsersPage />);

    await fillIn(await screen.findByLabelText(/Reason/), "Promotion approved in ticket 12");
    await user.click(screen.getByRole("button", { name: "Search" }));
    const table = await screen.findByRole("table", { name: "Users" });
    for (const header of ["Email", "Name", "Role", "Status"]) {
      expect(within(table).getByRole("columnheader", { name: header })).toBeInTheDocument();
    }
    await user.selectOptions(within(table).getByLabelText("Role for ada@example.com"), "support");
    await user.click(within(table).getByRole("button", { name: "Save" }));

    await waitFor(() => expect(calls.some((call) => call.method === "PATCH")).toBe(true));
    expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({
      role: "support",
      reason: "Promotion approved in ticket 12",
    });
    expect(await screen.findByText(/role is now Support/)).toBeInTheDocument();
  });
});
