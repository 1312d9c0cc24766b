import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { NEUTRAL_CONFIRMATION, PrivacyRequestPage } from "./privacy-request-page";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";

afterEach(() => vi.unstubAllGlobals());

const accepted = { status: "accepted", detail: "If the address can receive mail, a link is on its way." };

async function send(email: string) {
  const user = userEvent.setup();
  await fillIn(screen.getByRole("textbox", { name: /^Email/ }), email);
  await user.click(screen.getByRole("button", { name: "Send request" }));
}

describe("PrivacyRequestPage", () => {
  it("shows the same neutral confirmation for any address", async () => {
    const calls = mockApi(route("POST", "/api/v1/data-requests", () => json(accepted, 202)));
    const first = renderPage(<PrivacyRequestPage />);
    await send("member@example.com");
    expect(await screen.findByRole("heading", { level: 1, name: "Check your inbox" })).toBeInTheDocument();
    const known = screen.getByRole("status").textContent;
    first.unmount();

    renderPage(<PrivacyRequestPage />);
    await send("nobody@example.com");
    expect(await screen.findByRole("heading", { level: 1, name: "Check your inbox" })).toBeInTheDocument();
    expect(screen.getByRole("status").textContent).toBe(known);
    expect(known).toContain(NEUTRAL_CONFIRMATION);
    expect(calls.map((call) => (call.body as { email: string }).email)).toEqual([
      "member@example.com",
      "nobody@example.com",
    ]);
  });

  it("sends the kind, details, fields, country and US state", async () => {
    const calls = mockApi(route("POST", "/api/v1/data-requests", () => json(accepted, 202)));
    const user = userEvent.setup();
    renderPage(<PrivacyRequestPage />);

    await user.click(screen.getByRole("radio", { name: /A correction/ }));
    await user.click(screen.getByRole("button", { name: "Send request" }));
    expect(screen.getByText("Choose at least one kind of data.")).toBeInTheDocument();
    expect(screen.getByText("Say what is wrong and what it should be.")).toBeInTheDocument();
    expect(calls).toHaveLength(0);

    await fillIn(screen.getByRole("textbox", { name: /^Email/ }), "pat@example.com");
    await user.click(screen.getByRole("checkbox", { name: "Phone number" }));
    await fillIn(screen.getByLabelText(/^Details/), "My phone number has a digit wrong.");
    await user.selectOptions(screen.getByRole("combobox", { name: /^Country/ }), "US");
    await fillIn(await screen.findByLabelText(/^US state/), "ca");
    await user.click(screen.getByRole("button", { name: "Send request" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Check your inbox" })).toBeInTheDocument();
    expect(calls[0]?.body).toEqual({
      email: "pat@example.com",
      kind: "correction",
      details: "My phone number has a digit wrong.",
      fields: ["phone"],
      country: "US",
      us_state: "CA",
    });
  });

  it("puts the API's field errors on the form instead of confirming", async () => {
    mockApi(
      route("POST", "/api/v1/data-requests", () =>
        json(
          {
            type: "about:blank",
            title: "Validation failed",
            status: 422,
            errors: [{ location: "body", field: "email", message: "Not a deliverable address.", code: "value_error" }],
          },
          422,
        ),
      ),
    );
    renderPage(<PrivacyRequestPage />);
    await send("pat@example.invalid");
    expect(await screen.findByText("Not a deliverable address.")).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Check your inbox" })).not.toBeInTheDocument();
    expect(within(screen.getByRole("form", { name: "Privacy request" })).getByLabelText(/^Email/)).toHaveAttribute(
      "aria-invalid",
      "true",
    );
  });
});
