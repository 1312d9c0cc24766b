import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { json, mockApi, renderPage, route } from "@/test/render";
import { ConsentDashboardPage } from "./consent-dashboard-page";
import { aUser } from "@/test/fixtures";

const admin = aUser({ email: "root@example.com", name: "Root", country: "DE", role: "admin", mfa_enabled: true });

function day(date: string, granted: number, denied: number, withdrawn: number) {
  const total = granted + denied + withdrawn;
  return { day: date, granted, denied, withdrawn, opt_in_rate: total ? granted / total : null };
}

const stats = {
  days: 2,
  start: "2026-03-03",
  end: "2026-03-04",
  purposes: [
    {
      key: "analytics",
      name: "Analytics",
      granted_now: 12,
      days: [day("2026-03-03", 1, 1, 1), day("2026-03-04", 3, 1, 0)],
    },
    {
      key: "marketing_email",
      name: "Marketing email",
      granted_now: 5,
      days: [day("2026-03-03", 0, 0, 0), day("2026-03-04", 0, 2, 0)],
    },
  ],
};

afterEach(() => vi.unstubAllGlobals());

describe("ConsentDashboardPage", () => {
  it("shows the stats as tables and asks for another period", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(admin)),
      route("GET", "/api/v1/admin/consent/stats", () => json(stats)),
    );
    const user = userEvent.setup();
    renderPage(<ConsentDashboardPage />);

    expect(await screen.findByRole("heading", { level: 1, name: "Consent dashboard" })).toBeInTheDocument();
    const daily = await screen.findByRole("table", { name: "Daily opt-in rates" });
    const rows = within(daily)
      .getAllByRole("row")
      .slice(1)
      .map((row) =>
        within(row)
          .getAllByRole("cell")
          .map((cell) => cell.textContent),
      );
    expect(rows).toEqual([
      ["Mar 4, 2026", "Analytics", "3", "1", "0", "75%"],
      ["Mar 4, 2026", "Marketing email", "0", "2", "0", "0%"],
      ["Mar 3, 2026", "Analytics", "1", "1", "1", "33.3%"],
    ]);
    const grants = screen.getByRole("table", { name: "Current grants" });
    expect(within(grants).getByRole("row", { name: "Analytics 12" })).toBeInTheDocument();
    expect(within(grants).getByRole("row", { name: "Marketing email 5" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /Line chart of the opt-in rate/ })).toBeInTheDocument();
    expect(calls.find((call) => call.path === "/api/v1/admin/consent/stats")?.query.get("days")).toBe("30");

    await user.selectOptions(screen.getByLabelText("Period"), "7");
    await waitFor(() =>
      expect(calls.some((call) => call.path === "/api/v1/admin/consent/stats" && call.query.get("days") === "7")).toBe(
        true,
      ),
    );
  });
});
