import { Alert, Button, Group, Loader, Stack, Table, Text } from "@mantine/core";

import { useAuditTrail } from "@/features/data-requests-admin/api/queue";
import { formatDateTime } from "@/features/data-requests-admin/format";

/** Every recorded step of one request, newest first. */
export function AuditTrail({ requestId, reason }: { requestId: string; reason: string }) {
  const trail = useAuditTrail(requestId, reason);
  if (trail.isPending) return <Loader size="sm" role="status" aria-label="Loading the audit trail" />;
  if (trail.isError) {
    return (
      <Alert color="red" title="The audit trail could not be loaded">
        {trail.error.message}
      </Alert>
    );
  }
  const entries = trail.data.pages.flatMap((page) => page.items);
  if (entries.length === 0) return <Text size="sm">Nothing recorded yet.</Text>;
  return (
    <Stack gap="sm">
      <Table.ScrollContainer minWidth={560}>
        <Table striped aria-label="Audit trail">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>By</Table.Th>
              <Table.Th>Reason</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {entries.map((entry) => (
              <Table.Tr key={entry.id}>
                <Table.Td>{formatDateTime(entry.created_at)}</Table.Td>
                <Table.Td>
                  {entry.action}
                  {entry.fields.length > 0 && (
                    <Text size="xs" c="gray.7">
                      {entry.fields.join(", ")}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{entry.actor_kind}</Table.Td>
                <Table.Td>{entry.reason ?? "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {trail.hasNextPage && (
        <Group>
          <Button
            variant="default"
            size="xs"
            loading={trail.isFetchingNextPage}
            onClick={() => void trail.fetchNextPage()}
          >
            Load more
          </Button>
        </Group>
      )}
    </Stack>
  );
}
