import { Alert, Button, Code, Group, Loader, Stack, Table, Text, Title, VisuallyHidden } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { notifyError } from "@/shared/api/problem";

import { type TokenCreated, type TokenRead, useRevokeToken, useTokens } from "@/features/security/api/security";
import { formatDate, formatDateTime } from "@/features/security/format";
import { ConfirmDialog } from "@/shared/components/confirm-dialog";
import { CreateTokenForm } from "./create-token-form";
import { TokenSecret } from "./token-secret";

function TokenList() {
  const tokens = useTokens();
  const revoke = useRevokeToken();
  const [pending, setPending] = useState<TokenRead | null>(null);

  if (tokens.isPending) return <Loader size="sm" role="status" aria-label="Loading API tokens" />;
  if (tokens.isError) {
    return (
      <Alert color="red" title="API tokens could not be loaded">
        {tokens.error.message}
      </Alert>
    );
  }
  const rows = tokens.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return <Text c="gray.7">You have no API tokens.</Text>;

  const confirmRevoke = () => {
    if (!pending) return;
    revoke.mutate(pending.id, {
      onSuccess: () => {
        notifications.show({ color: "green", message: `Token “${pending.name}” is revoked.` });
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
        <Table striped aria-label="API tokens">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Token</Table.Th>
              <Table.Th>Scopes</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.id}>
                <Table.Td>
                  <Text size="sm">{row.name}</Text>
                  <Text size="xs" c="gray.7" ff="monospace">
                    …{row.hint}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {row.scopes.map((scope) => (
                      <Code key={scope}>{scope}</Code>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{formatDate(row.expires_at)}</Table.Td>
                <Table.Td>{row.last_used_at ? formatDateTime(row.last_used_at) : "Never"}</Table.Td>
                <Table.Td>
                  <Button size="xs" variant="default" onClick={() => setPending(row)}>
                    Revoke
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {tokens.hasNextPage && (
        <Group>
          <Button variant="default" loading={tokens.isFetchingNextPage} onClick={() => void tokens.fetchNextPage()}>
            Show more tokens
          </Button>
        </Group>
      )}
      <ConfirmDialog
        opened={pending !== null}
        title="Revoke this token?"
        confirmLabel="Confirm"
        loading={revoke.isPending}
        onConfirm={confirmRevoke}
        onClose={() => setPending(null)}
      >
        {pending ? `Apps using “${pending.name}” stop working at once.` : ""}
      </ConfirmDialog>
    </Stack>
  );
}

export function TokensSection({ isStaff, mfaEnabled }: { isStaff: boolean; mfaEnabled: boolean }) {
  const [created, setCreated] = useState<TokenCreated | null>(null);
  return (
    <Stack gap="md">
      <Text size="sm">
        Personal access tokens let another app act for you through the API, limited to the scopes you choose.
      </Text>
      {created && <TokenSecret token={created} onDone={() => setCreated(null)} />}
      <TokenList />
      <Title order={3} size="h4">
        New token
      </Title>
      <CreateTokenForm isStaff={isStaff} mfaEnabled={mfaEnabled} onCreated={setCreated} />
    </Stack>
  );
}
