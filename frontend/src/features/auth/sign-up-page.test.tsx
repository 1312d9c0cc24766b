import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fillIn } from "@/test/fill-in";
import { json, type MockCall, mockApi, renderPage, route } from "@/test/render";
import { SignUpPage } from "./sign-up-page";

afterEach(() => vi.unstubAllGlobals());

const policy = (kind: string, version: string, title: string) =>
  route("GET", `/api/v1/policies/${kind}`, () =>
    json({ kind, version, title, body: `${title} text`, sha256: "0".repeat(64), effective_at: "2025-01-01T00:00:00Z" }),
  );
const POLICIES = [
  policy("terms", "2025-01", "Terms of Service"),
  policy("privacy", "2025-02", "Privacy Policy"),
  policy("us_transfer_notice", "1", "US Data Transfer Notice"),
];

async function fillInTheForm() {
  const user = userEvent.setup();
  await fillIn(screen.getByLabelText(/^Full name/), "Ada Lovelace");
  await fillIn(screen.getByLabelText(/^Email/), "ada@example.com");
  await fillIn(screen.getByLabelText(/^Password/), "a long enough passphrase");
  await fillIn(screen.getByLabelText(/^Company/), "Analytical Engines");
  await user.selectOptions(screen.getByLabelText(/^Country/), "United Kingdom");
  await fillIn(screen.getByLabelText(/^Phone/), "12");
  await user.click(screen.getByLabelText(/^I am 18 or older/));
  await user.click(screen.getByLabelText(/^I accept the terms of service and the privacy policy/));
  await user.click(screen.getByLabelText(/^I have read the notice on data processing in the United States/));
  await waitFor(() => expect(screen.getByRole("button", { name: "Create account" })).toBeEnabled());
  return user;
}

describe("SignUpPage", () => {
  it("shows the API's field errors inline, next to their inputs", async () => {
    mockApi(
      ...POLICIES,
      route("POST", "/api/v1/auth/register", () =>
        json(
          {
            type: "urn:opmaestro:problem:validation",
            title: "Validation failed",
            status: 422,
            detail: "Some fields are missing or invalid.",
            request_id: "req-1",
            errors: [
              {
                location: "body",
                field: "phone",
                message: "Value error, This phone number is not valid; include the country code, such as +1.",
                code: "value_error",
              },
              {
                location: "body",
                field: "password",
                message: "Value error, This password is too common.",
                code: "value_error",
              },
              { location: "body", field: "accepted_terms_version", message: "Policy changed", code: "value_error" },
            ],
          },
          422,
        ),
      ),
    );
    renderPage(<SignUpPage />);
    await screen.findByText(/Read the Terms of Service \(version 2025-01\)/);
    const user = await fillInTheForm();
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const phone = screen.getByLabelText(/^Phone/);
    await waitFor(() => expect(phone).toHaveAttribute("aria-invalid", "true"));
    expect(phone).toHaveAccessibleDescription(expect.stringContaining("This phone number is not valid"));
    expect(screen.getByText("This password is too common.")).toBeInTheDocument();
    expect(screen.getByLabelText(/^Password/)).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(/^I accept the terms/)).toHaveAccessibleDescription("Policy changed");
    expect(screen.getByLabelText(/^Full name/)).not.toHaveAttribute("aria-invalid", "true");
  });

  it("sends every field with the policy versions in effect, then asks to check the email", async () => {
    const calls: MockCall[] = mockApi(
      ...POLICIES,
      route("POST", "/api/v1/auth/register", () =>
        json(
          {
            status: "verification_sent",
            detail: "If the address can be used, a verification link is on its way to it.",
          },
          202,
        ),
      ),
    );
    renderPage(<SignUpPage />);
    await screen.findByText(/Read the US Data Transfer Notice \(version 1\)/);
    const user = await fillInTheForm();
    await user.click(screen.getByRole("button", { name: "Create account" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Check your email" })).toBeInTheDocument();
    const sent = calls.find((call) => call.method === "POST")?.body;
    expect(sent).toEqual({
      name: "Ada Lovelace",
      email: "ada@example.com",
      password: "a long enough passphrase",
      company: "Analytical Engines",
      job_title: null,
      phone: "12",
      country: "GB",
      date_of_birth: null,
      confirms_age_18_or_over: true,
      accepted_terms_version: "2025-01",
      accepted_privacy_version: "2025-02",
      acknowledged_us_transfer_notice_version: "1",
      marketing_email_opt_in: false,
    });
  });

  it("requires the age attestation and the policies before sending anything", async () => {
    const calls = mockApi(...POLICIES);
    renderPage(<SignUpPage />);
    await screen.findByText(/Read the Terms of Service/);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("You must be 18 or older to use OpMaestro.")).toBeInTheDocument();
    expect(screen.getByLabelText(/^I am 18 or older/)).toHaveAttribute("aria-invalid", "true");
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(0);
  });
});
