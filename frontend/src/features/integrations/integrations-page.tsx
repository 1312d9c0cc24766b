import { Alert, Anchor, Badge, Button, Container, Group, Loader, Paper, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";
import { useSearchParams } from "react-router";

import { notifyError } from "@/shared/api/problem";
import { PageTitle } from "@/shared/components/page-title";

import {
  type IntegrationConnectionRead,
  type IntegrationRead,
  type ProviderKey,
  useConnect,
  useDisconnect,
  useIntegrations,
  useSync,
} from "./api/integrations";
import { ConfirmDialog } from "@/shared/components/confirm-dialog";
import { errorMessage } from "./components/outcome";

const NAMES: Record<string, string> = { google: "Google", gusto: "Gusto", stripe: "Stripe" };
const SYNC_LABELS: Record<IntegrationConnectionRead["sync_status"], string> = {
  pending: "Import queued",
  succeeded: "Imported",
  failed: "Import failed",
};

function formatTime(value: string | null): string {
  return value ? new Date(value).toLocaleString() : "never";
}

/** What disconnecting did: deleted here at once; the provider is told by a job (or cannot be). */
function disconnectedMessage(name: string, revocation: "pending" | "not_needed" | "failed"): string {
  if (revocation === "failed")
    return `${name} is disconnected and its data deleted here, but ${name} could not be told: remove our access in your ${name} account too.`;
  if (revocation === "pending")
    return `${name} is disconnected and its data deleted. We are asking ${name} to end our access now.`;
  return `${name} is disconnected and its data deleted.`;
}

function CallbackOutcome() {
  const [params, setParams] = useSearchParams();
  const provider = params.get("provider") ?? "";
  const error = params.get("error");
  const connected = params.get("connected") === "1";
  if (!error && !connected) return null;
  const dismiss = () => setParams({}, { replace: true });
  // The query is anyone's to craft: only our own names and messages are shown (own keys only, so
  // "constructor" or "__proto__" find nothing inherited).
  const name = (Object.hasOwn(NAMES, provider) && NAMES[provider]) || "The provider";
  return error ? (
    <Alert
      color="red"
      title={`${name} was not connected`}
      role="alert"
      withCloseButton
      onClose={dismiss}
      closeButtonLabel="Dismiss"
    >
      {errorMessage(error)}
    </Alert>
  ) : (
    <Alert
      color="green"
      title={`${name} is connected`}
      role="status"
      withCloseButton
      onClose={dismiss}
      closeButtonLabel="Dismiss"
    >
      Your data is being imported; it shows below when done.
    </Alert>
  );
}

function ConnectionDetails({ connection }: { connection: IntegrationConnectionRead }) {
  return (
    <Stack gap={4}>
      <Text size="sm">
        Account: {connection.account_email ?? connection.account_name ?? connection.subject}
        {connection.account_email && connection.account_name ? ` (${connection.account_name})` : ""}
      </Text>
      <Text size="sm">
        Access granted: {connection.granted_scopes.length ? connection.granted_scopes.join(", ") : "none reported"}
      </Text>
      <Text size="sm">
        {SYNC_LABELS[connection.sync_status]} · last import {formatTime(connection.last_synced_at)} ·{" "}
        {connection.imported_items} item{connection.imported_items === 1 ? "" : "s"}
      </Text>
      {connection.sync_error && (
        <Text size="sm" c="red.8">
          {connection.sync_error}
        </Text>
      )}
    </Stack>
  );
}

function statusBadge(item: IntegrationRead) {
  if (item.status === "connected" && item.connection?.needs_reconnect)
    return (
      <Badge variant="outline" color="red.9">
        Needs reconnecting
      </Badge>
    );
  if (item.status === "connected")
    return (
      <Badge variant="outline" color="dark">
        Connected
      </Badge>
    );
  if (item.status === "not_configured")
    return (
      <Badge color="dark" variant="outline">
        Not available
      </Badge>
    );
  return (
    <Badge color="blue.9" variant="outline">
      Not connected
    </Badge>
  );
}

function ProviderCard({
  item,
  onDisconnect,
}: {
  item: IntegrationRead;
  onDisconnect: (provider: ProviderKey) => void;
}) {
  const connect = useConnect();
  const sync = useSync();
  const headingId = `integration-${item.provider}`;
  const startConnect = () =>
    connect.mutate(item.provider, {
      onSuccess: (started) => window.location.assign(started.authorization_url),
      onError: (error) => notifyError(error, `${item.name} could not be connected`),
    });
  const connection = item.connection;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={headingId}>
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={2} size="h3" id={headingId}>
            {item.name}
          </Title>
          {statusBadge(item)}
        </Group>
        <Text size="sm">{item.imports}</Text>
        {item.status === "not_configured" && (
          <Text size="sm" c="dimmed">
            This server is not set up to connect to {item.name}.
          </Text>
        )}
        {connection && <ConnectionDetails connection={connection} />}
        <Group gap="sm">
          {item.status === "not_connected" && (
            <Button onClick={startConnect} loading={connect.isPending}>
              Connect {item.name}
            </Button>
          )}
          {connection?.needs_reconnect && (
            <Button onClick={startConnect} loading={connect.isPending}>
              Connect {item.name} again
            </Button>
          )}
          {connection && !connection.needs_reconnect && (
            <Button
              variant="default"
              loading={sync.isPending}
              onClick={() =>
                sync.mutate(item.provider, {
                  onSuccess: () => notifications.show({ color: "green", message: `${item.name}: import queued.` }),
                  onError: (error) => notifyError(error, `${item.name} could not be synced`),
                })
              }
            >
              Sync now
            </Button>
          )}
          {connection && (
            <Button variant="default" color="red.8" onClick={() => onDisconnect(item.provider)}>
              Disconnect {item.name}
            </Button>
          )}
        </Group>
      </Stack>
    </Paper>
  );
}

