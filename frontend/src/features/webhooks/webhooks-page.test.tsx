import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { WebhooksPage } from "./webhooks-page";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";

const LIST = "/api/v1/me/webhook-endpoints";
const ID = "0b6f4f57-2f4e-4a55-b0f0-1d1e2f3a4b5c";
const ONE = `${LIST}/${ID}`;
const SECRET = "whsec_Zm9yIHlvdXIgZXllcyBvbmx5IGZvciB5b3Vy";
const NEW_SECRET = "whsec_YW5vdGhlciBzZWNyZXQgZm9yIHlvdXIgZXllcw==";
const endpoint = {
  id: ID,
  url: "https://crm.example.com/hooks",
  description: "CRM",
  event_types: ["consent.changed"],
  enabled: true,
  consecutive_failures: 0,
  disabled_at: null,
  disabled_reason: null,
  previous_secret_expires_at: null,
  created_at: "2026-11-30T10:00:00Z",
  updated_at: "2026-11-30T10:00:00Z",
};
const delivery = (n: number, status: string, code: number | null, error: string | null) => ({
  id: `0b6f4f57-2f4e-4a55-b0f0-00000000000${n}`,
  event_type: "consent.changed",
  status,
  attempts: n,
  next_attempt_at: status === "pending" ? "2026-11-30T11:00:00Z" : null,
  last_attempt_at: "2026-11-30T10:30:00Z",
  last_status_code: code,
  last_duration_ms: 12,
  last_error: error,
  delivered_at: status === "succeeded" ? "2026-11-30T10:30:00Z" : null,
  created_at: "2026-11-30T10:00:00Z",
});

afterEach(() => vi.unstubAllGlobals());

