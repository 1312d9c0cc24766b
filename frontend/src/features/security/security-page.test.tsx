import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { SecurityPage } from "./security-page";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { aUser } from "@/test/fixtures";

const me = aUser();
const scopes = [
  { name: "profile:read", description: "Read your profile", clients_only: false },
  { name: "profile:write", description: "Change your profile", clients_only: false },
  { name: "admin:users:read", description: "Staff: search users", clients_only: false },
  { name: "consents:read", description: "Clients: read people's consents", clients_only: true },
];
const thisBrowser = {
  id: "0b6f4f57-2f4e-4a55-b0f0-1d1e2f3a4b5c",
  created_at: "2025-03-01T10:00:00Z",
  last_seen_at: "2025-03-02T10:00:00Z",
  expires_at: "2025-03-31T10:00:00Z",
  ip_address: "127.0.0.1",
  user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
  current: true,
};
const SECRET = "opm_pat_Zm9yIHlvdXIgZXllcyBvbmx5";
const created = {
  id: "5a2c1e0f-9b8d-4c7e-a6f5-e4d3c2b1a090",
  name: "Reporting script",
  hint: "opm_pat_Zm9…",
  scopes: ["profile:read"],
  created_at: "2025-03-02T10:00:00Z",
  expires_at: "2025-04-01T10:00:00Z",
  last_used_at: null,
};

const REAUTHENTICATION_REQUIRED = {
  type: "https://opmaestro.example/problems/reauthentication-required",
  title: "Re-authentication required",
  status: 403,
  detail: "Enter your password (or a two-factor code) again; it was not entered in the last 10 minutes.",
};
const WRONG_PASSWORD = {
  type: "https://opmaestro.example/problems/wrong-password",
  title: "Wrong password",
  status: 403,
  detail: "The password is not correct.",
};

afterEach(() => vi.unstubAllGlobals());

function apiWithTokens() {
  let tokens: (typeof created)[] = [];
  const calls = mockApi(
    route("GET", "/api/v1/me", () => json(me)),
    route("GET", "/api/v1/scopes", () => json(scopes)),
    route("GET", "/api/v1/me/sessions", () => json({ items: [thisBrowser], next_cursor: null })),
    route("GET", "/api/v1/me/tokens", () => json({ items: tokens, next_cursor: null })),
    route("POST", "/api/v1/me/tokens", () => {
      tokens = [created];
      return json({ ...created, token: SECRET }, 201);
    }),
  );
  return calls;
}

