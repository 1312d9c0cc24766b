import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { ForgotPasswordPage } from "./forgot-password-page";

afterEach(() => vi.unstubAllGlobals());

async function ask(email: string) {
  renderPage(<ForgotPasswordPage />, { path: "/forgot-password", at: "/forgot-password" });
  const user = userEvent.setup();
  await fillIn(await screen.findByLabelText(/^Email/), email);
  await user.click(screen.getByRole("button", { name: "Send reset link" }));
}

describe("ForgotPasswordPage", () => {
  it("sends the trimmed address and says the same thing whether or not it has an account", async () => {
    const calls = mockApi(
      route("POST", "/api/v1/auth/password/forgot", () =>
        json({ detail: "If an account uses this address, a reset link is on its way." }, 202),
      ),
    );
    await ask("  ada@example.com ");

    expect(await screen.findByRole("heading", { name: "Check your email" })).toBeInTheDocument();
    expect(screen.getByText("If an account uses this address, a reset link is on its way.")).toBeInTheDocument();
    expect(calls.map((call) => call.body)).toEqual([{ email: "ada@example.com" }]);
  });

  it("keeps the form and says when to try again when too many links were asked for", async () => {
    mockApi(
      route("POST", "/api/v1/auth/password/forgot", () =>
        json(
          {
            type: "urn:opmaestro:problem:too-many-attempts",
            title: "Too many attempts",
            status: 429,
            detail: "Too many emails were asked for from here or for this address; try again in 12 minutes.",
            request_id: "req-9",
          },
          429,
        ),
      ),
    );
    await ask("ada@example.com");

    expect(
      await screen.findByText(
        "Too many emails were asked for from here or for this address; try again in 12 minutes. (request id req-9)",
      ),
    ).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send reset link" })).toBeEnabled();
    expect(screen.queryByRole("heading", { name: "Check your email" })).not.toBeInTheDocument();
  });
});
