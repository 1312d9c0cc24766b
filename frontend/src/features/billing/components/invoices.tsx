import { Alert, Anchor, Button, Group, Loader, Table, Text, VisuallyHidden } from "@mantine/core";
import { useState } from "react";

import { useInvoices } from "@/features/billing/api/billing";
import { formatDate, formatMoney, statusLabel } from "@/features/billing/format";

/** The person's invoices, newest first, a page at a time. */
export function Invoices() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const invoices = useInvoices(cursors[cursors.length - 1]);
  if (invoices.isPending) return <Loader size="sm" role="status" aria-label="Loading your invoices" />;
  if (invoices.isError) {
    return (
      <Alert color="red" title="Your invoices could not be loaded">
        {invoices.error.message}{" "}
        <Anchor component="button" onClick={() => void invoices.refetch()}>
          Try again
        </Anchor>
      </Alert>
    );
  }
  const { items, next_cursor: next } = invoices.data;
  if (items.length === 0 && cursors.length === 1) return <Text>No invoices yet.</Text>;
  return (
    <>
      <Table.ScrollContainer minWidth={480}>
        <Table aria-label="Invoices" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Date</Table.Th>
              <Table.Th scope="col">Number</Table.Th>
              <Table.Th scope="col">Amount</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">Invoice</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((invoice) => (
              <Table.Tr key={invoice.id}>
                <Table.Td>{formatDate(invoice.issued_at)}</Table.Td>
                <Table.Td>{invoice.number ?? "—"}</Table.Td>
                <Table.Td>{formatMoney(invoice.amount_due, invoice.currency)}</Table.Td>
                <Table.Td>{statusLabel(invoice.status)}</Table.Td>
                <Table.Td>
                  {invoice.hosted_invoice_url ? (
                    <Anchor href={invoice.hosted_invoice_url} target="_blank" rel="noopener noreferrer">
                      View<VisuallyHidden> invoice {invoice.number ?? ""}</VisuallyHidden>
                    </Anchor>
                  ) : (
                    "—"
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Group mt="sm">
        {cursors.length > 1 && (
          <Button variant="default" size="xs" onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer invoices
          </Button>
        )}
        {next && (
          <Button variant="default" size="xs" onClick={() => setCursors([...cursors, next])}>
            Older invoices
          </Button>
        )}
      </Group>
    </>
  );
}
