import { Button, Group, Paper, Stack, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useId } from "react";

import { showFormError } from "@/shared/api/problem";
import { CheckboxField } from "@/shared/components/checkbox-field";

import { type Purpose, type PurposeUpdate, useUpdatePurpose } from "@/features/consent-admin/api/purposes";
import { PurposeFields } from "./purpose-fields";

interface PurposeEditFormProps {
  purpose: Purpose;
  onDone: () => void;
}

/** Edit one purpose; only changed fields are sent, with the material flag. */
export function PurposeEditForm({ purpose, onDone }: PurposeEditFormProps) {
  const titleId = useId();
  const update = useUpdatePurpose();
  const form = useForm({
    initialValues: {
      name: purpose.name,
      description: purpose.description,
      legal_basis: purpose.legal_basis,
      optional: purpose.optional,
      material: false,
    },
  });

  const submit = form.onSubmit((values) => {
    const body: PurposeUpdate = { material: values.material };
    if (values.name.trim() !== purpose.name) body.name = values.name.trim();
    if (values.description.trim() !== purpose.description) body.description = values.description.trim();
    if (values.legal_basis !== purpose.legal_basis) body.legal_basis = values.legal_basis;
    if (values.optional !== purpose.optional) body.optional = values.optional;
    if (Object.keys(body).length === 1 && !values.material) {
      notifications.show({ color: "blue", message: "Nothing has changed." });
      return;
    }
    update.mutate(
      { key: purpose.key, body },
      {
        onSuccess: (saved) => {
          notifications.show({ color: "green", message: `${saved.name} is saved (version ${saved.version}).` });
          onDone();
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
            Edit {purpose.key}
          </Title>
          <PurposeFields form={form} />
          <CheckboxField
            label="Material change (asks everyone to renew)"
            description="Consents given before this change stop counting until each person answers again."
            key={form.key("material")}
            {...form.getInputProps("material", { type: "checkbox" })}
          />
          <Group>
            <Button type="submit" loading={update.isPending}>
              Save changes
            </Button>
            <Button variant="default" onClick={onDone}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