describe("SecurityPage API tokens", () => {
  it("shows a new token's secret once, then never again", async () => {
    const calls = apiWithTokens();
    const user = userEvent.setup();
    renderPage(<SecurityPage />);

    expect(await screen.findByText("You have no API tokens.")).toBeInTheDocument();
    await fillIn(screen.getByLabelText(/Token name/), "Reporting script");
    await user.click(await screen.findByLabelText("Read your profile (profile:read)"));
    expect(screen.queryByLabelText(/admin:users:read/)).not.toBeInTheDocument();
    expect(screen.queryByLabelText(/consents:read/)).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create token" }));

    const secret = await screen.findByLabelText("Your new token");
    expect(secret).toHaveValue(SECRET);
    expect(screen.getByText(/You won’t see it again/)).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      name: "Reporting script",
      scopes: ["profile:read"],
      expires_in_days: 90,
    });
    const table = await screen.findByRole("table", { name: "API tokens" });
    expect(within(table).getByText("Reporting script")).toBeInTheDocument();
    expect(within(table).queryByText(SECRET)).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument());
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("asks for the password when the sign-in is too old, then creates the token", async () => {
    let tokens: (typeof created)[] = [];
    let attempts = 0;
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(aUser({ mfa_enabled: true }))),
      route("GET", "/api/v1/scopes", () => json(scopes)),
      route("GET", "/api/v1/me/sessions", () => json({ items: [thisBrowser], next_cursor: null })),
      route("GET", "/api/v1/me/tokens", () => json({ items: tokens, next_cursor: null })),
      route("POST", "/api/v1/me/tokens", () => {
        attempts += 1;
        if (attempts === 1) return json(REAUTHENTICATION_REQUIRED, 403);
        tokens = [created];
        return json({ ...created, token: SECRET }, 201);
      }),
      route("POST", "/api/v1/me/reauthenticate", () => new Response(null, { status: 204 })),
    );
    const user = userEvent.setup();
    renderPage(<SecurityPage />);

    expect(await screen.findByText("You have no API tokens.")).toBeInTheDocument();
    await fillIn(screen.getByLabelText(/Token name/), "Reporting script");
    await user.click(await screen.findByLabelText("Read your profile (profile:read)"));
    await user.click(screen.getByRole("button", { name: "Create token" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    await user.click(within(dialog).getByRole("button", { name: "Use a two-factor code instead" }));
    await fillIn(within(dialog).getByLabelText(/^Two-factor code/), "123456");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));

    expect(await screen.findByLabelText("Your new token")).toHaveValue(SECRET);
    const posts = calls.filter((call) => call.method === "POST").map((call) => [call.path, call.body]);
    const body = { name: "Reporting script", scopes: ["profile:read"], expires_in_days: 90 };
    expect(posts).toEqual([
      ["/api/v1/me/tokens", body],
      ["/api/v1/me/reauthenticate", { code: "123456" }],
      ["/api/v1/me/tokens", body],
    ]);
  });

  it("marks this browser and offers no revoke for it", async () => {
    apiWithTokens();
    renderPage(<SecurityPage />);
    const sessions = await screen.findByRole("table", { name: "Sessions" });
    expect(await within(sessions).findByText("This device")).toBeInTheDocument();
    expect(within(sessions).getByText("Chrome on Linux")).toBeInTheDocument();
    expect(within(sessions).queryByRole("button", { name: "Revoke" })).not.toBeInTheDocument();
  });
});

