import { Alert, Badge, Button, Group, Loader, Stack, Table, Text } from "@mantine/core";

import { type DeliveryRead, useDeliveries } from "@/features/webhooks/api/webhooks";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const when = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : "—");
const STATUS_COLORS: Record<DeliveryRead["status"], string> = {
  pending: "yellow.8",
  succeeded: "green.8",
  failed: "red.8",
};

export function DeliveriesTable({ endpointId }: { endpointId: string }) {
  const deliveries = useDeliveries(endpointId);
  if (deliveries.isPending) return <Loader size="sm" role="status" aria-label="Loading deliveries" />;
  if (deliveries.isError) {
    return (
      <Alert color="red" title="The delivery log could not be loaded">
        {deliveries.error.message}
      </Alert>
    );
  }
  const rows = deliveries.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Text c="gray.7">Nothing has been sent to this endpoint yet.</Text>;
  return (
    <Stack gap="sm">
      <Table.ScrollContainer minWidth={720}>
        <Table striped aria-label="Deliveries">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Event</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Attempts</Table.Th>
              <Table.Th>Last answer</Table.Th>
              <Table.Th>Last attempt</Table.Th>
              <Table.Th>Next attempt</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.id}>
                <Table.Td>
                  <Text size="sm">{row.event_type}</Text>
                  <Text size="xs" c="gray.7" ff="monospace">
                    {row.id}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLORS[row.status]} variant="light">
                    {row.status}
                  </Badge>
                </Table.Td>
                <Table.Td>{row.attempts}</Table.Td>
                <Table.Td>
                  <Text size="sm">
                    {row.last_status_code ? `HTTP ${row.last_status_code}` : "No answer"}
                    {row.last_duration_ms !== null && row.last_duration_ms !== undefined
                      ? ` in ${row.last_duration_ms} ms`
                      : ""}
                  </Text>
                  {row.last_error && (
                    <Text size="xs" c="red.8">
                      {row.last_error}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{when(row.last_attempt_at)}</Table.Td>
                <Table.Td>{when(row.next_attempt_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {deliveries.hasNextPage && (
        <Group>
          <Button
            variant="default"
            loading={deliveries.isFetchingNextPage}
            onClick={() => void deliveries.fetchNextPage()}
          >
            Show older deliveries
          </Button>
        </Group>
      )}
    </Stack>
  );
}
