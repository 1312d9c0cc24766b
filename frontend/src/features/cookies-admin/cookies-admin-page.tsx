import {
  Alert,
  Anchor,
  Button,
  Container,
  Group,
  Modal,
  Stack,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { notifyError } from "@/shared/api/problem";
import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";
import { formatDateTime } from "@/shared/lib/consent-format";
import { isPrivacyStaff, useMe } from "@/shared/hooks/use-me";

import { type AdminCookie, type CategoryKey, useCookieInventory, useDeleteCookie } from "./api/cookies";
import { CookieForm } from "./components/cookie-form";

type Located = AdminCookie & { category: CategoryKey };

/** Staff: the cookies the banner and the cookie policy list, by category, with the banner revision. */
export function CookiesAdminPage() {
  const me = useMe();
  const allowed = isPrivacyStaff(me.data);
  const inventory = useCookieInventory(allowed);
  const remove = useDeleteCookie();
  const [editing, setEditing] = useState<Located | null>(null);
  const [deleting, setDeleting] = useState<Located | null>(null);

  if (me.isPending) {
    return (
      <Container size="lg">
        <PageTitle>Cookies</PageTitle>
        <PageLoader />
      </Container>
    );
  }
  if (!allowed) {
    return (
      <Container size="lg">
        <PageTitle>Cookies</PageTitle>
        <Alert color="red" title="Privacy staff only">
          Only administrators and privacy officers manage the cookie inventory.
        </Alert>
      </Container>
    );
  }

  const confirmDelete = () => {
    if (!deleting) return;
    remove.mutate(deleting.id, {
      onSuccess: () => {
        notifications.show({ color: "green", message: `${deleting.name} is deleted.` });
        setDeleting(null);
      },
      onError: (error) => notifyError(error, `${deleting.name} could not be deleted`),
    });
  };

  const categories = (inventory.data?.categories ?? []).map((category) => ({
    value: category.key,
    label: category.name,
  }));

  return (
    <Container size="lg">
      <Stack gap="lg">
        <PageTitle>Cookies</PageTitle>
        <Text>
          What the cookie banner and the public cookie policy list. Adding, deleting, moving or retyping a cookie is a
          material change: the banner revision goes up and every visitor is asked again.
        </Text>
        {inventory.isPending && <PageLoader />}
        {inventory.isError && (
          <Alert color="red" title="Could not load the cookie inventory">
            {inventory.error.message}{" "}
            <Anchor component="button" onClick={() => void inventory.refetch()}>
              Try again
            </Anchor>
          </Alert>
        )}
        {inventory.isSuccess && (
          <>
            <Text fw={600}>
              Banner revision {inventory.data.revision}, last changed {formatDateTime(inventory.data.updated_at)}
            </Text>
            {inventory.data.categories.length === 0 && <Text>There are no cookie categories yet.</Text>}
            {inventory.data.categories.map((category) => (
              <section key={category.key} aria-labelledby={`admin-cookies-${category.key}`}>
                <Title order={2} size="h3" id={`admin-cookies-${category.key}`} mb="xs">
                  {category.name}
                </Title>
                <Text size="sm" c="dimmed" mb="sm">
                  {category.required ? "Always on" : "Only with consent"} · purpose{" "}
                  <Text span ff="monospace" size="sm">
                    {category.purpose_key}
                  </Text>
                </Text>
                {category.cookies.length === 0 ? (
                  <Text size="sm">No cookies in this category.</Text>
                ) : (
                  <Table.ScrollContainer minWidth={720}>
                    <Table striped aria-label={`${category.name} cookies`}>
                      <Table.Thead>
                        <Table.Tr>
                          <Table.Th>Cookie</Table.Th>
                          <Table.Th>Provider</Table.Th>
                          <Table.Th>Purpose</Table.Th>
                          <Table.Th>Duration</Table.Th>
                          <Table.Th>Party</Table.Th>
                          <Table.Th>
                            <VisuallyHidden>Actions</VisuallyHidden>
                          </Table.Th>
                        </Table.Tr>
                      </Table.Thead>
                      <Table.Tbody>
                        {category.cookies.map((cookie) => (
                          <Table.Tr key={cookie.id}>
                            <Table.Td>
                              <Text size="sm" ff="monospace">
                                {cookie.name}
                              </Text>
                              {cookie.pattern && (
                                <Text size="xs" c="dimmed">
                                  pattern
                                </Text>
                              )}
                            </Table.Td>
                            <Table.Td>{cookie.provider}</Table.Td>
                            <Table.Td>{cookie.description}</Table.Td>
                            <Table.Td>{cookie.duration}</Table.Td>
                            <Table.Td>{cookie.party === "first" ? "First" : "Third"}</Table.Td>
                            <Table.Td>
                              <Group gap="xs" wrap="nowrap">
                                <Button
                                  size="xs"
                                  variant="default"
                                  aria-label={`Edit ${cookie.name}`}
                                  aria-expanded={editing?.id === cookie.id}
                                  onClick={() =>
                                    setEditing(editing?.id === cookie.id ? null : { ...cookie, category: category.key })
                                  }
                                >
                                  Edit
                                </Button>
                                <Button
                                  size="xs"
                                  variant="default"
                                  color="red"
                                  aria-label={`Delete ${cookie.name}`}
                                  onClick={() => setDeleting({ ...cookie, category: category.key })}
                                >
                                  Delete
                                </Button>
                              </Group>
                            </Table.Td>
                          </Table.Tr>
                        ))}
                      </Table.Tbody>
                    </Table>
                  </Table.ScrollContainer>
                )}
              </section>
            ))}
            {editing && (
              <CookieForm key={editing.id} categories={categories} cookie={editing} onDone={() => setEditing(null)} />
            )}
            <CookieForm categories={categories} />
          </>
        )}
      </Stack>
      <Modal opened={deleting !== null} onClose={() => setDeleting(null)} title={`Delete ${deleting?.name ?? ""}?`}>
        <Stack gap="md">
          <Text>It leaves the banner and the cookie policy, and every visitor is asked again.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={confirmDelete}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Container>
  );
}
