import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { PrivacyRequestVerifyPage } from "./privacy-request-verify-page";
import { json, mockApi, renderPage, route } from "@/test/render";

afterEach(() => vi.unstubAllGlobals());

const PATH = "/privacy-request/verify";
const USED = {
  type: "x/verification-link-invalid",
  title: "Invalid link",
  status: 403,
  detail: "This link is not valid, or was already used.",
};

describe("PrivacyRequestVerifyPage", () => {
  it("confirms nothing on load; the button posts the token, once", async () => {
    const user = userEvent.setup();
    const calls = mockApi(
      route("POST", "/api/v1/data-requests/verify", () =>
        json({ status: "accepted", detail: "Your request is confirmed; we will answer by email before the due date." }),
      ),
    );
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: `${PATH}?token=abc.def` });

    expect(screen.getByRole("heading", { level: 1, name: "Confirm your request" })).toBeInTheDocument();
    expect(screen.getByText(/If you did not ask for this, close this page/)).toBeInTheDocument();
    const confirm = screen.getByRole("button", { name: "Confirm this request" });
    // A scanner that opens the link and runs its scripts confirms nothing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toHaveLength(0);

    await user.click(confirm);
    expect(await screen.findByRole("heading", { level: 1, name: "Request confirmed" })).toBeInTheDocument();
    expect(screen.getByText(/we will answer by email before the due date/)).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ token: "abc.def" });
  });

  it("says neutrally when the link was already used or expired (a reload after confirming)", async () => {
    const user = userEvent.setup();
    mockApi(route("POST", "/api/v1/data-requests/verify", () => json(USED, 403)));
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: `${PATH}?token=used` });

    await user.click(screen.getByRole("button", { name: "Confirm this request" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Link already used or expired" })).toBeInTheDocument();
    expect(screen.getByText(/This link was already used or is no longer valid/)).toBeInTheDocument();
    expect(screen.queryByText("Confirmation failed")).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Make a new privacy request" })).toHaveAttribute(
      "href",
      "/privacy-request",
    );
  });

  it("says when confirming failed for another reason, and lets the person try again", async () => {
    const user = userEvent.setup();
    const calls = mockApi(
      route("POST", "/api/v1/data-requests/verify", () =>
        json({ type: "x/too-many-requests", title: "Too many requests", status: 429, detail: "Slow down." }, 429),
      ),
    );
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: `${PATH}?token=abc` });

    await user.click(screen.getByRole("button", { name: "Confirm this request" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Confirmation failed" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Try again" }));
    await vi.waitFor(() => expect(calls).toHaveLength(2));
  });

  it("calls nothing without a token", () => {
    const calls = mockApi();
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: PATH });
    expect(screen.getByText("This link is incomplete")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Confirm this request" })).not.toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});
