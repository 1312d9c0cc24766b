import { MantineProvider } from "@mantine/core";
import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi, route } from "@/test/render";
import { createQueryClient } from "./query-client";
import { isPublicPath, routes } from "./router";
import { aUser } from "@/test/fixtures";

afterEach(() => vi.unstubAllGlobals());

const member = aUser();
const notSignedIn = { type: "urn:opmaestro:problem:not-authenticated", title: "Not authenticated", status: 401 };

function renderAt(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <MantineProvider>
      <QueryClientProvider client={createQueryClient()}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return router;
}

describe("routes", () => {
  it("sends a signed-out visitor of a signed-in page to sign in, with next", async () => {
    mockApi(route("GET", "/api/v1/me", () => json(notSignedIn, 401)));
    const router = renderAt("/security");
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(router.state.location.pathname + router.state.location.search).toBe("/sign-in?next=%2Fsecurity");
    expect(screen.queryByRole("navigation")).not.toBeInTheDocument();
  });

  it("shows the unsubscribe page without a session, navigation or sign-in", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(notSignedIn, 401)),
      route("GET", "/api/v1/consent/purposes", () => json([])),
      route("GET", "/api/v1/unsubscribe/1.token.marketing_email.sig", () =>
        json({ purpose: "marketing_email", address: "a***@example.com", subscribed: true }),
      ),
    );
    const router = renderAt("/unsubscribe/1.token.marketing_email.sig");
    expect(await screen.findByRole("button", { name: "Unsubscribe" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1, name: "Unsubscribe" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/unsubscribe/1.token.marketing_email.sig");
    expect(screen.queryByRole("navigation")).not.toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);
  });

  it("shows the privacy request page without a session or navigation", async () => {
    const calls = mockApi(route("GET", "/api/v1/me", () => json(notSignedIn, 401)));
    const router = renderAt("/privacy-request");
    expect(await screen.findByRole("heading", { level: 1, name: "Privacy request" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/privacy-request");
    expect(screen.queryByRole("navigation")).not.toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);
    expect(isPublicPath("/privacy-request/verify")).toBe(true);
  });

  it("treats sub-paths of public paths as public", () => {
    expect(isPublicPath("/unsubscribe/1.token.marketing_email.sig")).toBe(true);
    expect(isPublicPath("/sign-in")).toBe(true);
    expect(isPublicPath("/privacy/consents")).toBe(false);
    expect(isPublicPath("/sign-inx")).toBe(false);
  });

  it("redirects / to the profile when signed in, and shows members no admin navigation", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json(member)),
      () => json({}, 200),
    );
    const router = renderAt("/");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    await waitFor(() => expect(router.state.location.pathname).toBe("/profile"));
    expect(nav).toHaveTextContent("Profile");
    expect(nav).toHaveTextContent("Security");
    expect(nav).toHaveTextContent("Close account");
    expect(screen.getByRole("link", { name: "Consents" })).toHaveAttribute("href", "/privacy/consents");
    expect(nav).not.toHaveTextContent("Users");
    expect(screen.getByText("Ada Lovelace")).toBeInTheDocument();
  });

  it("shows staff the admin users link", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json({ ...member, role: "privacy_officer" })),
      () => json({}, 200),
    );
    renderAt("/profile");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(nav).toHaveTextContent("Users");
  });

  it("shows the purposes and consent dashboard links to privacy staff only", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json({ ...member, role: "privacy_officer" })),
      () => json({}, 200),
    );
    renderAt("/profile");
    await screen.findByRole("navigation", { name: "Main" });
    expect(screen.getByRole("link", { name: "Purposes" })).toHaveAttribute("href", "/admin/purposes");
    expect(screen.getByRole("link", { name: "Consent dashboard" })).toHaveAttribute("href", "/admin/consent");
  });

  it("hides the purposes and consent dashboard links from support staff", async () => {
    mockApi(
      route("GET", "/api/v1/me", () => json({ ...member, role: "support" })),
      () => json({}, 200),
    );
    renderAt("/profile");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(nav).toHaveTextContent("Users");
    expect(screen.queryByRole("link", { name: "Purposes" })).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Consent dashboard" })).not.toBeInTheDocument();
  });

  it("signs out with POST /auth/logout and returns to sign in", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(member)),
      route("POST", "/api/v1/auth/logout", () => new Response(null, { status: 204 })),
      () => json({}, 200),
    );
    const router = renderAt("/profile");
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/sign-in"));
    expect(calls.some((call) => call.method === "POST" && call.path === "/api/v1/auth/logout")).toBe(true);
  });
  it("asks an unverified user to verify, on every signed-in page, and sends the link again", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(aUser({ email_verified: false }))),
      route("POST", "/api/v1/auth/verify-email/resend", () =>
        json({ detail: "If the address needs verifying, a new link is on its way." }, 202),
      ),
    );
    renderAt("/close-account");
    const user = userEvent.setup();

    expect(await screen.findByText("Verify your email address")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Send the link again" }));

    expect(await screen.findByRole("status")).toHaveTextContent("a new link is on its way");
    const resent = calls.filter((call) => call.path === "/api/v1/auth/verify-email/resend");
    expect(resent.map((call) => call.body)).toEqual([{ email: "ada@example.com" }]);
  });

  it("shows no verification banner to a verified user", async () => {
    mockApi(route("GET", "/api/v1/me", () => json(member)));
    renderAt("/close-account");
    expect(await screen.findByRole("heading", { level: 1, name: "Close your account" })).toBeInTheDocument();
    expect(screen.queryByText("Verify your email address")).not.toBeInTheDocument();
  });
});
