import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { UnsubscribePage } from "./unsubscribe-page";
import { json, mockApi, renderPage, route } from "@/test/render";

const TOKEN = "1.AAECAwQFBgcICQoLDA0ODw.marketing_email.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const LINK = `/api/v1/unsubscribe/${TOKEN}`;
const purposes = [
  {
    key: "marketing_email",
    name: "Marketing email",
    description: "News.",
    legal_basis: "consent",
    optional: true,
    version: 1,
  },
];

afterEach(() => vi.unstubAllGlobals());

function renderAt(token = TOKEN) {
  return renderPage(<UnsubscribePage />, { path: "/unsubscribe/:token", at: `/unsubscribe/${token}` });
}

describe("UnsubscribePage", () => {
  it("describes the link on load and unsubscribes only when the button is pressed", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/consent/purposes", () => json(purposes)),
      route("GET", LINK, () => json({ purpose: "marketing_email", address: "a***@example.com", subscribed: true })),
      route("POST", LINK, () => json({ purpose: "marketing_email", status: "unsubscribed" })),
    );
    const user = userEvent.setup();
    renderAt();

    expect(screen.getByRole("heading", { level: 1, name: "Unsubscribe" })).toBeInTheDocument();
    expect(await screen.findByText(/Unsubscribe a\*\*\*@example\.com from Marketing email\?/)).toBeInTheDocument();
    expect(calls.filter((call) => call.method !== "GET")).toEqual([]);

    await user.click(screen.getByRole("button", { name: "Unsubscribe" }));

    const done = await screen.findByText(
      "You are unsubscribed from Marketing email. Service emails about your account will still reach you.",
    );
    expect(done).toHaveFocus();
    expect(screen.getByRole("status")).toContainElement(done);
    expect(calls.filter((call) => call.method === "POST").map((call) => call.path)).toEqual([LINK]);
    expect(screen.queryByRole("button", { name: "Unsubscribe" })).not.toBeInTheDocument();
  });

  it("explains an invalid link and offers no button", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/consent/purposes", () => json(purposes)),
      route("GET", "/api/v1/unsubscribe/1.forged.marketing_email.bad", () =>
        json(
          {
            type: "urn:opmaestro:problem:invalid-unsubscribe-link",
            title: "Invalid unsubscribe link",
            status: 400,
            detail: "This unsubscribe link is not valid; use the one from the email.",
          },
          400,
        ),
      ),
    );
    renderAt("1.forged.marketing_email.bad");

    expect(await screen.findByText("This unsubscribe link does not work")).toBeInTheDocument();
    expect(screen.getByText("This unsubscribe link is not valid; use the one from the email.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Unsubscribe" })).not.toBeInTheDocument();
    await waitFor(() => expect(calls.every((call) => call.method === "GET")).toBe(true));
  });

  it("says so when the address is already unsubscribed", async () => {
    mockApi(
      route("GET", "/api/v1/consent/purposes", () => json(purposes)),
      route("GET", LINK, () => json({ purpose: "marketing_email", address: "a***@example.com", subscribed: false })),
    );
    renderAt();
    expect(await screen.findByText(/a\*\*\*@example\.com is not subscribed to Marketing email/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Unsubscribe" })).not.toBeInTheDocument();
  });
});
