import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { PasswordForm } from "./password-form";
import { json, mockApi, renderPage, route } from "@/test/render";
import { aUser } from "@/test/fixtures";

const token = (id: string, name: string, hint: string) => ({
  id,
  name,
  hint,
  scopes: ["profile:read"],
  created_at: "2025-03-02T10:00:00Z",
  expires_at: "2025-04-01T10:00:00Z",
  last_used_at: null,
});
const reporting = token("5a2c1e0f-9b8d-4c7e-a6f5-e4d3c2b1a090", "Reporting script", "x7Qa");
const crm = token("0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70", "CRM sync", "k2Lm");

afterEach(() => vi.unstubAllGlobals());

function apiWith(tokens: ReturnType<typeof token>[]) {
  return mockApi(
    route("GET", "/api/v1/me/tokens", () => json({ items: tokens, next_cursor: null })),
    route("POST", "/api/v1/me/password", () =>
      json({ user: aUser(), csrf_token: "fresh", session_expires_at: "2025-03-03T10:00:00Z" }),
    ),
    route("GET", "/api/v1/me", () => json(aUser())),
  );
}

async function fillPasswords(user: ReturnType<typeof userEvent.setup>) {
  // Pasted, not typed key by key: what is under test is the token choice.
  await user.click(screen.getByLabelText(/^Current password/));
  await user.paste("correct horse battery staple");
  await user.click(screen.getByLabelText(/^New password/));
  await user.paste("violet kettle orbit tundra");
}

describe("PasswordForm", () => {
  it("lists each live token with a keep box left unticked, and by default keeps none", async () => {
    const calls = apiWith([reporting, crm]);
    const user = userEvent.setup();
    renderPage(<PasswordForm />);

    const keepReporting = await screen.findByRole("checkbox", { name: "Keep this token: Reporting script (…x7Qa)" });
    const keepCrm = screen.getByRole("checkbox", { name: "Keep this token: CRM sync (…k2Lm)" });
    expect(keepReporting).not.toBeChecked();
    expect(keepCrm).not.toBeChecked();
    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));

    await waitFor(() => expect(calls.some((call) => call.method === "POST")).toBe(true));
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      current_password: "correct horse battery staple",
      new_password: "violet kettle orbit tundra",
      keep_token_ids: [],
    });
    expect(await screen.findByText(/the API tokens you did not keep are revoked/)).toBeInTheDocument();
  });

  it("sends the ids of the tokens ticked to keep", async () => {
    const calls = apiWith([reporting, crm]);
    const user = userEvent.setup();
    renderPage(<PasswordForm />);

    await user.click(await screen.findByRole("checkbox", { name: /Keep this token: CRM sync/ }));
    await fillPasswords(user);
    await user.click(screen.getByRole("button", { name: "Change password" }));

    await waitFor(() => expect(calls.some((call) => call.method === "POST")).toBe(true));
    expect(calls.find((call) => call.method === "POST")?.body).toMatchObject({ keep_token_ids: [crm.id] });
  });

  it("shows no token choice when there is no token", async () => {
    const calls = apiWith([]);
    renderPage(<PasswordForm />);

    await waitFor(() => expect(calls.some((call) => call.path === "/api/v1/me/tokens")).toBe(true));
    await waitFor(() => expect(screen.queryByRole("status", { name: "Loading API tokens" })).not.toBeInTheDocument());
    expect(screen.queryByRole("group", { name: "API tokens to keep" })).not.toBeInTheDocument();
    expect(screen.queryByRole("checkbox")).not.toBeInTheDocument();
  });
});
