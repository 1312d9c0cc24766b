import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import { json, mockApi, renderPage, route } from "@/test/render";

import { BillingPage } from "./billing-page";

const goTo = vi.hoisted(() => vi.fn());
vi.mock("./redirect", () => ({ goTo }));

const PLANS = {
  plans: [
    { key: "starter", name: "Starter", interval: "month", amount: 2900, currency: "eur", features: ["Email support"] },
    { key: "team", name: "Team", interval: "month", amount: 9900, currency: "eur", features: [] },
  ],
};

function aSubscription(fields: Record<string, unknown> = {}) {
  return {
    plan: "starter",
    plan_name: "Starter",
    status: "active",
    current_period_end: "2033-05-18T03:33:20Z",
    cancel_at_period_end: false,
    payment_failed: false,
    ...fields,
  };
}

function anInvoice(n: number) {
  return {
    id: `in_${n}`,
    number: `OPM-000${n}`,
    amount_due: 2900,
    amount_paid: 2900,
    currency: "eur",
    status: "paid",
    issued_at: `2026-11-0${n}T10:00:00Z`,
    hosted_invoice_url: `https://invoice.stripe.com/i/in_${n}`,
  };
}

const notConfigured = () =>
  json(
    {
      type: "urn:opmaestro:problem:billing-not-configured",
      title: "Billing is not configured",
      status: 503,
      detail: "Billing is not configured on this server.",
    },
    503,
  );

function billingApi(subscription: unknown = null, invoices: unknown[] = []) {
  return mockApi(
    route("GET", "/api/v1/billing/plans", () => json(PLANS)),
    route("GET", "/api/v1/billing/subscription", () => json({ subscription })),
    route("GET", "/api/v1/billing/invoices", () => json({ items: invoices, next_cursor: null })),
    route("POST", "/api/v1/billing/checkout", () => json({ url: "https://checkout.stripe.com/c/pay/cs_1" })),
    route("POST", "/api/v1/billing/portal", () => json({ url: "https://billing.stripe.com/p/session/bps_1" })),
  );
}

describe("BillingPage", () => {
  it("lists the plans and sends Subscribe to Stripe Checkout with an idempotency key", async () => {
    const calls = billingApi();
    renderPage(<BillingPage />);
    expect(screen.getByRole("status", { name: "Loading the plans" })).toBeInTheDocument();
    const starter = await screen.findByRole("listitem", { name: "Starter" });
    expect(within(starter).getByText(/29\.00/)).toBeInTheDocument();
    expect(within(starter).getByText("Email support")).toBeInTheDocument();
    expect(await screen.findByText("You have no subscription yet. Choose a plan below.")).toBeInTheDocument();
    expect(await screen.findByText("No invoices yet.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Subscribe to Starter" }));
    await vi.waitFor(() => expect(goTo).toHaveBeenCalledWith("https://checkout.stripe.com/c/pay/cs_1"));
    const checkout = calls.find((call) => call.path === "/api/v1/billing/checkout");
    expect(checkout?.body).toEqual({ plan: "starter" });
    expect(checkout?.headers.get("Idempotency-Key")).toMatch(/^checkout-[0-9a-f-]{36}$/);
  });

  it("shows the subscription, its invoices and the way to the portal", async () => {
    goTo.mockClear();
    billingApi(aSubscription({ cancel_at_period_end: true }), [anInvoice(2), anInvoice(1)]);
    renderPage(<BillingPage />);
    expect(await screen.findByText("Starter", { selector: "p" })).toBeInTheDocument();
    expect(screen.getByText(/it will not renew/)).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Invoices" });
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(within(table).getByRole("link", { name: "View invoice OPM-0002" })).toHaveAttribute(
      "href",
      "https://invoice.stripe.com/i/in_2",
    );
    expect(screen.getByRole("button", { name: "Subscribe to Team" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Manage billing" }));
    await vi.waitFor(() => expect(goTo).toHaveBeenCalledWith("https://billing.stripe.com/p/session/bps_1"));
  });

  it("shows a banner when a payment failed", async () => {
    billingApi(aSubscription({ status: "past_due", payment_failed: true }));
    renderPage(<BillingPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Your last payment failed");
    expect(screen.getByText("Payment overdue")).toBeInTheDocument();
  });

  it("says billing is not configured when the server has no Stripe key, asking only once", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/billing/plans", notConfigured),
      route("GET", "/api/v1/billing/subscription", notConfigured),
      route("GET", "/api/v1/billing/invoices", notConfigured),
    );
    renderPage(<BillingPage />);
    expect(await screen.findByText("Billing is not configured")).toBeInTheDocument();
    // One 503 in the browser's console, not three.
    expect(calls.map((call) => call.path)).toEqual(["/api/v1/billing/plans"]);
    expect(screen.queryByRole("button", { name: /Subscribe/ })).not.toBeInTheDocument();
  });

  it("thanks the person back from checkout, and says when they cancelled", async () => {
    billingApi();
    const view = renderPage(<BillingPage />, { path: "/billing", at: "/billing?checkout=success" });
    expect(await screen.findByText(/Your subscription appears here in a moment/)).toBeInTheDocument();
    view.unmount();
    billingApi();
    renderPage(<BillingPage />, { path: "/billing", at: "/billing?checkout=cancelled" });
    expect(await screen.findByText("Checkout cancelled")).toBeInTheDocument();
  });

  it("offers to try again when the subscription cannot be loaded", async () => {
    mockApi(
      route("GET", "/api/v1/billing/plans", () => json(PLANS)),
      route("GET", "/api/v1/billing/subscription", () =>
        json({ type: "about:blank", title: "Forbidden", status: 403, detail: "Not allowed." }, 403),
      ),
      route("GET", "/api/v1/billing/invoices", () => json({ items: [], next_cursor: null })),
    );
    renderPage(<BillingPage />);
    expect(await screen.findByText("Your subscription could not be loaded")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
