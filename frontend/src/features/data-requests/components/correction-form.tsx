import { Button, Checkbox, Group, SimpleGrid, Stack, Textarea } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";

import { showFormError } from "@/shared/api/problem";

import type { CorrectableField, DataRequest, DataRequestCreate } from "@/features/data-requests/api/data-requests";
import { FIELD_LABELS } from "@/features/data-requests/format";

export const DETAILS_MAX = 4000;
const FIELDS = Object.entries(FIELD_LABELS) as [CorrectableField, string][];

interface CorrectionFormProps {
  requesting: boolean;
  onRequest: (
    body: DataRequestCreate,
    callbacks: { onCreated: (request: DataRequest) => void; onFailed: (error: Error) => void },
  ) => void;
}

/** Ask us to correct data you cannot edit yourself: what is wrong, and which fields. */
export function CorrectionForm({ requesting, onRequest }: CorrectionFormProps) {
  const form = useForm({
    initialValues: { details: "", fields: [] as CorrectableField[] },
    validate: {
      details: (value) => (value.trim() ? null : "Say what is wrong and what it should be."),
      fields: (value) => (value.length ? null : "Choose at least one kind of data."),
    },
  });

  const submit = form.onSubmit((values) =>
    onRequest(
      { kind: "correction", details: values.details.trim(), fields: values.fields },
      {
        onCreated: () => {
          form.reset();
          notifications.show({
            color: "green",
            message: "Correction requested. We answer by email before the due date.",
          });
        },
        onFailed: (error) => showFormError(error, form),
      },
    ),
  );

  return (
    <form noValidate onSubmit={submit} aria-label="Ask for a correction">
      <Stack gap="sm">
        <Checkbox.Group label="What needs correcting" required {...form.getInputProps("fields")}>
          <SimpleGrid cols={{ base: 1, xs: 2, sm: 3 }} spacing="xs" mt="xs">
            {FIELDS.map(([value, label]) => (
              <Checkbox key={value} value={value} label={label} />
            ))}
          </SimpleGrid>
        </Checkbox.Group>
        <Textarea
          label="Details"
          description="What is wrong, and what it should say instead."
          required
          autosize
          minRows={3}
          maxLength={DETAILS_MAX}
          {...form.getInputProps("details")}
        />
        <Group>
          <Button type="submit" variant="default" loading={requesting}>
            Ask for a correction
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
