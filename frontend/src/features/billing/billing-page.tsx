import { Alert, Anchor, Container, Loader, Paper, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { useSearchParams } from "react-router";

import { PageTitle } from "@/shared/components/page-title";

import { isNotConfigured, usePlans, useSubscription } from "./api/billing";
import { CurrentSubscription } from "./components/current-subscription";
import { Invoices } from "./components/invoices";
import { Plans } from "./components/plans";

// After Stripe sends the browser back, its events may still be on their way: read again until they land.
const POLL_AFTER_CHECKOUT_MS = 2000;
const HOLDING = ["active", "trialing", "past_due", "unpaid", "incomplete", "paused"];

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h3" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function LoadFailed({ what, error, retry }: { what: string; error: Error; retry: () => void }) {
  return (
    <Alert color="red" title={`${what} could not be loaded`}>
      {error.message}{" "}
      <Anchor component="button" onClick={retry}>
        Try again
      </Anchor>
    </Alert>
  );
}

/** Billing: the plans, the current subscription, invoices, and the way to Stripe to pay or manage. */
export function BillingPage() {
  const [search] = useSearchParams();
  const returned = search.get("checkout");
  const plans = usePlans();
  const waiting = returned === "success";
  const subscription = useSubscription(waiting ? POLL_AFTER_CHECKOUT_MS : false, plans.isSuccess);
  const current = subscription.data ?? null;

  if (isNotConfigured(plans.error) || isNotConfigured(subscription.error)) {
    return (
      <Container size="md">
        <PageTitle>Billing</PageTitle>
        <Alert color="gray" title="Billing is not configured">
          Payments are not set up on this server, so there is nothing to subscribe to or pay here.
        </Alert>
      </Container>
    );
  }

  const holding = current !== null && HOLDING.includes(current.status);
  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Billing</PageTitle>
        {current?.payment_failed && (
          <Alert color="red" title="Your last payment failed" role="alert">
            We could not collect your payment. Update your card with Manage billing to keep your plan.
          </Alert>
        )}
        {returned === "success" && (
          <Alert color="green" title="Thank you">
            {current === null
              ? "Your payment went through. Your subscription appears here in a moment."
              : "Your subscription is set up."}
          </Alert>
        )}
        {returned === "cancelled" && (
          <Alert color="gray" title="Checkout cancelled">
            Nothing was charged. You can choose a plan again whenever you like.
          </Alert>
        )}
        <Section id="billing-subscription" title="Your subscription">
          {(plans.isPending || subscription.isLoading) && (
            <Loader size="sm" role="status" aria-label="Loading your subscription" />
          )}
          {subscription.isError && (
            <LoadFailed what="Your subscription" error={subscription.error} retry={() => void subscription.refetch()} />
          )}
          {subscription.isSuccess && <CurrentSubscription subscription={current} />}
        </Section>
        <Section id="billing-plans" title="Plans">
          {plans.isPending && <Loader size="sm" role="status" aria-label="Loading the plans" />}
          {plans.isError && <LoadFailed what="The plans" error={plans.error} retry={() => void plans.refetch()} />}
          {plans.isSuccess && (
            <>
              {holding && (
                <Text size="sm" mb="sm">
                  To change plan, use Manage billing.
                </Text>
              )}
              <Plans plans={plans.data} canSubscribe={subscription.isSuccess && !holding} />
            </>
          )}
        </Section>
        <Section id="billing-invoices" title="Invoices">
          {plans.isPending && <Loader size="sm" role="status" aria-label="Loading your invoices" />}
          {plans.isSuccess && <Invoices />}
        </Section>
      </Stack>
    </Container>
  );
}