describe("WebhooksPage", () => {
  it("asks an unverified person to confirm their address instead of offering the form", async () => {
    mockApi(
      route("GET", LIST, () =>
        json(
          {
            type: "https://opmaestro.example/problems/email-not-verified",
            title: "Email not verified",
            status: 403,
            detail: "Verify your email address first.",
          },
          403,
        ),
      ),
    );
    renderPage(<WebhooksPage />);

    expect(await screen.findByText("Verify your email address to use webhooks")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add endpoint" })).not.toBeInTheDocument();
    expect(screen.queryByText("Your webhook endpoints could not be loaded")).not.toBeInTheDocument();
  });

  it("shows a new endpoint's secret once, then never again", async () => {
    let endpoints: (typeof endpoint)[] = [];
    const calls = mockApi(
      route("GET", LIST, () => json(endpoints)),
      route("POST", LIST, () => {
        endpoints = [endpoint];
        return json({ ...endpoint, secret: SECRET }, 201);
      }),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);

    expect(await screen.findByText("You have no webhook endpoints.")).toBeInTheDocument();
    await fillIn(screen.getByLabelText(/Endpoint URL/), "https://crm.example.com/hooks");
    await fillIn(screen.getByLabelText("Description"), "CRM");
    await user.click(screen.getByLabelText(/consent\.changed/));
    await user.click(screen.getByRole("button", { name: "Add endpoint" }));

    expect(await screen.findByLabelText("Signing secret")).toHaveValue(SECRET);
    expect(screen.getByText(/You won’t see it again/)).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      url: "https://crm.example.com/hooks",
      description: "CRM",
      event_types: ["consent.changed"],
      enabled: true,
    });
    expect(await screen.findByRole("heading", { name: endpoint.url })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument());
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("asks for the password again when the API wants it, then adds the endpoint", async () => {
    let asked = false;
    const calls = mockApi(
      route("GET", LIST, () => json([])),
      route("POST", LIST, () => {
        if (!asked) {
          asked = true;
          return json(
            {
              type: "urn:opmaestro:problem:reauthentication-required",
              title: "Re-authentication required",
              status: 403,
              detail: "Enter your password (or a two-factor code) again.",
              reauthenticate: "/api/v1/me/reauthenticate",
            },
            403,
          );
        }
        return json({ ...endpoint, secret: SECRET }, 201);
      }),
      route("POST", "/api/v1/me/reauthenticate", () => new Response(null, { status: 204 })),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    await screen.findByText("You have no webhook endpoints.");
    await fillIn(screen.getByLabelText(/Endpoint URL/), "https://crm.example.com/hooks");
    await user.click(screen.getByLabelText(/consent\.changed/));
    await user.click(screen.getByRole("button", { name: "Add endpoint" }));

    const dialog = within(await screen.findByRole("dialog", { name: "Confirm it is you" }));
    expect(dialog.getByText(/New webhook endpoints need your password again/)).toBeInTheDocument();
    await fillIn(dialog.getByLabelText(/Password/), "correct horse battery staple");
    await user.click(dialog.getByRole("button", { name: "Confirm" }));

    expect(await screen.findByLabelText("Signing secret")).toHaveValue(SECRET);
    const posts = calls.filter((call) => call.method === "POST");
    expect(posts.map((call) => call.path)).toEqual([LIST, "/api/v1/me/reauthenticate", LIST]);
    expect(posts[1]?.body).toEqual({ password: "correct horse battery staple" });
    expect(posts[2]?.body).toEqual(posts[0]?.body);
  });

  it("asks for the password again before a new signing secret, then shows it", async () => {
    let asked = false;
    const calls = mockApi(
      route("GET", LIST, () => json([endpoint])),
      route("POST", `${ONE}/rotate-secret`, () => {
        if (asked) return json({ ...endpoint, secret: NEW_SECRET });
        asked = true;
        return json(
          {
            type: "urn:opmaestro:problem:reauthentication-required",
            title: "Re-authentication required",
            status: 403,
            detail: "Enter your password (or a two-factor code) again.",
          },
          403,
        );
      }),
      route("POST", "/api/v1/me/reauthenticate", () => new Response(null, { status: 204 })),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    const card = within(await screen.findByRole("region", { name: endpoint.url }));
    await user.click(card.getByRole("button", { name: "Rotate secret" }));
    const confirmRotate = within(await screen.findByRole("dialog", { name: "Rotate the signing secret?" }));
    await user.click(confirmRotate.getByRole("button", { name: "Rotate" }));

    const dialog = within(await screen.findByRole("dialog", { name: "Confirm it is you" }));
    expect(dialog.getByText(/New signing secrets need your password again/)).toBeInTheDocument();
    await fillIn(dialog.getByLabelText(/Password/), "correct horse battery staple");
    await user.click(dialog.getByRole("button", { name: "Confirm" }));

    expect(await screen.findByLabelText("Signing secret")).toHaveValue(NEW_SECRET);
    const posts = calls.filter((call) => call.method === "POST").map((call) => call.path);
    expect(posts).toEqual([`${ONE}/rotate-secret`, "/api/v1/me/reauthenticate", `${ONE}/rotate-secret`]);
  });

  it("refuses a form without an https URL or events, and shows the server's refusal", async () => {
    const calls = mockApi(
      route("GET", LIST, () => json([])),
      route("POST", LIST, () =>
        json(
          {
            type: "urn:opmaestro:problem:webhook-url-refused",
            title: "This URL cannot receive webhooks",
            status: 422,
            detail:
              "The host 'intranet.example.com' cannot receive webhooks: it must resolve, and only to public addresses.",
          },
          422,
        ),
      ),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    await screen.findByText("You have no webhook endpoints.");
    await fillIn(screen.getByLabelText(/Endpoint URL/), "http://crm.example.com");
    await user.click(screen.getByRole("button", { name: "Add endpoint" }));
    expect(await screen.findByText("Enter an https:// address.")).toBeInTheDocument();
    expect(screen.getByText("Choose at least one event.")).toBeInTheDocument();
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(0);

    await fillIn(screen.getByLabelText(/Endpoint URL/), "https://intranet.example.com/hooks");
    await user.click(screen.getByLabelText(/account\.closed/));
    await user.click(screen.getByRole("button", { name: "Add endpoint" }));
    expect(await screen.findByText(/it must resolve, and only to public addresses/)).toBeInTheDocument();
  });

  it("edits events, switches off, rotates and deletes after confirming", async () => {
    let current = { ...endpoint };
    let deleted = false;
    const calls = mockApi(
      route("GET", LIST, () => json(deleted ? [] : [current])),
      route("PATCH", ONE, (call) => {
        current = { ...current, ...(call.body as object) };
        return json(current);
      }),
      route("POST", `${ONE}/rotate-secret`, () => json({ ...current, secret: NEW_SECRET })),
      route("DELETE", ONE, () => {
        deleted = true;
        return new Response(null, { status: 204 });
      }),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    const card = within(await screen.findByRole("region", { name: endpoint.url }));

    await user.click(card.getByLabelText(/account\.closed/));
    await user.click(card.getByRole("button", { name: "Save events" }));
    await waitFor(() =>
      expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({
        event_types: ["consent.changed", "account.closed"],
      }),
    );
    await user.click(card.getByLabelText("Send events to this endpoint"));
    await waitFor(() => expect(calls.filter((call) => call.method === "PATCH")[1]?.body).toEqual({ enabled: false }));
    expect(await card.findByText("Disabled")).toBeInTheDocument();

    await user.click(card.getByRole("button", { name: "Rotate secret" }));
    const rotateDialog = within(await screen.findByRole("dialog", { name: "Rotate the signing secret?" }));
    await user.click(rotateDialog.getByRole("button", { name: "Rotate" }));
    expect(await screen.findByLabelText("Signing secret")).toHaveValue(NEW_SECRET);

    await user.click(card.getByRole("button", { name: "Delete" }));
    const deleteDialog = within(await screen.findByRole("dialog", { name: "Delete this endpoint?" }));
    expect(calls.some((call) => call.method === "DELETE")).toBe(false);
    await user.click(deleteDialog.getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("You have no webhook endpoints.")).toBeInTheDocument();
  });

  it("says why an endpoint stopped after a password reset and lets the owner enable it again", async () => {
    type Stoppable = Omit<typeof endpoint, "disabled_at" | "disabled_reason"> & {
      disabled_at: string | null;
      disabled_reason: string | null;
    };
    let current: Stoppable = {
      ...endpoint,
      enabled: false,
      disabled_at: "2026-11-30T11:00:00Z",
      disabled_reason:
        "the account's password was reset; check that you registered this endpoint yourself, then enable it again",
    };
    const calls = mockApi(
      route("GET", LIST, () => json([current])),
      route("PATCH", ONE, (call) => {
        current = { ...current, ...(call.body as object), disabled_at: null, disabled_reason: null };
        return json(current);
      }),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    const card = within(await screen.findByRole("region", { name: endpoint.url }));

    expect(card.getByText(/Stopped: the account's password was reset/)).toBeInTheDocument();
    expect(card.queryByText(/Fix the receiver/)).not.toBeInTheDocument();
    await user.click(card.getByLabelText("Send events to this endpoint"));
    await waitFor(() => expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({ enabled: true }));
    expect(await card.findByText("Enabled")).toBeInTheDocument();
    expect(card.queryByText(/Stopped/)).not.toBeInTheDocument();
  });

  it("offers only the events a person's endpoint can receive", async () => {
    const older = { ...endpoint, event_types: ["consent.changed", "account.deleted"] };
    const calls = mockApi(
      route("GET", LIST, () => json([older])),
      route("PATCH", ONE, (call) => json({ ...older, ...(call.body as object) })),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    const card = within(await screen.findByRole("region", { name: endpoint.url }));

    expect(screen.queryByLabelText(/account\.deleted/)).not.toBeInTheDocument();
    expect(card.getByLabelText(/account\.closed/)).toBeInTheDocument();
    await user.click(card.getByRole("button", { name: "Save events" }));
    await waitFor(() =>
      expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({ event_types: ["consent.changed"] }),
    );
  });

  it("shows the delivery log with status codes, errors and more pages", async () => {
    const calls = mockApi(
      route("GET", LIST, () => json([endpoint])),
      route("GET", `${ONE}/deliveries`, (call) =>
        call.query.get("cursor")
          ? json({ items: [delivery(3, "failed", null, "timed out")], next_cursor: null })
          : json({
              items: [delivery(1, "succeeded", 204, null), delivery(2, "pending", 500, "HTTP 500")],
              next_cursor: "next-page",
            }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<WebhooksPage />);
    await user.click(await screen.findByRole("button", { name: "Show delivery log" }));
    const table = within(await screen.findByRole("table", { name: "Deliveries" }));
    expect(table.getByText("HTTP 204 in 12 ms")).toBeInTheDocument();
    expect(table.getByText("HTTP 500")).toBeInTheDocument();
    expect(table.getByText("succeeded")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Show older deliveries" }));
    expect(await table.findByText("timed out")).toBeInTheDocument();
    expect(calls.at(-1)?.query.get("cursor")).toBe("next-page");
  });

  it("says so when the endpoints cannot be loaded", async () => {
    mockApi(
      route("GET", LIST, () =>
        json({ type: "about:blank", title: "Service unavailable", status: 503, detail: "Try again later." }, 503),
      ),
    );
    renderPage(<WebhooksPage />);
    expect(await screen.findByText("Your webhook endpoints could not be loaded")).toBeInTheDocument();
  });
});
