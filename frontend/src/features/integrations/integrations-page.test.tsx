import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { IntegrationsPage } from "./integrations-page";
import { json, mockApi, renderPage, route } from "@/test/render";

const connection = {
  account_email: "ann.lee@gmail.example",
  account_name: "Ann Lee",
  subject: "108234567890123456789",
  granted_scopes: ["openid", "https://www.googleapis.com/auth/calendar.readonly"],
  connected_at: "2026-11-30T10:00:00Z",
  last_synced_at: "2026-11-30T10:01:00Z",
  sync_status: "succeeded",
  sync_error: null,
  needs_reconnect: false,
  imported_items: 4,
};

function items(googleConnected = true) {
  return [
    {
      provider: "google",
      name: "Google",
      status: googleConnected ? "connected" : "not_connected",
      requested_scopes: ["openid", "email", "profile", "https://www.googleapis.com/auth/calendar.readonly"],
      imports: "Your Google account's email and your calendar's events.",
      connection: googleConnected ? connection : null,
    },
    {
      provider: "gusto",
      name: "Gusto",
      status: "not_connected",
      requested_scopes: ["companies:read"],
      imports: "Your company's name and employees.",
      connection: null,
    },
    {
      provider: "stripe",
      name: "Stripe",
      status: "not_configured",
      requested_scopes: ["read_only"],
      imports: "Your Stripe account's id and business name.",
      connection: null,
    },
  ];
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("IntegrationsPage", () => {
  it("lists each provider with its status, account, scopes and last import", async () => {
    mockApi(route("GET", "/api/v1/integrations", () => json({ items: items() })));
    renderPage(<IntegrationsPage />);

    const google = await screen.findByRole("region", { name: "Google" });
    expect(within(google).getByText("Connected")).toBeInTheDocument();
    expect(within(google).getByText(/ann.lee@gmail.example/)).toBeInTheDocument();
    expect(within(google).getByText(/calendar.readonly/)).toBeInTheDocument();
    expect(within(google).getByText(/4 items/)).toBeInTheDocument();
    const gusto = screen.getByRole("region", { name: "Gusto" });
    expect(within(gusto).getByRole("button", { name: "Connect Gusto" })).toBeInTheDocument();
    const stripe = screen.getByRole("region", { name: "Stripe" });
    expect(within(stripe).getByText("Not available")).toBeInTheDocument();
    expect(within(stripe).queryByRole("button")).not.toBeInTheDocument();
  });

  it("sends the browser to the provider to connect", async () => {
    const assign = vi.fn();
    vi.stubGlobal("location", { ...window.location, assign });
    const calls = mockApi(
      route("GET", "/api/v1/integrations", () => json({ items: items(false) })),
      route("POST", "/api/v1/integrations/gusto/connect", () =>
        json({
          authorization_url: "https://gusto.example/oauth/authorize?state=s",
          expires_at: "2026-11-30T10:10:00Z",
        }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<IntegrationsPage />);

    await user.click(await screen.findByRole("button", { name: "Connect Gusto" }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith("https://gusto.example/oauth/authorize?state=s"));
    expect(calls.some((call) => call.method === "POST" && call.path.endsWith("/gusto/connect"))).toBe(true);
  });

  it("queues a sync", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/integrations", () => json({ items: items() })),
      route("POST", "/api/v1/integrations/google/sync", () =>
        json({ provider: "google", sync_status: "pending" }, 202),
      ),
    );
    const user = userEvent.setup();
    renderPage(<IntegrationsPage />);

    await user.click(await screen.findByRole("button", { name: "Sync now" }));
    expect(await screen.findByText("Google: import queued.")).toBeInTheDocument();
    expect(calls.filter((call) => call.path === "/api/v1/integrations/google/sync")).toHaveLength(1);
  });

  it("disconnects only after confirmation", async () => {
    let connected = true;
    const calls = mockApi(
      route("GET", "/api/v1/integrations", () => json({ items: items(connected) })),
      route("DELETE", "/api/v1/integrations/google", () => {
        connected = false;
        return json({ provider: "google", revoked_at_provider: false });
      }),
    );
    const user = userEvent.setup();
    renderPage(<IntegrationsPage />);

    await user.click(await screen.findByRole("button", { name: "Disconnect Google" }));
    const dialog = await screen.findByRole("dialog", { name: "Disconnect Google?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(calls.some((call) => call.method === "DELETE")).toBe(false);

    await user.click(screen.getByRole("button", { name: "Disconnect Google" }));
    await user.click(
      within(await screen.findByRole("dialog", { name: "Disconnect Google?" })).getByRole("button", {
        name: "Disconnect Google",
      }),
    );
    expect(await screen.findByText(/could not be told/)).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Connect Google" })).toBeInTheDocument();
  });

  it("shows the outcome of the provider's redirect", async () => {
    mockApi(route("GET", "/api/v1/integrations", () => json({ items: items() })));
    renderPage(<IntegrationsPage />, { at: "/?provider=google&connected=1" });
    const title = await screen.findByText("Google is connected");
    expect(title.closest("[role=status]")).not.toBeNull();
    await userEvent.setup().click(screen.getByRole("button", { name: "Dismiss" }));
    await waitFor(() => expect(screen.queryByText("Google is connected")).not.toBeInTheDocument());
  });

  it("explains an error of the provider's redirect", async () => {
    mockApi(route("GET", "/api/v1/integrations", () => json({ items: items(false) })));
    renderPage(<IntegrationsPage />, { at: "/?provider=gusto&error=expired_state" });
    const alert = await screen.findByRole("alert");
    expect(within(alert).getByText("Gusto was not connected")).toBeInTheDocument();
    expect(within(alert).getByText(/took too long/)).toBeInTheDocument();
  });

  it("shows a load error with a retry", async () => {
    let fail = true;
    mockApi(
      route("GET", "/api/v1/integrations", () =>
        fail
          ? json({ type: "about:blank", title: "Unavailable", status: 503, detail: "Try later" }, 503)
          : json({ items: items() }),
      ),
    );
    const user = userEvent.setup();
    renderPage(<IntegrationsPage />);
    expect(await screen.findByText("Integrations could not be loaded")).toBeInTheDocument();
    fail = false;
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("region", { name: "Google" })).toBeInTheDocument();
  });
});
