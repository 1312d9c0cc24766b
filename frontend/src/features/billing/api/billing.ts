import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { ProblemError, unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type Plan = components["schemas"]["PlanRead"];
export type Subscription = components["schemas"]["SubscriptionRead"];
export type Invoice = components["schemas"]["InvoiceRead"];

export const billingKey = ["billing"] as const;
export const INVOICE_PAGE_SIZE = 10;

/** True for the 503 the API answers while no Stripe key is configured. */
export function isNotConfigured(error: unknown): boolean {
  return error instanceof ProblemError && error.is("billing-not-configured");
}

// As the app's default (a 4xx will not change by asking again), and the 503 of a server without Stripe neither.
function retry(failures: number, error: Error): boolean {
  return !(error instanceof ProblemError && (error.status < 500 || isNotConfigured(error))) && failures < 2;
}

export function usePlans() {
  return useQuery({
    queryKey: [...billingKey, "plans"],
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/plans")).plans,
    retry,
  });
}

/**
 * The subscription; with `pollMs` it is read again until one shows up (Stripe's events are on their way).
 * `enabled` waits for the plans: on a server without Stripe they alone answer that billing is off.
 */
export function useSubscription(pollMs: number | false = false, enabled = true) {
  return useQuery({
    queryKey: [...billingKey, "subscription"],
    queryFn: async () => unwrap(await api.GET("/api/v1/billing/subscription")).subscription,
    enabled,
    retry,
    refetchInterval: (query) => (pollMs !== false && query.state.data == null ? pollMs : false),
  });
}

export function useInvoices(cursor: string | undefined) {
  return useQuery({
    queryKey: [...billingKey, "invoices", cursor ?? null],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/billing/invoices", { params: { query: { limit: INVOICE_PAGE_SIZE, cursor } } })),
    placeholderData: keepPreviousData,
    retry,
  });
}

function newIdempotencyKey(): string {
  return `checkout-${crypto.randomUUID()}`;
}

/** Start a Stripe Checkout for a plan; the key makes a double click or a retry one session. */
export function useCheckout() {
  return useMutation({
    mutationFn: async ({ plan, key = newIdempotencyKey() }: { plan: string; key?: string }) =>
      unwrap(
        await api.POST("/api/v1/billing/checkout", { body: { plan }, params: { header: { "Idempotency-Key": key } } }),
      ).url,
  });
}

export function usePortal() {
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/billing/portal")).url,
  });
}
