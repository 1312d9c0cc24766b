import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { LegalHold, QueuedRequest, QueuedRequestDetail } from "./api/queue";
import { DataRequestsAdminPage } from "./data-requests-admin-page";
import { fillIn } from "@/test/fill-in";
import { aUser, type Role } from "@/test/fixtures";
import { json, mockApi, route } from "@/test/render";
import { renderPage } from "@/test/render";

afterEach(() => vi.unstubAllGlobals());

const REQUEST_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
const USER_ID = "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e";
const HOLD_ID = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";

function staff(role: Role) {
  return route("GET", "/api/v1/me", () => json(aUser({ email: "dpo@example.com", role, mfa_enabled: true })));
}

function queued(overrides: Partial<QueuedRequest> = {}): QueuedRequest {
  return {
    id: REQUEST_ID,
    kind: "correction",
    state: "received",
    created_at: "2026-11-01T10:00:00Z",
    due_at: "2026-12-01T10:00:00Z",
    extended: false,
    extension_reason: null,
    closed_at: null,
    outcome: null,
    progress_percent: 0,
    erase_after: null,
    fields: ["phone"],
    export: null,
    certificate: null,
    legal_holds: [],
    user_id: USER_ID,
    jurisdiction: "europe",
    verified_at: null,
    started_at: null,
    extended_at: null,
    overdue: false,
    due_soon: true,
    awaiting_confirmation: false,
    ...overrides,
  };
}

function detail(overrides: Partial<QueuedRequestDetail> = {}): QueuedRequestDetail {
  return { ...queued(), email: "requester@example.com", details: "My phone number is wrong.", ...overrides };
}

/** What an action answers: the request without the requester's address and details. */
function forQueue(request: QueuedRequestDetail): QueuedRequest {
  const copy: Partial<QueuedRequestDetail> = { ...request };
  delete copy.email;
  delete copy.details;
  return copy as QueuedRequest;
}

const page = <T,>(items: T[], next_cursor: string | null = null) => ({ items, next_cursor });

