import { Alert, Button, Container, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import { useState } from "react";

import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";
import { isPrivacyStaff, useMe } from "@/shared/hooks/use-me";

import { legalBasisLabel, useAdminPurposes } from "./api/purposes";
import { PurposeCreateForm } from "./components/purpose-create-form";
import { PurposeEditForm } from "./components/purpose-edit-form";

/** Staff: what we ask consent for, with edits that version the wording. */
export function PurposesPage() {
  const me = useMe();
  const allowed = isPrivacyStaff(me.data);
  const purposes = useAdminPurposes(allowed);
  const [editing, setEditing] = useState<string | null>(null);

  if (me.isPending) {
    return (
      <Container size="lg">
        <PageTitle>Purposes</PageTitle>
        <PageLoader />
      </Container>
    );
  }
  if (!allowed) {
    return (
      <Container size="lg">
        <PageTitle>Purposes</PageTitle>
        <Alert color="red" title="Privacy staff only">
          Only administrators and privacy officers manage purposes.
        </Alert>
      </Container>
    );
  }

  const selected = purposes.data?.find((purpose) => purpose.key === editing);
  return (
    <Container size="lg">
      <Stack gap="lg">
        <PageTitle>Purposes</PageTitle>
        <Text>
          Editing a name or description makes a new version. Tick “Material change” when the purpose now covers
          something people did not agree to: everyone who consented is asked again.
        </Text>
        {purposes.isPending ? (
          <PageLoader />
        ) : purposes.isError ? (
          <Alert color="red" title="Could not load the purposes">
            {purposes.error.message}
          </Alert>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped aria-label="Purposes">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Key</Table.Th>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Legal basis</Table.Th>
                  <Table.Th>Optional</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {purposes.data.map((purpose) => (
                  <Table.Tr key={purpose.key}>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {purpose.key}
                      </Text>
                    </Table.Td>
                    <Table.Td>{purpose.name}</Table.Td>
                    <Table.Td>{legalBasisLabel(purpose.legal_basis)}</Table.Td>
                    <Table.Td>{purpose.optional ? "Yes" : "No"}</Table.Td>
                    <Table.Td>{purpose.version}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="default"
                        aria-label={`Edit ${purpose.key}`}
                        aria-expanded={editing === purpose.key}
                        onClick={() => setEditing(editing === purpose.key ? null : purpose.key)}
                      >
                        Edit
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {selected && <PurposeEditForm key={selected.key} purpose={selected} onDone={() => setEditing(null)} />}
        <PurposeCreateForm />
      </Stack>
    </Container>
  );
}