describe("SecurityPage two-factor", () => {
  function apiFor(user: ReturnType<typeof aUser>, ...extra: Parameters<typeof mockApi>) {
    return mockApi(
      ...extra,
      route("GET", "/api/v1/me", () => json(user)),
      route("GET", "/api/v1/scopes", () => json(scopes)),
      route("GET", "/api/v1/me/sessions", () => json({ items: [thisBrowser], next_cursor: null })),
      route("GET", "/api/v1/me/tokens", () => json({ items: [], next_cursor: null })),
    );
  }

  it("lets a member turn it on with a QR code and shows the recovery codes once", async () => {
    const calls = apiFor(
      aUser(),
      route("POST", "/api/v1/me/mfa/totp", () =>
        json({
          secret: "JBSWY3DPEHPK3PXP",
          otpauth_uri: "otpauth://totp/OpMaestro:ada%40example.com?secret=JBSWY3DPEHPK3PXP",
        }),
      ),
      route("POST", "/api/v1/me/mfa/totp/confirm", () => json({ recovery_codes: ["aaaa1111-bbbb2222"] })),
    );
    renderPage(<SecurityPage />);
    const user = userEvent.setup();

    await user.click(await screen.findByRole("button", { name: "Set up two-factor" }));
    expect(await screen.findByRole("img", { name: "QR code of the two-factor setup link" })).toBeInTheDocument();
    expect(screen.getByTestId("totp-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    await fillIn(screen.getByLabelText(/^Authentication code/), "123456");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor" }));

    const codes = await screen.findByRole("list", { name: "Recovery codes" });
    expect(within(codes).getByText("aaaa1111-bbbb2222")).toBeInTheDocument();
    expect(calls.find((call) => call.path === "/api/v1/me/mfa/totp/confirm")?.body).toEqual({ code: "123456" });
  });

  it("asks for the password when the sign-in is too old, then sets it up and turns it on", async () => {
    let starts = 0;
    let confirms = 0;
    const calls = apiFor(
      aUser(),
      route("POST", "/api/v1/me/mfa/totp", () => {
        starts += 1;
        return starts === 1
          ? json(REAUTHENTICATION_REQUIRED, 403)
          : json({
              secret: "JBSWY3DPEHPK3PXP",
              otpauth_uri: "otpauth://totp/OpMaestro:ada%40example.com?secret=JBSWY3DPEHPK3PXP",
            });
      }),
      route("POST", "/api/v1/me/mfa/totp/confirm", () => {
        confirms += 1;
        return confirms === 1 ? json(REAUTHENTICATION_REQUIRED, 403) : json({ recovery_codes: ["aaaa1111-bbbb2222"] });
      }),
      route("POST", "/api/v1/me/reauthenticate", (call) =>
        (call.body as { password?: string }).password === "correct horse battery"
          ? new Response(null, { status: 204 })
          : json(WRONG_PASSWORD, 403),
      ),
    );
    renderPage(<SecurityPage />);
    const user = userEvent.setup();

    await user.click(await screen.findByRole("button", { name: "Set up two-factor" }));
    let dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    expect(within(dialog).queryByRole("button", { name: "Use a two-factor code instead" })).not.toBeInTheDocument();
    await fillIn(within(dialog).getByLabelText(/^Password/), "wrong one");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    expect(await within(dialog).findByText("The password is not correct.")).toBeInTheDocument();
    await fillIn(within(dialog).getByLabelText(/^Password/), "correct horse battery");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    expect(await screen.findByTestId("totp-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());

    await fillIn(screen.getByLabelText(/^Authentication code/), "123456");
    await user.click(screen.getByRole("button", { name: "Turn on two-factor" }));
    dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    await fillIn(within(dialog).getByLabelText(/^Password/), "correct horse battery");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));

    const codes = await screen.findByRole("list", { name: "Recovery codes" });
    expect(within(codes).getByText("aaaa1111-bbbb2222")).toBeInTheDocument();
    const confirmed = calls.filter((call) => call.path === "/api/v1/me/mfa/totp/confirm").map((call) => call.body);
    expect(confirmed).toEqual([{ code: "123456" }, { code: "123456" }]);
  });

  it("lets a member turn it off with the password and a code, and says a wrong password where it belongs", async () => {
    let attempts = 0;
    const calls = apiFor(
      aUser({ mfa_enabled: true }),
      route("DELETE", "/api/v1/me/mfa/totp", () => {
        attempts += 1;
        return attempts === 1
          ? json(
              {
                type: "urn:opmaestro:problem:wrong-password",
                title: "Wrong password",
                status: 403,
                detail: "The password is not correct.",
              },
              403,
            )
          : new Response(null, { status: 204 });
      }),
    );
    renderPage(<SecurityPage />);
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Turn off two-factor" });

    await fillIn(within(form).getByLabelText(/^Password/), "wrong one");
    await fillIn(within(form).getByLabelText(/^Code/), " 654321 ");
    await user.click(within(form).getByRole("button", { name: "Turn off two-factor" }));
    expect(await within(form).findByText("The password is not correct.")).toBeInTheDocument();

    await fillIn(within(form).getByLabelText(/^Password/), "correct horse battery");
    await user.click(within(form).getByRole("button", { name: "Turn off two-factor" }));

    expect(await screen.findByText("Two-factor authentication is off.")).toBeInTheDocument();
    const bodies = calls.filter((call) => call.method === "DELETE").map((call) => call.body);
    expect(bodies).toEqual([
      { password: "wrong one", code: "654321" },
      { password: "correct horse battery", code: "654321" },
    ]);
  });

  it("offers staff no way to turn it off", async () => {
    apiFor(aUser({ role: "support", mfa_enabled: true }));
    renderPage(<SecurityPage />);

    expect(await screen.findByText("Staff accounts keep it on.")).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Turn off two-factor" })).not.toBeInTheDocument();
  });
});
