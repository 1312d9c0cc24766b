import { Alert, Badge, Button, Group, Stack, Text } from "@mantine/core";

import { notifyError } from "@/shared/api/problem";

import { type Subscription, usePortal } from "@/features/billing/api/billing";
import { formatDate, statusLabel } from "@/features/billing/format";
import { goTo } from "@/features/billing/redirect";

export function ManageBillingButton() {
  const portal = usePortal();
  return (
    <Button
      variant="default"
      loading={portal.isPending}
      onClick={() =>
        portal.mutate(undefined, {
          onSuccess: (url) => goTo(url),
          onError: (error) => notifyError(error, "Billing portal"),
        })
      }
    >
      Manage billing
    </Button>
  );
}

/** The plan, its status and period, and the way to the Stripe portal. */
export function CurrentSubscription({ subscription }: { subscription: Subscription | null }) {
  if (!subscription) return <Text>You have no subscription yet. Choose a plan below.</Text>;
  const periodEnd = subscription.current_period_end ? formatDate(subscription.current_period_end) : null;
  return (
    <Stack gap="sm">
      <Group gap="sm">
        <Text fw={600}>{subscription.plan_name ?? subscription.plan ?? "Your plan"}</Text>
        <Badge color={subscription.status === "active" ? "green" : "gray"} variant="light">
          {statusLabel(subscription.status)}
        </Badge>
      </Group>
      {periodEnd && (
        <Text size="sm">
          {subscription.status === "canceled"
            ? `Ended on ${periodEnd}.`
            : subscription.cancel_at_period_end
              ? `Ends on ${periodEnd}; it will not renew.`
              : `Renews on ${periodEnd}.`}
        </Text>
      )}
      {subscription.cancel_at_period_end && subscription.status !== "canceled" && (
        <Alert color="blue" title="Cancellation scheduled">
          Your plan stays active until the end of the period you paid for.
        </Alert>
      )}
      <Group>
        <ManageBillingButton />
      </Group>
    </Stack>
  );
}
