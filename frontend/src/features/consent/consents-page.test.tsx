import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";

import { ConsentsPage } from "./consents-page";
import { formatDate, formatDateTime } from "@/shared/lib/consent-format";
import { json, mockApi, renderPage, route } from "@/test/render";

const marketing = {
  key: "marketing_email",
  name: "Marketing email",
  description: "News about OpMaestro features, offers and events, by email.",
  legal_basis: "consent",
  optional: true,
  version: 1,
  granted: true,
  since: "2025-03-01T10:00:00Z",
  method: "signup",
  renewal_needed: false,
};
const analytics = {
  key: "analytics",
  name: "Usage analytics",
  description: "Counting the pages and features you use.",
  legal_basis: "consent",
  optional: true,
  version: 2,
  granted: true,
  since: "2025-02-01T10:00:00Z",
  method: "banner",
  renewal_needed: true,
};
const contract = {
  key: "service_email",
  name: "Service email",
  description: "Security alerts and receipts about your account.",
  legal_basis: "contract",
  optional: false,
  version: 1,
  granted: null,
  since: null,
  method: null,
  renewal_needed: false,
};

function event(n: number, overrides: Record<string, unknown> = {}) {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    purpose_key: "marketing_email",
    purpose_version: 1,
    action: "granted",
    method: "signup",
    policy_version: "2025-01",
    jurisdiction: "GB",
    ip_address: "127.0.0.1",
    user_agent: "test",
    created_at: `2025-03-${String(n).padStart(2, "0")}T10:00:00Z`,
    hash: "ab".repeat(32),
    ...overrides,
  };
}

function readText(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string); // readAsText gives a string
    reader.onerror = () => reject(reader.error ?? new Error("could not read the blob"));
    reader.readAsText(blob);
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("ConsentsPage choices", () => {
  it("withdraws a consent with PUT {granted: false} and shows the new state", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me/consents", () => json([marketing, analytics, contract])),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [], next_cursor: null })),
      route("PUT", "/api/v1/me/consents/marketing_email", () =>
        json({ ...marketing, granted: false, since: "2025-03-05T10:00:00Z", method: "settings" }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ConsentsPage />);

    expect(screen.getByRole("heading", { level: 1, name: "Consents & communications" })).toBeInTheDocument();
    const toggle = await screen.findByRole("switch", { name: "Marketing email" });
    expect(toggle).toBeChecked();
    expect(screen.getByText(`Given on ${formatDate(marketing.since)} via sign-up`)).toBeInTheDocument();

    await user.click(toggle);

    await waitFor(() => expect(calls.some((call) => call.method === "PUT")).toBe(true));
    const put = calls.find((call) => call.method === "PUT");
    expect(put?.path).toBe("/api/v1/me/consents/marketing_email");
    expect(put?.body).toEqual({ granted: false });
    expect(await screen.findByText("Marketing email is off.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("switch", { name: "Marketing email" })).not.toBeChecked());
    expect(screen.getByRole("switch", { name: "Marketing email" })).toBeEnabled();
    expect(screen.getByText("Not given")).toBeInTheDocument();
    // The history is read again, so it shows the new event.
    expect(calls.filter((call) => call.path === "/api/v1/me/consents/events").length).toBeGreaterThan(1);
  });

  it("shows required purposes as always on, and marks consents needing renewal", async () => {
    mockApi(
      route("GET", "/api/v1/me/consents", () => json([marketing, analytics, contract])),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [], next_cursor: null })),
    );
    renderPage(<ConsentsPage />);

    expect(await screen.findByText("Service email")).toBeInTheDocument();
    expect(screen.queryByRole("switch", { name: "Service email" })).not.toBeInTheDocument();
    expect(screen.getByText("Always on")).toBeInTheDocument();
    expect(screen.getAllByRole("switch")).toHaveLength(2);
    expect(screen.getAllByText("Needs renewal")).toHaveLength(1);
    expect(screen.getByRole("switch", { name: "Usage analytics" })).toHaveAccessibleDescription(
      `${analytics.description} Given on ${formatDate(analytics.since)} via cookie banner`,
    );
    expect(screen.getByRole("button", { name: "Renew consent to Usage analytics" })).toBeInTheDocument();
    expect(await screen.findByText("No consent events yet")).toBeInTheDocument();
  });

  it("keeps the old state and shows the problem when the change is refused", async () => {
    mockApi(
      route("GET", "/api/v1/me/consents", () => json([marketing])),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [], next_cursor: null })),
      route("PUT", "/api/v1/me/consents/marketing_email", () =>
        json(
          {
            type: "urn:opmaestro:problem:purpose-not-optional",
            title: "Purpose not optional",
            status: 409,
            detail: "Marketing email cannot be switched off.",
            request_id: "req-1",
          },
          409,
        ),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ConsentsPage />);

    await user.click(await screen.findByRole("switch", { name: "Marketing email" }));
    expect(await screen.findByText("Marketing email cannot be switched off. (request id req-1)")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("switch", { name: "Marketing email" })).toBeChecked());
  });

  it("says when the consents cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/me/consents", () =>
        json({ type: "about:blank", title: "Server error", status: 500, detail: "Database unavailable" }, 500),
      ),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [], next_cursor: null })),
    );
    renderPage(<ConsentsPage />);
    expect(screen.getByRole("status", { name: "Loading your consents" })).toBeInTheDocument();
    expect(await screen.findByText("Your consents could not be loaded")).toBeInTheDocument();
    expect(screen.getByText(/Database unavailable/)).toBeInTheDocument();
  });
});

