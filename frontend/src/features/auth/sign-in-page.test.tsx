import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { SignInPage } from "./sign-in-page";
import { aUser } from "@/test/fixtures";

afterEach(() => vi.unstubAllGlobals());

const me = aUser({ mfa_enabled: true });
const notSignedIn = { type: "urn:opmaestro:problem:not-authenticated", title: "Not authenticated", status: 401 };

describe("SignInPage", () => {
  it("asks for the authentication code when the API needs it, then goes to next", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/login", (call) =>
        (call.body as { otp?: string | null }).otp
          ? json({ user: me, csrf_token: "csrf", session_expires_at: "2030-01-01T00:00:00Z" })
          : json(
              {
                type: "urn:opmaestro:problem:mfa-required",
                title: "Two-factor code required",
                status: 401,
                detail: "Enter the code from your authenticator app.",
              },
              401,
            ),
      ),
    );
    renderPage(<SignInPage />, { path: "/sign-in", at: "/sign-in?next=%2Fsecurity" });
    const user = userEvent.setup();
    await fillIn(await screen.findByLabelText(/^Email/), "ada@example.com");
    await fillIn(screen.getByLabelText(/^Password/), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    const code = await screen.findByLabelText(/^Authentication code/);
    await fillIn(code, "123 456");
    await user.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByText("elsewhere")).toBeInTheDocument();
    const logins = calls.filter((call) => call.path === "/api/v1/auth/login").map((call) => call.body);
    expect(logins).toEqual([
      { email: "ada@example.com", password: "correct horse battery", otp: null },
      { email: "ada@example.com", password: "correct horse battery", otp: "123456" },
    ]);
  });

  it("shows the problem detail when the credentials are wrong", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/login", () =>
        json(
          {
            type: "urn:opmaestro:problem:invalid-credentials",
            title: "Invalid credentials",
            status: 401,
            detail: "The email address or password is not correct.",
            request_id: "req-7",
          },
          401,
        ),
      ),
    );
    renderPage(<SignInPage />, { path: "/sign-in", at: "/sign-in" });
    const user = userEvent.setup();
    await fillIn(await screen.findByLabelText(/^Email/), "ada@example.com");
    await fillIn(screen.getByLabelText(/^Password/), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() =>
      expect(screen.getByText("The email address or password is not correct. (request id req-7)")).toBeInTheDocument(),
    );
  });
});
