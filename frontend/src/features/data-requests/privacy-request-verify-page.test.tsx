import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { PrivacyRequestVerifyPage } from "./privacy-request-verify-page";
import { json, mockApi, renderPage, route } from "@/test/render";

afterEach(() => vi.unstubAllGlobals());

const PATH = "/privacy-request/verify";

describe("PrivacyRequestVerifyPage", () => {
  it("confirms the request with the token, once", async () => {
    const calls = mockApi(
      route("POST", "/api/v1/data-requests/verify", () =>
        json({ status: "accepted", detail: "Your request is confirmed; we will answer by email before the due date." }),
      ),
    );
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: `${PATH}?token=abc.def` });

    expect(screen.getByRole("heading", { level: 1, name: "Confirm your request" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { level: 1, name: "Request confirmed" })).toBeInTheDocument();
    expect(screen.getByText(/we will answer by email before the due date/)).toBeInTheDocument();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toEqual({ token: "abc.def" });
  });

  it("says when the link is invalid or used", async () => {
    mockApi(
      route("POST", "/api/v1/data-requests/verify", () =>
        json(
          {
            type: "x/verification-link-invalid",
            title: "Invalid link",
            status: 403,
            detail: "This link is invalid, used or expired.",
          },
          403,
        ),
      ),
    );
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: `${PATH}?token=used` });
    expect(await screen.findByRole("heading", { level: 1, name: "Confirmation failed" })).toBeInTheDocument();
    expect(screen.getByText("This link is invalid, used or expired.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Make a new privacy request" })).toHaveAttribute(
      "href",
      "/privacy-request",
    );
  });

  it("calls nothing without a token", () => {
    const calls = mockApi();
    renderPage(<PrivacyRequestVerifyPage />, { path: PATH, at: PATH });
    expect(screen.getByText("This link is incomplete")).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });
});