describe("ConsentsPage history", () => {
  it("lists events with purpose names, and loads more", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me/consents", () => json([marketing, analytics])),
      route("GET", "/api/v1/me/consents/events", (call) =>
        call.query.get("cursor") === "page-2"
          ? json({
              items: [event(1, { purpose_key: "analytics", action: "withdrawn", method: "gpc" })],
              next_cursor: null,
            })
          : json({ items: [event(3), event(2, { action: "denied", method: "settings" })], next_cursor: "page-2" }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ConsentsPage />);

    const table = await screen.findByRole("table", { name: "Consent history" });
    const headers = within(table)
      .getAllByRole("columnheader")
      .map((cell) => cell.textContent);
    expect(headers).toEqual(["When", "Purpose", "Action", "How", "Receipt"]);
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    const first = within(table).getAllByRole("row")[1]!;
    expect(within(first).getByText(formatDateTime(event(3).created_at))).toBeInTheDocument();
    expect(within(first).getByText("Marketing email")).toBeInTheDocument();
    expect(within(first).getByText("Given")).toBeInTheDocument();
    expect(within(first).getByText("Sign-up")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more" }));

    expect(await within(table).findByText("Usage analytics")).toBeInTheDocument();
    expect(within(table).getAllByRole("row")).toHaveLength(4);
    expect(within(table).getByText("Withdrawn")).toBeInTheDocument();
    expect(within(table).getByText("Global Privacy Control")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(
      calls.filter((call) => call.path === "/api/v1/me/consents/events").map((call) => call.query.get("cursor")),
    ).toEqual([null, "page-2"]);
  });

  it("downloads an event's signed receipt as a .jws file", async () => {
    const JWS = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const calls = mockApi(
      route("GET", "/api/v1/me/consents", () => json([marketing])),
      route("GET", "/api/v1/me/consents/events", () => json({ items: [event(3)], next_cursor: null })),
      route("GET", `/api/v1/me/consents/events/${event(3).id}/receipt`, () =>
        json({ receipt: JWS, claims: { sub: "x" } }),
      ),
    );
    const blobs: Blob[] = [];
    const createObjectURL = vi.fn((blob: Blob) => {
      blobs.push(blob);
      return "blob:receipt";
    });
    const revokeObjectURL = vi.fn();
    // jsdom has no object URLs; the stubs are removed after the test.
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    onTestFinished(() => {
      Reflect.deleteProperty(URL, "createObjectURL");
      Reflect.deleteProperty(URL, "revokeObjectURL");
    });
    const clicked: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this);
    });
    const user = userEvent.setup();
    renderPage(<ConsentsPage />);

    await user.click(
      await screen.findByRole("button", {
        name: `Download receipt for Marketing email ${formatDateTime(event(3).created_at)}`,
      }),
    );

    await waitFor(() => expect(clicked).toHaveLength(1));
    expect(calls.some((call) => call.path === `/api/v1/me/consents/events/${event(3).id}/receipt`)).toBe(true);
    expect(clicked[0]?.getAttribute("href")).toBe("blob:receipt");
    expect(clicked[0]?.download).toMatch(/^consent-receipt-marketing_email-2025-03-03-.*\.jws$/);
    expect(clicked[0]?.isConnected).toBe(false);
    expect(await readText(blobs[0]!)).toBe(JWS);
    expect(blobs[0]?.type).toBe("application/jose");
    await waitFor(() => expect(revokeObjectURL).toHaveBeenCalledWith("blob:receipt"));
  });
});
