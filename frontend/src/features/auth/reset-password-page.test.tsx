import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { ResetPasswordPage } from "./reset-password-page";

afterEach(() => vi.unstubAllGlobals());

const malformed = {
  type: "urn:opmaestro:problem:validation",
  title: "Validation failed",
  status: 422,
  detail: "Some fields are missing or invalid.",
  errors: [{ location: "body", field: "token", message: "String should have at least 10 characters", code: "x" }],
};

describe("ResetPasswordPage", () => {
  it("says a cut-short link is invalid or expired and offers a new one", async () => {
    mockApi(route("POST", "/api/v1/auth/password/reset", () => json(malformed, 422)));
    renderPage(<ResetPasswordPage />, { path: "/reset-password", at: "/reset-password?token=bogus" });
    const user = userEvent.setup();

    await fillIn(screen.getByLabelText(/^New password/), "violet kettle orbit tundra");
    await user.click(screen.getByRole("button", { name: "Set password" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("This link is invalid or has expired");
    expect(screen.queryByText(/Validation failed/)).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Ask for a new link" })).toBeInTheDocument();
  });
});