describe("DataRequestsAdminPage", () => {
  it("is for privacy officers and admins only", async () => {
    const calls = mockApi(staff("support"));
    renderPage(<DataRequestsAdminPage />);
    expect(await screen.findByText("Privacy officers and administrators only")).toBeInTheDocument();
    expect(calls.some((call) => call.path.startsWith("/api/v1/admin"))).toBe(false);
  });

  it("lists the queue with badges, filters it and loads more", async () => {
    const calls = mockApi(
      staff("privacy_officer"),
      route("GET", "/api/v1/admin/data-requests", (call) => {
        if (call.query.get("state") === "denied") return json(page([]));
        if (call.query.get("cursor")) return json(page([queued({ id: "late", kind: "erasure", due_soon: false })]));
        return json(
          page(
            [
              queued({ overdue: true, due_soon: false }),
              queued({ id: "5eed0000-soon", kind: "export", user_id: null, jurisdiction: "california" }),
            ],
            "next",
          ),
        );
      }),
    );
    const user = userEvent.setup();
    renderPage(<DataRequestsAdminPage />);

    expect(await screen.findByRole("status", { name: "Loading data requests" })).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Data requests" });
    const rows = within(table).getAllByRole("row");
    expect(within(rows[1] as HTMLElement).getByText("Overdue")).toBeInTheDocument();
    expect(within(rows[2] as HTMLElement).getByText("Due soon")).toBeInTheDocument();
    expect(within(rows[1] as HTMLElement).getByText(/Account · EU\/EEA, UK or Switzerland/)).toBeInTheDocument();
    expect(within(rows[2] as HTMLElement).getByText(/By email · California/)).toBeInTheDocument();
    // Each row's button names its request: the short reference and the time received.
    const names = within(table)
      .getAllByRole("button", { name: /^Open / })
      .map((button) => button.getAttribute("aria-label"));
    expect(names).toEqual([
      expect.stringMatching(new RegExp(`^Open correction request ${REQUEST_ID.slice(0, 8)}, received `)),
      expect.stringMatching(/^Open export request 5eed0000, received /),
    ]);
    expect(new Set(names).size).toBe(names.length);

    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await within(table).findAllByRole("row")).toHaveLength(4);

    await user.selectOptions(screen.getByRole("combobox", { name: "State" }), "denied");
    await user.selectOptions(screen.getByRole("combobox", { name: "Kind" }), "erasure");
    await user.selectOptions(screen.getByRole("combobox", { name: "Overdue" }), "true");
    await fillIn(screen.getByLabelText("Due before"), "2026-12-24");
    expect(await screen.findByText("No data requests match.")).toBeInTheDocument();
    const last = calls.filter((call) => call.path === "/api/v1/admin/data-requests").at(-1);
    expect(last?.query.get("state")).toBe("denied");
    expect(last?.query.get("kind")).toBe("erasure");
    expect(last?.query.get("overdue")).toBe("true");
    expect(last?.query.get("due_before")).toBe("2026-12-24T00:00:00Z");
  });

  it("says when the queue cannot be loaded", async () => {
    mockApi(
      staff("admin"),
      route("GET", "/api/v1/admin/data-requests", () =>
        json({ type: "about:blank", title: "Server error", status: 500, detail: "Database down." }, 500),
      ),
    );
    renderPage(<DataRequestsAdminPage />);
    expect(await screen.findByText("The queue could not be loaded")).toBeInTheDocument();
    expect(screen.getByText("Database down.")).toBeInTheDocument();
  });

  it("opens a request only with a reason, then verifies, resolves and shows the audit trail", async () => {
    let current = detail();
    const calls = mockApi(
      staff("privacy_officer"),
      route("GET", "/api/v1/admin/data-requests", () => json(page([queued()]))),
      route("GET", `/api/v1/admin/data-requests/${REQUEST_ID}`, () => json(current)),
      route("GET", `/api/v1/admin/data-requests/${REQUEST_ID}/audit`, () =>
        json(
          page([
            {
              id: "a1",
              created_at: "2026-11-01T10:00:00Z",
              actor_id: null,
              actor_kind: "anonymous",
              action: "dsar.received",
              fields: ["kind", "state"],
              reason: null,
            },
          ]),
        ),
      ),
      route("POST", `/api/v1/admin/data-requests/${REQUEST_ID}/verify`, () => {
        current = detail({ state: "verified", verified_at: "2026-11-30T10:00:00Z" });
        return json(forQueue(current));
      }),
      route("POST", `/api/v1/admin/data-requests/${REQUEST_ID}/resolve`, () => {
        current = detail({ state: "completed", outcome: "Phone corrected.", closed_at: "2026-11-30T11:00:00Z" });
        return json(forQueue(current));
      }),
      route("GET", `/api/v1/admin/users/${USER_ID}/legal-holds`, () => json(page([]))),
    );
    const user = userEvent.setup();
    renderPage(<DataRequestsAdminPage />);

    const open = await screen.findByRole("button", { name: /^Open correction request/ });
    await user.click(open);
    expect(screen.getByRole("textbox", { name: /^Reason/ })).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((call) => call.path === `/api/v1/admin/data-requests/${REQUEST_ID}`)).toBe(false);

    await fillIn(screen.getByRole("textbox", { name: /^Reason/ }), "Ticket 981");
    await user.click(open);
    const panel = within(await screen.findByRole("region", { name: "Correction request" }));
    expect(await panel.findByText("requester@example.com")).toBeInTheDocument();
    expect(panel.getByText("My phone number is wrong.")).toBeInTheDocument();
    expect(calls.find((call) => call.path === `/api/v1/admin/data-requests/${REQUEST_ID}`)?.query.get("reason")).toBe(
      "Ticket 981",
    );
    expect(await panel.findByText("dsar.received")).toBeInTheDocument();
    expect(await panel.findByText("No legal holds.")).toBeInTheDocument();

    await user.click(panel.getByRole("button", { name: "Verify identity" }));
    expect(await screen.findByText("Identity verified; the work starts.")).toBeInTheDocument();
    expect(panel.getByText("requester@example.com")).toBeInTheDocument();

    await user.click(await panel.findByRole("button", { name: "Resolve correction" }));
    expect(panel.getByText(/Say what was corrected/)).toBeInTheDocument();
    await fillIn(panel.getByRole("textbox", { name: /^Resolution/ }), "Phone corrected.");
    await user.click(panel.getByRole("button", { name: "Resolve correction" }));
    expect(await panel.findByText("This request is closed; nothing more can be done.")).toBeInTheDocument();
    expect(calls.find((call) => call.path.endsWith("/resolve"))?.body).toEqual({ resolution: "Phone corrected." });
  });

  it("denies and extends with a reason, and places and releases legal holds", async () => {
    let holds: LegalHold[] = [
      {
        id: HOLD_ID,
        user_id: USER_ID,
        category: "billing",
        reason: "Tax records kept 10 years",
        created_at: "2026-10-01T00:00:00Z",
        created_by: null,
        released_at: null,
        released_by: null,
      },
    ];
    const calls = mockApi(
      staff("admin"),
      route("GET", "/api/v1/admin/data-requests", () =>
        json(page([queued({ kind: "erasure", state: "in_progress" })])),
      ),
      route("GET", `/api/v1/admin/data-requests/${REQUEST_ID}`, () =>
        json(
          detail({
            kind: "erasure",
            state: "in_progress",
            fields: [],
            details: null,
            erase_after: "2026-12-14T10:00:00Z",
          }),
        ),
      ),
      route("GET", `/api/v1/admin/data-requests/${REQUEST_ID}/audit`, () => json(page([]))),
      route("POST", `/api/v1/admin/data-requests/${REQUEST_ID}/extend`, () =>
        json(queued({ kind: "erasure", state: "in_progress", extended: true, extension_reason: "Complex archive" })),
      ),
      route("POST", `/api/v1/admin/data-requests/${REQUEST_ID}/deny`, () =>
        json(queued({ kind: "erasure", state: "denied", outcome: "Denied: manifestly unfounded" })),
      ),
      route("GET", `/api/v1/admin/users/${USER_ID}/legal-holds`, () => json(page(holds))),
      route("POST", `/api/v1/admin/users/${USER_ID}/legal-holds`, (call) => {
        const body = call.body as Pick<LegalHold, "category" | "reason">;
        const hold = { ...holds[0]!, id: "new-hold", ...body };
        holds = [hold, ...holds];
        return json(hold, 201);
      }),
      route("POST", `/api/v1/admin/legal-holds/${HOLD_ID}/release`, () => {
        holds = holds.map((hold) => (hold.id === HOLD_ID ? { ...hold, released_at: "2026-11-30T12:00:00Z" } : hold));
        return json(holds.find((hold) => hold.id === HOLD_ID));
      }),
    );
    const user = userEvent.setup();
    renderPage(<DataRequestsAdminPage />);

    await fillIn(await screen.findByRole("textbox", { name: /^Reason/ }), "Ticket 982");
    await user.click(await screen.findByRole("button", { name: /^Open erasure request/ }));
    const panel = within(await screen.findByRole("region", { name: "Erasure request" }));

    expect(panel.getByText("Erase after (end of the grace period)")).toBeInTheDocument();
    expect(panel.getByText(/Dec 14, 2026|14 Dec 2026/)).toBeInTheDocument();
    const holdsTable = within(await panel.findByRole("table", { name: "Legal holds" }));
    expect(holdsTable.getByText("Tax records kept 10 years")).toBeInTheDocument();
    await user.click(holdsTable.getByRole("button", { name: "Release Billing" }));
    expect(panel.getByText(/Give the legal reason/)).toBeInTheDocument();
    await fillIn(panel.getByRole("textbox", { name: /^Reason for releasing/ }), "Audit closed");
    await user.click(holdsTable.getByRole("button", { name: "Release Billing" }));
    expect(await screen.findByText("The hold on Billing is released.")).toBeInTheDocument();
    expect(calls.find((call) => call.path.endsWith("/release"))?.body).toEqual({ reason: "Audit closed" });

    const placeForm = within(panel.getByRole("form", { name: "Place a legal hold" }));
    await user.selectOptions(placeForm.getByRole("combobox", { name: /^Category to keep/ }), "consent");
    await fillIn(placeForm.getByRole("textbox", { name: /^Legal reason/ }), "Court order 2026-44");
    await user.click(placeForm.getByRole("button", { name: "Place hold" }));
    expect(await screen.findByText("Consent is on hold.")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST" && call.path.endsWith("/legal-holds"))?.body).toEqual({
      category: "consent",
      reason: "Court order 2026-44",
    });

    const reason = panel.getByRole("textbox", { name: /^Reason$/ });
    await user.click(panel.getByRole("button", { name: "Extend deadline" }));
    expect(reason).toHaveAttribute("aria-invalid", "true");
    await fillIn(reason, "Complex archive");
    await user.click(panel.getByRole("button", { name: "Extend deadline" }));
    expect(await screen.findByText("The deadline is extended.")).toBeInTheDocument();
    await waitFor(() => expect(panel.queryByRole("button", { name: "Extend deadline" })).not.toBeInTheDocument());

    await fillIn(panel.getByRole("textbox", { name: /^Reason$/ }), "Manifestly unfounded");
    await user.click(panel.getByRole("button", { name: "Deny request" }));
    expect(await screen.findByText("The request is denied.")).toBeInTheDocument();
    expect(calls.find((call) => call.path.endsWith("/deny"))?.body).toEqual({ reason: "Manifestly unfounded" });
    expect(calls.find((call) => call.path.endsWith("/extend"))?.body).toEqual({ reason: "Complex archive" });
  });
});
