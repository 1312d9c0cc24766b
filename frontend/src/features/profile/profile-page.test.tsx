import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { ProfilePage } from "./profile-page";
import { fillIn } from "@/test/fill-in";
import { json, mockApi, renderPage, route } from "@/test/render";
import { aUser } from "@/test/fixtures";

const me = aUser({ company: "Analytical Engines" });

afterEach(() => vi.unstubAllGlobals());

describe("ProfilePage", () => {
  it("puts the API's field errors on the matching inputs", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(me)),
      route("PATCH", "/api/v1/me", () =>
        json(
          {
            type: "urn:opmaestro:problem:validation",
            title: "Validation failed",
            status: 422,
            detail: "Some fields are missing or invalid.",
            errors: [
              {
                location: "body",
                field: "phone",
                message: "This phone number is not valid; include the country code, such as +1.",
                code: "value_error",
              },
            ],
          },
          422,
        ),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ProfilePage />);

    const phone = await screen.findByLabelText("Phone");
    await fillIn(phone, "12");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    expect(await screen.findByText(/This phone number is not valid/)).toBeInTheDocument();
    expect(phone).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(/Full name/)).not.toHaveAttribute("aria-invalid", "true");
    expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({ phone: "12" });
  });

  it("sends only the changed fields and clears removed optional ones", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(me)),
      route("PATCH", "/api/v1/me", (call) => json({ ...me, ...(call.body as object) })),
    );
    const user = userEvent.setup();
    renderPage(<ProfilePage />);

    const company = await screen.findByLabelText("Company");
    const country = screen.getByLabelText(/^Country/);
    expect(country).toHaveDisplayValue("United Kingdom");
    await user.clear(company);
    await fillIn(screen.getByLabelText("Job title"), "Analyst");
    await user.selectOptions(country, "Germany");
    await user.click(screen.getByRole("button", { name: "Save changes" }));

    expect(await screen.findByText("Your profile is saved.")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "PATCH")?.body).toEqual({
      company: null,
      job_title: "Analyst",
      country: "DE",
    });
  });

  it("shows a wrong password on the email change's password field", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(me)),
      route("POST", "/api/v1/me/email", () =>
        json(
          {
            type: "urn:opmaestro:problem:wrong-password",
            title: "Wrong password",
            status: 403,
            detail: "The password is not correct.",
          },
          403,
        ),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ProfilePage />);

    await fillIn(await screen.findByLabelText(/New email/), "ada@new.example");
    const password = screen.getByLabelText(/Current password/);
    await fillIn(password, "not-it");
    await user.click(screen.getByRole("button", { name: "Change email" }));

    await waitFor(() => expect(password).toHaveAttribute("aria-invalid", "true"));
    expect(screen.getAllByText("The password is not correct.").length).toBeGreaterThan(0);
  });

  it("explains that the confirmation link goes to the new address", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(me)),
      route("POST", "/api/v1/me/email", () =>
        json({ status: "accepted", detail: "Confirm the change from the link sent to the new address." }, 202),
      ),
    );
    const user = userEvent.setup();
    renderPage(<ProfilePage />);

    await fillIn(await screen.findByLabelText(/New email/), "ada@new.example");
    await fillIn(screen.getByLabelText(/Current password/), "correct horse");
    await user.click(screen.getByRole("button", { name: "Change email" }));

    expect(await screen.findByText(/We sent a confirmation link to ada@new.example/)).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      new_email: "ada@new.example",
      password: "correct horse",
    });
  });
});
