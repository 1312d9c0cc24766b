import {
  Alert,
  Button,
  Container,
  Group,
  Loader,
  NativeSelect,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";
import { isPrivacyStaff, useMe } from "@/shared/hooks/use-me";

import { type Opened, type QueueFilters, useQueue } from "./api/queue";
import { RequestBadges } from "./components/badges";
import { RequestDetail } from "./components/request-detail";
import { formatDate, formatDateTime, jurisdictionLabel, KINDS, kindLabel, shortId, STATES } from "./format";

const REASON_MIN = 5;
const NO_FILTERS: QueueFilters = { state: "", kind: "", dueBefore: "", overdue: "" };

function reasonProblem(value: string): string | null {
  return value.trim().length >= REASON_MIN
    ? null
    : `Say why you need this (at least ${REASON_MIN} characters); it is recorded in the audit log.`;
}

/** Admin > Data requests: the queue, soonest due first, and one request opened with a stated reason. */
export function DataRequestsAdminPage() {
  const me = useMe();
  const allowed = isPrivacyStaff(me.data);
  const [filters, setFilters] = useState<QueueFilters>(NO_FILTERS);
  const [opened, setOpened] = useState<Opened | null>(null);
  const queue = useQueue(filters, allowed);
  const reasonForm = useForm({ initialValues: { reason: "" }, validate: { reason: reasonProblem } });

  if (me.isPending) {
    return (
      <Container size="lg">
        <PageTitle>Data requests</PageTitle>
        <PageLoader />
      </Container>
    );
  }
  if (!allowed) {
    return (
      <Container size="lg">
        <PageTitle>Data requests</PageTitle>
        <Alert color="red" mt="md" title="Privacy officers and administrators only">
          Your role does not give access to data requests.
        </Alert>
      </Container>
    );
  }

  const filter = <K extends keyof QueueFilters>(key: K, value: QueueFilters[K]) =>
    setFilters((current) => ({ ...current, [key]: value }));

  const open = (id: string) => {
    const reason = reasonForm.getValues().reason.trim();
    const problem = reasonProblem(reason);
    if (problem) {
      reasonForm.setFieldError("reason", problem);
      notifications.show({ color: "red", title: "A reason is needed", message: problem });
      return;
    }
    setOpened({ id, reason });
  };

  const rows = queue.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <Container size="lg">
      <Stack gap="lg">
        <PageTitle>Data requests</PageTitle>
        <Paper withBorder p="md">
          <Stack gap="sm">
            <SimpleGrid cols={{ base: 1, sm: 4 }} spacing="sm">
              <NativeSelect
                label="State"
                data={[{ value: "", label: "Any state" }, ...STATES]}
                value={filters.state}
                onChange={(event) => filter("state", event.currentTarget.value as QueueFilters["state"])}
              />
              <NativeSelect
                label="Kind"
                data={[{ value: "", label: "Any kind" }, ...KINDS]}
                value={filters.kind}
                onChange={(event) => filter("kind", event.currentTarget.value as QueueFilters["kind"])}
              />
              <TextInput
                label="Due before"
                type="date"
                value={filters.dueBefore}
                onChange={(event) => filter("dueBefore", event.currentTarget.value)}
              />
              <NativeSelect
                label="Overdue"
                data={[
                  { value: "", label: "Either" },
                  { value: "true", label: "Overdue only" },
                  { value: "false", label: "Not overdue" },
                ]}
                value={filters.overdue}
                onChange={(event) => filter("overdue", event.currentTarget.value as QueueFilters["overdue"])}
              />
            </SimpleGrid>
            <TextInput
              label="Reason"
              description="Why you open a request (its requester's address and details), such as a ticket number; it is audited."
              required
              maxLength={500}
              {...reasonForm.getInputProps("reason")}
            />
          </Stack>
        </Paper>
        {opened && (
          <RequestDetail key={`${opened.id}-${opened.reason}`} opened={opened} onClose={() => setOpened(null)} />
        )}
        {queue.isPending ? (
          <Loader role="status" aria-label="Loading data requests" />
        ) : queue.isError ? (
          <Alert color="red" title="The queue could not be loaded">
            {queue.error.message}
          </Alert>
        ) : rows.length === 0 ? (
          <Text role="status">No data requests match.</Text>
        ) : (
          <Stack gap="sm">
            <Table.ScrollContainer minWidth={720}>
              <Table striped aria-label="Data requests">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Kind</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Received</Table.Th>
                    <Table.Th>Due</Table.Th>
                    <Table.Th>Requester</Table.Th>
                    <Table.Th>
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.map((request) => (
                    <Table.Tr key={request.id} aria-selected={opened?.id === request.id}>
                      <Table.Td>{kindLabel(request.kind)}</Table.Td>
                      <Table.Td>
                        <RequestBadges request={request} />
                      </Table.Td>
                      <Table.Td>{formatDate(request.created_at)}</Table.Td>
                      <Table.Td>
                        {formatDate(request.due_at)}
                        {request.extended && " (extended)"}
                      </Table.Td>
                      <Table.Td>
                        {request.user_id ? "Account" : "By email"} · {jurisdictionLabel(request.jurisdiction)}
                      </Table.Td>
                      <Table.Td>
                        <Button
                          size="xs"
                          variant="default"
                          onClick={() => open(request.id)}
                          aria-label={`Open ${kindLabel(request.kind).toLowerCase()} request ${shortId(request.id)}, received ${formatDateTime(request.created_at)}`}
                        >
                          Open
                        </Button>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {queue.hasNextPage && (
              <Group>
                <Button variant="default" loading={queue.isFetchingNextPage} onClick={() => void queue.fetchNextPage()}>
                  Load more
                </Button>
              </Group>
            )}
          </Stack>
        )}
      </Stack>
    </Container>
  );
}
