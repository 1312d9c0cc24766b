import { Badge, Button, Checkbox, Group, Paper, Stack, Switch, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { notifyError } from "@/shared/api/problem";

import {
  EVENT_TYPES,
  receivableEvents,
  type EndpointRead,
  type EndpointWithSecret,
  type PersonEventType,
  useDeleteEndpoint,
  useRotateSecret,
  useUpdateEndpoint,
} from "@/features/webhooks/api/webhooks";
import { ConfirmDialog } from "@/shared/components/confirm-dialog";
import { useMe } from "@/shared/hooks/use-me";
import { useReauthentication } from "@/shared/hooks/use-reauthentication";
import { DeliveriesTable } from "./deliveries-table";

interface EndpointCardProps {
  endpoint: EndpointRead;
  onSecret: (endpoint: EndpointWithSecret) => void;
}

export function EndpointCard({ endpoint, onSecret }: EndpointCardProps) {
  const update = useUpdateEndpoint(endpoint.id);
  const rotate = useRotateSecret(endpoint.id);
  const remove = useDeleteEndpoint(endpoint.id);
  const me = useMe();
  const reauthentication = useReauthentication(me.data?.mfa_enabled ?? false, "New signing secrets");
  const [events, setEvents] = useState<PersonEventType[]>(receivableEvents(endpoint.event_types));
  const [confirming, setConfirming] = useState<"rotate" | "delete" | null>(null);
  const [showLog, setShowLog] = useState(false);
  const headingId = `webhook-${endpoint.id}`;
  const eventsChanged = [...events].sort().join() !== [...endpoint.event_types].sort().join();

  const saveEvents = () =>
    update.mutate(
      { event_types: events },
      {
        onSuccess: () => notifications.show({ color: "green", message: "The events were saved." }),
        onError: (error) => notifyError(error),
      },
    );
  const toggle = (enabled: boolean) => update.mutate({ enabled }, { onError: (error) => notifyError(error) });
  const rotateSecret = () =>
    rotate.mutate(undefined, {
      onSuccess: (rotated) => {
        setConfirming(null);
        onSecret(rotated);
      },
      onError: (error) => {
        setConfirming(null);
        if (!reauthentication.asked(error, rotateSecret)) notifyError(error);
      },
    });
  const confirm = () => {
    if (confirming === "rotate") {
      rotateSecret();
    } else if (confirming === "delete") {
      remove.mutate(undefined, {
        onSuccess: () => notifications.show({ color: "green", message: "The endpoint was deleted." }),
        onError: (error) => {
          setConfirming(null);
          notifyError(error);
        },
      });
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby={headingId}>
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start">
          <div>
            <Title order={3} size="h4" id={headingId} style={{ wordBreak: "break-all" }}>
              {endpoint.url}
            </Title>
            {endpoint.description && <Text size="sm">{endpoint.description}</Text>}
          </div>
          <Badge color={endpoint.enabled ? "green.8" : "red.8"} variant="light">
            {endpoint.enabled ? "Enabled" : "Disabled"}
          </Badge>
        </Group>
        {endpoint.disabled_reason && (
          <Text size="sm" c="red.8">
            Stopped: {endpoint.disabled_reason}.
            {endpoint.consecutive_failures > 0 && " Fix the receiver, then enable it again."}
          </Text>
        )}
        {endpoint.consecutive_failures > 0 && endpoint.enabled && (
          <Text size="sm" c="orange.9">
            The last {endpoint.consecutive_failures} attempt(s) failed.
          </Text>
        )}
        <Switch
          label="Send events to this endpoint"
          checked={endpoint.enabled}
          disabled={update.isPending}
          onChange={(event) => toggle(event.currentTarget.checked)}
        />
        <Checkbox.Group
          label="Events"
          value={events}
          onChange={(value) => setEvents(value as PersonEventType[])}
          error={events.length === 0 ? "Choose at least one event." : undefined}
        >
          <Stack gap={6} mt={6}>
            {EVENT_TYPES.map((event) => (
              <Checkbox key={event.value} value={event.value} label={event.label} />
            ))}
          </Stack>
        </Checkbox.Group>
        <Group>
          <Button
            variant="default"
            disabled={!eventsChanged || events.length === 0}
            loading={update.isPending}
            onClick={saveEvents}
          >
            Save events
          </Button>
          <Button variant="default" onClick={() => setShowLog((shown) => !shown)} aria-expanded={showLog}>
            {showLog ? "Hide delivery log" : "Show delivery log"}
          </Button>
          <Button variant="default" onClick={() => setConfirming("rotate")}>
            Rotate secret
          </Button>
          <Button variant="default" color="red.8" onClick={() => setConfirming("delete")}>
            Delete
          </Button>
        </Group>
        {showLog && <DeliveriesTable endpointId={endpoint.id} />}
      </Stack>
      {reauthentication.modal}
      <ConfirmDialog
        opened={confirming !== null}
        title={confirming === "rotate" ? "Rotate the signing secret?" : "Delete this endpoint?"}
        confirmLabel={confirming === "rotate" ? "Rotate" : "Delete"}
        loading={rotate.isPending || remove.isPending}
        onConfirm={confirm}
        onClose={() => setConfirming(null)}
      >
        {confirming === "rotate"
          ? "You get a new secret to copy. The old one keeps signing too for a day, so you can update your receiver."
          : "Events stop at once and the delivery log is deleted. This cannot be undone."}
      </ConfirmDialog>
    </Paper>
  );
}
