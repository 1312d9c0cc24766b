import { Alert, Container, Paper, Skeleton, Stack, Text, Title } from "@mantine/core";
import { useState } from "react";

import { ProblemError } from "@/shared/api/problem";
import { PageTitle } from "@/shared/components/page-title";

import { type EndpointWithSecret, useEndpoints } from "./api/webhooks";
import { CreateEndpointForm } from "./components/create-endpoint-form";
import { EndpointCard } from "./components/endpoint-card";
import { SecretAlert } from "./components/secret-alert";

function EndpointList({ onSecret }: { onSecret: (endpoint: EndpointWithSecret) => void }) {
  const endpoints = useEndpoints();
  if (endpoints.isPending) return <Skeleton height={120} aria-label="Loading your webhook endpoints" />;
  if (endpoints.isError) {
    // The page explains an unverified address instead of this list.
    if (unverified(endpoints.error)) return null;
    return (
      <Alert color="red" title="Your webhook endpoints could not be loaded">
        {endpoints.error.message}
      </Alert>
    );
  }
  if (endpoints.data.length === 0) return <Text c="gray.7">You have no webhook endpoints.</Text>;
  return (
    <Stack gap="md">
      {endpoints.data.map((endpoint) => (
        <EndpointCard key={endpoint.id} endpoint={endpoint} onSecret={onSecret} />
      ))}
    </Stack>
  );
}

function unverified(error: Error | null): boolean {
  return error instanceof ProblemError && error.is("email-not-verified");
}

export function WebhooksPage() {
  const [secret, setSecret] = useState<EndpointWithSecret | null>(null);
  const endpoints = useEndpoints();
  if (unverified(endpoints.error)) {
    return (
      <Container size="md">
        <Stack gap="lg">
          <PageTitle>Webhooks</PageTitle>
          <Alert color="yellow" title="Verify your email address to use webhooks">
            When an endpoint keeps failing we write to you, so webhooks need an address you have confirmed. Open the
            link we sent you, then come back here.
          </Alert>
        </Stack>
      </Container>
    );
  }
  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Webhooks</PageTitle>
        <Text size="sm">
          We can tell another system when your consents change, a data request of yours is completed, or your account is
          closed. Each event is sent as a signed POST (Standard Webhooks) to the addresses below; check the signature
          with the secret shown when you add an endpoint.
        </Text>
        {secret && <SecretAlert endpoint={secret} onDone={() => setSecret(null)} />}
        <EndpointList onSecret={setSecret} />
        <Paper withBorder p="md" component="section" aria-labelledby="webhooks-new">
          <Title order={2} size="h3" id="webhooks-new" mb="sm">
            New endpoint
          </Title>
          <CreateEndpointForm onCreated={setSecret} />
        </Paper>
      </Stack>
    </Container>
  );
}
