import { Badge, Button, Group, Stack, Table, Text } from "@mantine/core";

import type { DataRequest } from "@/features/data-requests/api/data-requests";
import {
  certificateSummary,
  formatDate,
  KIND_LABELS,
  STATE_COLORS,
  STATE_LABELS,
} from "@/features/data-requests/format";

// Mantine cuts a badge's label with an ellipsis when its cell is narrow; show the whole word instead.
const WHOLE = { root: { flexShrink: 0, maxWidth: "none" }, label: { overflow: "visible" } };

interface RequestHistoryProps {
  requests: DataRequest[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}

function Outcome({ request }: { request: DataRequest }) {
  const certificate = certificateSummary(request.certificate);
  return (
    <Stack gap={2}>
      {request.outcome && <Text size="sm">{request.outcome}</Text>}
      {request.extended && request.extension_reason && (
        <Text size="sm">Deadline extended: {request.extension_reason}</Text>
      )}
      {certificate && <Text size="sm">Deletion certificate: {certificate}</Text>}
      {!request.outcome && !request.extended && !certificate && (
        <Text size="sm" c="gray.7">
          —
        </Text>
      )}
    </Stack>
  );
}

/** Every request the person has made, newest first, with its state, due date and outcome. */
export function RequestHistory({ requests, hasMore, loadingMore, onLoadMore }: RequestHistoryProps) {
  if (requests.length === 0) return <Text>You have not made any requests yet.</Text>;
  return (
    <Stack gap="sm">
      <Table.ScrollContainer minWidth={640}>
        <Table striped aria-label="Your requests">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Request</Table.Th>
              <Table.Th>Made</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Due</Table.Th>
              <Table.Th>Outcome</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {requests.map((request) => (
              <Table.Tr key={request.id}>
                <Table.Td>{KIND_LABELS[request.kind] ?? request.kind}</Table.Td>
                <Table.Td>{formatDate(request.created_at)}</Table.Td>
                <Table.Td>
                  <Badge styles={WHOLE} variant="filled" color={STATE_COLORS[request.state] ?? "gray.7"} autoContrast>
                    {STATE_LABELS[request.state] ?? request.state}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  {request.closed_at ? `Closed ${formatDate(request.closed_at)}` : formatDate(request.due_at)}
                  {request.extended && !request.closed_at && " (extended)"}
                </Table.Td>
                <Table.Td>
                  <Outcome request={request} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {hasMore && (
        <Group>
          <Button variant="default" loading={loadingMore} onClick={onLoadMore}>
            Load more
          </Button>
        </Group>
      )}
    </Stack>
  );
}
