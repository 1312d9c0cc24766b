import { Button, Group, Paper, Stack, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useId } from "react";

import { showFormError } from "@/shared/api/problem";

import { type LegalBasis, useCreatePurpose } from "@/features/consent-admin/api/purposes";
import { PurposeFields } from "./purpose-fields";

const KEY_PATTERN = /^[a-z][a-z0-9_]{2,63}$/;

/** Add a purpose; the API checks the key's format and uniqueness. */
export function PurposeCreateForm() {
  const titleId = useId();
  const create = useCreatePurpose();
  const form = useForm({
    initialValues: {
      key: "",
      name: "",
      description: "",
      legal_basis: "consent" as LegalBasis,
      optional: true,
    },
    validate: {
      key: (value) =>
        KEY_PATTERN.test(value.trim())
          ? null
          : "Use 3 to 64 lowercase letters, digits or underscores, starting with a letter.",
      name: (value) => (value.trim() ? null : "Give the purpose a name."),
      description: (value) => (value.trim() ? null : "Describe what the data is used for."),
    },
  });

  const submit = form.onSubmit((values) => {
    create.mutate(
      { ...values, key: values.key.trim(), name: values.name.trim(), description: values.description.trim() },
      {
        onSuccess: (created) => {
          notifications.show({ color: "green", message: `${created.name} is added.` });
          form.reset();
        },
        onError: (error) => showFormError(error, form),
      },
    );
  });

  return (
    <Paper withBorder p="md">
      <form noValidate aria-labelledby={titleId} onSubmit={submit}>
        <Stack gap="sm">
          <Title order={2} size="h3" id={titleId}>
            New purpose
          </Title>
          <TextInput
            label="Key"
            description="Lowercase letters, digits and underscores, such as partner_offers; it cannot change later."
            required
            maxLength={64}
            key={form.key("key")}
            {...form.getInputProps("key")}
          />
          <PurposeFields form={form} />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create purpose
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
