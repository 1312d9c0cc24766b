import { Alert, Anchor, Container, Loader, Paper, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMemo } from "react";

import { notifyError } from "@/shared/api/problem";
import { ConsentHistory } from "@/shared/components/consent-history";
import { PageTitle } from "@/shared/components/page-title";

import { useConsents, usePendingConsents, useSetConsent } from "./api/consents";
import { ConsentCard } from "./components/consent-card";

export function ConsentsPage() {
  const consents = useConsents();
  const setConsent = useSetConsent();
  const pending = usePendingConsents();
  const names = useMemo(
    () => new Map((consents.data ?? []).map((consent) => [consent.key, consent.name])),
    [consents.data],
  );

  const change = (key: string, name: string, granted: boolean) =>
    setConsent.mutate(
      { purpose: key, granted },
      {
        onSuccess: () =>
          notifications.show({
            color: "green",
            message: granted ? `${name} is on.` : `${name} is off.`,
          }),
        onError: (error) => notifyError(error, `${name} could not be changed`),
      },
    );

  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Consents &amp; communications</PageTitle>
        <Text>
          Choose what we may use your data for and what we may email you about. You can change your mind at any time;
          each change is recorded, with a signed receipt you can download.
        </Text>
        <section aria-labelledby="consents-choices">
          <Title order={2} size="h3" id="consents-choices" mb="sm">
            Your choices
          </Title>
          {consents.isPending && <Loader size="sm" role="status" aria-label="Loading your consents" />}
          {consents.isError && (
            <Alert color="red" title="Your consents could not be loaded">
              {consents.error.message}{" "}
              <Anchor component="button" onClick={() => void consents.refetch()}>
                Try again
              </Anchor>
            </Alert>
          )}
          {consents.isSuccess && consents.data.length === 0 && <Text>There is nothing to consent to.</Text>}
          {consents.isSuccess && consents.data.length > 0 && (
            <Stack component="ul" gap="sm" p={0} m={0}>
              {consents.data.map((consent) => (
                <ConsentCard
                  key={consent.key}
                  consent={consent}
                  pending={pending.get(consent.key) ?? null}
                  onChange={(granted) => change(consent.key, consent.name, granted)}
                />
              ))}
            </Stack>
          )}
        </section>
        <Paper withBorder p="md" component="section" aria-labelledby="consents-history">
          <Title order={2} size="h3" id="consents-history" mb="sm">
            History
          </Title>
          <ConsentHistory names={names} />
        </Paper>
      </Stack>
    </Container>
  );
}
