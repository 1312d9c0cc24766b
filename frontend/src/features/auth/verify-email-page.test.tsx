import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { aUser } from "@/test/fixtures";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { VerifyEmailPage } from "./verify-email-page";

afterEach(() => vi.unstubAllGlobals());

const notSignedIn = { type: "urn:opmaestro:problem:not-authenticated", title: "Not authenticated", status: 401 };
const expired = {
  type: "urn:opmaestro:problem:invalid-token",
  title: "Invalid or expired link",
  status: 400,
  detail: "This link is invalid or has expired.",
};
const sent = { detail: "If the address needs verifying, a new link is on its way." };

describe("VerifyEmailPage", () => {
  it("posts the token once and says the address is verified", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/verify-email", () => json(aUser())),
    );
    renderPage(<VerifyEmailPage />, { path: "/verify-email", at: "/verify-email?token=abc" });

    expect(await screen.findByRole("heading", { name: "Email verified" })).toBeInTheDocument();
    expect(calls.filter((call) => call.path === "/api/v1/auth/verify-email").map((call) => call.body)).toEqual([
      { token: "abc" },
    ]);
  });

  it("offers a new link for a typed address when the link has expired", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/verify-email", () => json(expired, 400)),
      route("POST", "/api/v1/auth/verify-email/resend", () => json(sent, 202)),
    );
    renderPage(<VerifyEmailPage />, { path: "/verify-email", at: "/verify-email?token=old" });
    const user = userEvent.setup();

    expect(await screen.findByRole("heading", { name: "Verification failed" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Send a new link" }));
    expect(await screen.findByText("Enter your email address.")).toBeInTheDocument();
    await fillIn(screen.getByLabelText(/^Email/), " ada@example.com ");
    await user.click(screen.getByRole("button", { name: "Send a new link" }));

    expect(await screen.findByRole("status")).toHaveTextContent(sent.detail);
    const resent = calls.filter((call) => call.path === "/api/v1/auth/verify-email/resend");
    expect(resent.map((call) => call.body)).toEqual([{ email: "ada@example.com" }]);
  });

  it("says a cut-short link is invalid or expired, not that fields are missing, and offers a new one", async () => {
    // What the API answers for /verify-email?token=bogus: the token is not even the shape of one.
    const malformed = {
      type: "urn:opmaestro:problem:validation",
      title: "Validation failed",
      status: 422,
      detail: "Some fields are missing or invalid.",
      errors: [
        {
          location: "body",
          field: "token",
          message: "String should have at least 10 characters",
          code: "string_too_short",
        },
      ],
    };
    mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/verify-email", () => json(malformed, 422)),
    );
    renderPage(<VerifyEmailPage />, { path: "/verify-email", at: "/verify-email?token=bogus" });

    expect(await screen.findByRole("heading", { name: "Verification failed" })).toBeInTheDocument();
    expect(screen.getByText("This link is invalid or has expired")).toBeInTheDocument();
    expect(screen.queryByText(/Validation failed/)).not.toBeInTheDocument();
    expect(screen.queryByText(/Some fields are missing/)).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send a new link" })).toBeInTheDocument();
  });

  it("says an expired link is invalid or expired", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("POST", "/api/v1/auth/verify-email", () => json(expired, 403)),
    );
    renderPage(<VerifyEmailPage />, { path: "/verify-email", at: "/verify-email?token=0123456789abcdef" });

    expect(await screen.findByText("This link is invalid or has expired")).toBeInTheDocument();
  });

  it("sends the new link to the signed-in user's address without asking for it", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(aUser({ email_verified: false }))),
      route("POST", "/api/v1/auth/verify-email", () => json(expired, 400)),
      route("POST", "/api/v1/auth/verify-email/resend", () => json(sent, 202)),
    );
    renderPage(<VerifyEmailPage />, { path: "/verify-email", at: "/verify-email?token=old" });
    const user = userEvent.setup();

    await user.click(await screen.findByRole("button", { name: "Send a new link" }));

    expect(await screen.findByRole("status")).toHaveTextContent(sent.detail);
    expect(screen.queryByLabelText(/^Email/)).not.toBeInTheDocument();
    const resent = calls.filter((call) => call.path === "/api/v1/auth/verify-email/resend");
    expect(resent.map((call) => call.body)).toEqual([{ email: "ada@example.com" }]);
  });
});
