import { Button, Group, List, Paper, SimpleGrid, Stack, Text, Title } from "@mantine/core";

import { notifyError } from "@/shared/api/problem";

import { type Plan, useCheckout } from "@/features/billing/api/billing";
import { formatMoney } from "@/features/billing/format";
import { goTo } from "@/features/billing/redirect";

/** The plans on offer, each with a Subscribe button that opens Stripe Checkout. */
export function Plans({ plans, canSubscribe }: { plans: Plan[]; canSubscribe: boolean }) {
  const checkout = useCheckout();
  if (plans.length === 0) return <Text>No plans are offered at the moment.</Text>;
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }} component="ul" style={{ listStyle: "none", padding: 0 }}>
      {plans.map((plan) => (
        <Paper key={plan.key} withBorder p="md" component="li" aria-labelledby={`plan-${plan.key}`}>
          <Stack gap="xs">
            <Title order={3} size="h4" id={`plan-${plan.key}`}>
              {plan.name}
            </Title>
            <Text fw={600}>
              {formatMoney(plan.amount, plan.currency)} per {plan.interval}
            </Text>
            {plan.features.length > 0 && (
              <List size="sm">
                {plan.features.map((feature) => (
                  <List.Item key={feature}>{feature}</List.Item>
                ))}
              </List>
            )}
            <Group>
              <Button
                disabled={!canSubscribe || (checkout.isPending && checkout.variables.plan !== plan.key)}
                loading={checkout.isPending && checkout.variables.plan === plan.key}
                aria-label={`Subscribe to ${plan.name}`}
                onClick={() =>
                  checkout.mutate(
                    { plan: plan.key },
                    {
                      onSuccess: (url) => goTo(url),
                      onError: (error) => notifyError(error, "Checkout could not start"),
                    },
                  )
                }
              >
                Subscribe
              </Button>
            </Group>
          </Stack>
        </Paper>
      ))}
    </SimpleGrid>
  );
}
