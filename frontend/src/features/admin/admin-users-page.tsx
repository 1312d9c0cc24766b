import {
  Alert,
  Button,
  Container,
  Group,
  Loader,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  VisuallyHidden,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { isStaff, useMe } from "@/shared/hooks/use-me";
import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";

import { type UserSearch, useUserSearch } from "./api/users";
import { UserRow } from "./components/user-row";

const REASON_MIN = 5;

function reasonProblem(value: string): string | null {
  return value.trim().length >= REASON_MIN
    ? null
    : `Say why you need this (at least ${REASON_MIN} characters); it is recorded in the audit log.`;
}

export function AdminUsersPage() {
  const me = useMe();
  const [search, setSearch] = useState<UserSearch | null>(null);
  const form = useForm({
    initialValues: { q: "", reason: "" },
    validate: { reason: reasonProblem },
  });
  const users = useUserSearch(search);

  if (me.isPending) {
    return (
      <Container size="lg">
        <PageTitle>Users</PageTitle>
        <PageLoader />
      </Container>
    );
  }
  if (!me.data || !isStaff(me.data)) {
    return (
      <Container size="lg">
        <PageTitle>Users</PageTitle>
        <Alert color="red" mt="md" title="Staff only">
          Your role does not give access to the user directory.
        </Alert>
      </Container>
    );
  }
  const canEdit = me.data.role === "admin";

  const takeReason = (): string | null => {
    const reason = form.getValues().reason.trim();
    const problem = reasonProblem(reason);
    if (problem) {
      form.setFieldError("reason", problem);
      notifications.show({ color: "red", title: "A reason is needed", message: problem });
      return null;
    }
    return reason;
  };

  const rows = users.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <Container size="lg">
      <Stack gap="lg">
        <PageTitle>Users</PageTitle>
        <Paper withBorder p="md">
          <form
            role="search"
            noValidate
            onSubmit={form.onSubmit((values) => setSearch({ q: values.q.trim(), reason: values.reason.trim() }))}
          >
            <Stack gap="sm">
              <Group align="flex-start" grow>
                <TextInput
                  label="Search"
                  description="Email, name or company; leave empty to list everyone."
                  type="search"
                  maxLength={200}
                  {...form.getInputProps("q")}
                />
                <TextInput
                  label="Reason"
                  description="Why you need this, such as a ticket number; it is audited."
                  required
                  maxLength={500}
                  {...form.getInputProps("reason")}
                />
              </Group>
              <Group>
                <Button type="submit" loading={users.isFetching && !users.isFetchingNextPage}>
                  Search
                </Button>
              </Group>
            </Stack>
          </form>
        </Paper>
        {search === null ? (
          <Text c="gray.7">Give a reason and search to see users.</Text>
        ) : users.isPending ? (
          <Loader role="status" aria-label="Searching users" />
        ) : users.isError ? (
          <Alert color="red" title="The search failed">
            {users.error.message}
          </Alert>
        ) : rows.length === 0 ? (
          <Text role="status">No users match</Text>
        ) : (
          <Stack gap="sm">
            <Table.ScrollContainer minWidth={720}>
              <Table striped aria-label="Users">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Email</Table.Th>
                    <Table.Th>Name</Table.Th>
                    <Table.Th>Role</Table.Th>
                    <Table.Th>Status</Table.Th>
                    {canEdit && (
                      <Table.Th>
                        <VisuallyHidden>Actions</VisuallyHidden>
                      </Table.Th>
                    )}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.map((user) => (
                    <UserRow key={user.id} user={user} canEdit={canEdit} takeReason={takeReason} />
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {users.hasNextPage && (
              <Group>
                <Button variant="default" loading={users.isFetchingNextPage} onClick={() => void users.fetchNextPage()}>
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
