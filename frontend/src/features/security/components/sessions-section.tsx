import { Alert, Button, Group, Loader, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { notifyError } from "@/shared/api/problem";

import { type SessionRead, useRevokeSession, useSessions } from "@/features/security/api/security";
import { describeDevice, formatDateTime } from "@/features/security/format";
import { ConfirmDialog } from "@/shared/components/confirm-dialog";

export function SessionsSection() {
  const sessions = useSessions();
  const revoke = useRevokeSession();
  const [pending, setPending] = useState<SessionRead | null>(null);

  if (sessions.isPending) return <Loader size="sm" role="status" aria-label="Loading sessions" />;
  if (sessions.isError) {
    return (
      <Alert color="red" title="Sessions could not be loaded">
        {sessions.error.message}
      </Alert>
    );
  }
  const rows = sessions.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Text>No signed-in browsers.</Text>;

  const confirmRevoke = () => {
    if (!pending) return;
    revoke.mutate(pending.id, {
      onSuccess: () => {
        notifications.show({ color: "green", message: `${describeDevice(pending.user_agent)} is signed out.` });
        setPending(null);
      },
      onError: (error) => {
        notifyError(error);
        setPending(null);
      },
    });
  };

  return (
    <Stack gap="sm">
      <Table.ScrollContainer minWidth={640}>
        <Table striped aria-label="Sessions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Device</Table.Th>
              <Table.Th>IP address</Table.Th>
              <Table.Th>Last seen</Table.Th>
              <Table.Th>Signed in</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.id}>
                <Table.Td>
                  <Text size="sm">{describeDevice(row.user_agent)}</Text>
                  {row.user_agent && (
                    <Text size="xs" c="gray.7" lineClamp={1} title={row.user_agent}>
                      {row.user_agent}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{row.ip_address ?? "Unknown"}</Table.Td>
                <Table.Td>{formatDateTime(row.last_seen_at)}</Table.Td>
                <Table.Td>{formatDateTime(row.created_at)}</Table.Td>
                <Table.Td>
                  {row.current ? (
                    <Text size="sm" fw={700} style={{ whiteSpace: "nowrap" }}>
                      This device
                    </Text>
                  ) : (
                    <Button size="xs" variant="default" onClick={() => setPending(row)}>
                      Revoke
                    </Button>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {sessions.hasNextPage && (
        <Group>
          <Button variant="default" loading={sessions.isFetchingNextPage} onClick={() => void sessions.fetchNextPage()}>
            Load more
          </Button>
        </Group>
      )}
      <ConfirmDialog
        opened={pending !== null}
        title="Sign this browser out?"
        confirmLabel="Confirm"
        loading={revoke.isPending}
        onConfirm={confirmRevoke}
        onClose={() => setPending(null)}
      >
        {pending
          ? `${describeDevice(pending.user_agent)} (${pending.ip_address ?? "unknown IP address"}) ` +
            "will have to sign in again."
          : ""}
      </ConfirmDialog>
    </Stack>
  );
}
