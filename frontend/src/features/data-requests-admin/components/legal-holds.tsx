import { Alert, Button, Group, Loader, NativeSelect, Stack, Table, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";

import { notifyError, showFormError } from "@/shared/api/problem";

import { type Category, useLegalHolds, usePlaceHold, useReleaseHold } from "@/features/data-requests-admin/api/queue";
import { CATEGORIES, categoryLabel, formatDate } from "@/features/data-requests-admin/format";

const REASON_MIN = 5;

function reasonProblem(value: string): string | null {
  return value.trim().length >= REASON_MIN ? null : `Give the legal reason (at least ${REASON_MIN} characters).`;
}

interface LegalHoldsProps {
  userId: string;
  /** The reason the request was opened with; the list of holds is read (and audited) with it. */
  reason: string;
}

/** A requester's legal holds: what must be kept through erasure, placed and released with a reason. */
export function LegalHolds({ userId, reason }: LegalHoldsProps) {
  const holds = useLegalHolds(userId, reason);
  const place = usePlaceHold(userId);
  const release = useReleaseHold(userId);
  const form = useForm({
    initialValues: { category: "" as Category | "", reason: "" },
    validate: {
      category: (value) => (value ? null : "Choose the category to keep."),
      reason: reasonProblem,
    },
  });
  const releaseForm = useForm({ initialValues: { releaseReason: "" }, validate: { releaseReason: reasonProblem } });

  const placeHold = form.onSubmit((values) => {
    if (!values.category) return;
    place.mutate(
      { category: values.category, reason: values.reason.trim() },
      {
        onSuccess: (hold) => {
          form.reset();
          notifications.show({ color: "green", message: `${categoryLabel(hold.category)} is on hold.` });
        },
        onError: (error) => showFormError(error, form),
      },
    );
  });

  const releaseHold = (id: string, category: string) => {
    const validation = releaseForm.validate();
    if (validation.hasErrors) return;
    release.mutate(
      { id, reason: releaseForm.getValues().releaseReason.trim() },
      {
        onSuccess: () => {
          releaseForm.reset();
          notifications.show({ color: "green", message: `The hold on ${categoryLabel(category)} is released.` });
        },
        onError: (error) => notifyError(error),
      },
    );
  };

  const rows = holds.data?.pages.flatMap((page) => page.items) ?? [];
  const current = rows.filter((hold) => hold.released_at === null);
  return (
    <Stack gap="md">
      {holds.isPending && <Loader size="sm" role="status" aria-label="Loading legal holds" />}
      {holds.isError && (
        <Alert color="red" title="Legal holds could not be loaded">
          {holds.error.message}
        </Alert>
      )}
      {holds.isSuccess && rows.length === 0 && <Text size="sm">No legal holds.</Text>}
      {rows.length > 0 && (
        <Table.ScrollContainer minWidth={560}>
          <Table striped aria-label="Legal holds">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Category</Table.Th>
                <Table.Th>Reason</Table.Th>
                <Table.Th>Placed</Table.Th>
                <Table.Th>Released</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((hold) => (
                <Table.Tr key={hold.id}>
                  <Table.Td>{categoryLabel(hold.category)}</Table.Td>
                  <Table.Td>{hold.reason}</Table.Td>
                  <Table.Td>{formatDate(hold.created_at)}</Table.Td>
                  <Table.Td>
                    {hold.released_at ? (
                      formatDate(hold.released_at)
                    ) : (
                      <Button
                        size="xs"
                        variant="default"
                        loading={release.isPending && release.variables?.id === hold.id}
                        onClick={() => releaseHold(hold.id, hold.category)}
                      >
                        Release {categoryLabel(hold.category)}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {current.length > 0 && (
        <TextInput
          label="Reason for releasing"
          description="Why the data need no longer be kept; audited."
          maxLength={1000}
          {...releaseForm.getInputProps("releaseReason")}
        />
      )}
      <form noValidate onSubmit={placeHold} aria-label="Place a legal hold">
        <Group align="flex-end" grow>
          <NativeSelect
            label="Category to keep"
            required
            data={[{ value: "", label: "Choose a category" }, ...CATEGORIES]}
            {...form.getInputProps("category")}
          />
          <TextInput label="Legal reason" required maxLength={1000} {...form.getInputProps("reason")} />
        </Group>
        <Group mt="sm">
          <Button type="submit" variant="default" loading={place.isPending}>
            Place hold
          </Button>
        </Group>
      </form>
    </Stack>
  );
}
