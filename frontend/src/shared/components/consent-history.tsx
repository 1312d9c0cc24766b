import { Alert, Button, Group, Loader, Stack, Table, Text } from "@mantine/core";

import { notifyError } from "@/shared/api/problem";

import { actionLabel, capitalize, formatDateTime, methodLabel } from "@/shared/lib/consent-format";
import { downloadText } from "@/shared/lib/download";
import { type ConsentEventRead, useConsentEvents, useReceiptDownload } from "@/shared/hooks/use-consent-events";

function receiptFilename(event: ConsentEventRead): string {
  return `consent-receipt-${event.purpose_key}-${event.created_at.slice(0, 10)}-${event.id.slice(0, 8)}.jws`;
}

interface ConsentHistoryProps {
  names: ReadonlyMap<string, string>;
  /** Only these purposes' events (the cookie categories' purposes), else every event. */
  purposes?: ReadonlySet<string>;
  label?: string;
  emptyText?: string;
}

/** The user's consent events, newest first, each with its signed receipt. */
export function ConsentHistory({
  names,
  purposes,
  label = "Consent history",
  emptyText = "No consent events yet",
}: ConsentHistoryProps) {
  const events = useConsentEvents();
  const receipt = useReceiptDownload();

  if (events.isPending) return <Loader size="sm" role="status" aria-label={`Loading ${label.toLowerCase()}`} />;
  if (events.isError) {
    return (
      <Alert color="red" title={`${label} could not be loaded`}>
        {events.error.message}
      </Alert>
    );
  }
  const rows = events.data.pages
    .flatMap((page) => page.items)
    .filter((event) => !purposes || purposes.has(event.purpose_key));
  const more = events.hasNextPage && (
    <Group>
      <Button variant="default" loading={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
        Load more
      </Button>
    </Group>
  );
  if (rows.length === 0) {
    return (
      <Stack gap="sm">
        <Text>{emptyText}</Text>
        {more}
      </Stack>
    );
  }

  const download = (event: ConsentEventRead) =>
    receipt.mutate(event, {
      onSuccess: (jws) => downloadText(receiptFilename(event), jws, "application/jose"),
      onError: (error) => notifyError(error, "The receipt could not be downloaded"),
    });

  return (
    <Stack gap="sm">
      <Table.ScrollContainer minWidth={560}>
        <Table striped aria-label={label}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Purpose</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>How</Table.Th>
              <Table.Th>Receipt</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((event) => {
              const purpose = names.get(event.purpose_key) ?? event.purpose_key;
              const when = formatDateTime(event.created_at);
              return (
                <Table.Tr key={event.id}>
                  <Table.Td>{when}</Table.Td>
                  <Table.Td>{purpose}</Table.Td>
                  <Table.Td>{actionLabel(event.action)}</Table.Td>
                  <Table.Td>{capitalize(methodLabel(event.method))}</Table.Td>
                  <Table.Td>
                    <Button
                      size="xs"
                      variant="default"
                      aria-label={`Download receipt for ${purpose} ${when}`}
                      loading={receipt.isPending && receipt.variables?.id === event.id}
                      onClick={() => download(event)}
                    >
                      Receipt
                    </Button>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {more}
    </Stack>
  );
}