/** Settings > Integrations: connect Google, Gusto and Stripe, see what was granted and imported. */
export function IntegrationsPage() {
  const integrations = useIntegrations();
  const disconnect = useDisconnect();
  const [leaving, setLeaving] = useState<ProviderKey | null>(null);
  const leavingName = leaving ? (NAMES[leaving] ?? leaving) : "";

  const confirmDisconnect = () => {
    if (!leaving) return;
    disconnect.mutate(leaving, {
      onSuccess: (result) => {
        setLeaving(null);
        notifications.show({
          color: result.revocation === "failed" ? "yellow" : "green",
          message: disconnectedMessage(leavingName, result.revocation),
        });
      },
      onError: (error) => notifyError(error, `${leavingName} could not be disconnected`),
    });
  };

  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Integrations</PageTitle>
        <Text>
          Connect the tools you use so we can bring in a small, fixed part of their data. You can disconnect at any
          time: we then ask the provider to end our access and delete everything we imported.
        </Text>
        <CallbackOutcome />
        {integrations.isPending && <Loader size="sm" role="status" aria-label="Loading integrations" />}
        {integrations.isError && (
          <Alert color="red" title="Integrations could not be loaded">
            {integrations.error.message}{" "}
            <Anchor component="button" onClick={() => void integrations.refetch()}>
              Try again
            </Anchor>
          </Alert>
        )}
        {integrations.isSuccess && integrations.data.length === 0 && <Text>No integrations are available.</Text>}
        {integrations.isSuccess &&
          integrations.data.map((item) => <ProviderCard key={item.provider} item={item} onDisconnect={setLeaving} />)}
      </Stack>
      <ConfirmDialog
        opened={leaving !== null}
        title={`Disconnect ${leavingName}?`}
        confirmLabel={`Disconnect ${leavingName}`}
        loading={disconnect.isPending}
        onConfirm={confirmDisconnect}
        onClose={() => setLeaving(null)}
      >
        We will ask {leavingName} to end our access and delete everything imported from it. You can connect again later.
      </ConfirmDialog>
    </Container>
  );
}
