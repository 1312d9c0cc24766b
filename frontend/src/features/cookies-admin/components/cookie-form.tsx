import { Button, Group, NativeSelect, Paper, Stack, Textarea, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useId } from "react";

import { showFormError } from "@/shared/api/problem";
import { CheckboxField } from "@/shared/components/checkbox-field";

import {
  type AdminCookie,
  type CategoryKey,
  type CookieUpdate,
  PARTIES,
  useCreateCookie,
  useUpdateCookie,
} from "@/features/cookies-admin/api/cookies";

interface CookieFormProps {
  categories: { value: CategoryKey; label: string }[];
  /** The cookie to edit; a new cookie without it. */
  cookie?: AdminCookie & { category: CategoryKey };
  onDone?: () => void;
}

const FIELDS = ["category", "name", "pattern", "provider", "description", "duration", "party"] as const;

/** Add a cookie, or edit one (only changed fields are sent, with the material flag). */
export function CookieForm({ categories, cookie, onDone }: CookieFormProps) {
  const titleId = useId();
  const create = useCreateCookie();
  const update = useUpdateCookie();
  const initial = {
    category: cookie?.category ?? categories[0]?.value ?? "necessary",
    name: cookie?.name ?? "",
    pattern: cookie?.pattern ?? false,
    provider: cookie?.provider ?? "",
    description: cookie?.description ?? "",
    duration: cookie?.duration ?? "",
    party: cookie?.party ?? "first",
    material: false,
  };
  const form = useForm({
    initialValues: initial,
    validate: {
      name: (value) => (value.trim() ? null : "Enter the cookie's name."),
      provider: (value) => (value.trim() ? null : "Enter who sets the cookie."),
      description: (value) => (value.trim() ? null : "Say what the cookie is for."),
      duration: (value) => (value.trim() ? null : "Say how long the cookie lasts, such as “13 months”."),
    },
  });

  const submit = form.onSubmit((values) => {
    const trimmed = {
      ...values,
      name: values.name.trim(),
      provider: values.provider.trim(),
      description: values.description.trim(),
      duration: values.duration.trim(),
    };
    if (!cookie) {
      const { category, name, pattern, provider, description, duration, party } = trimmed;
      create.mutate(
        { category, name, pattern, provider, description, duration, party },
        {
          onSuccess: (saved) => {
            notifications.show({ color: "green", message: `${saved.name} is added.` });
            form.reset();
            onDone?.();
          },
          onError: (error) => showFormError(error, form),
        },
      );
      return;
    }
    const body: CookieUpdate = { material: trimmed.material };
    for (const field of FIELDS) {
      if (trimmed[field] !== initial[field]) Object.assign(body, { [field]: trimmed[field] });
    }
    if (Object.keys(body).length === 1 && !trimmed.material) {
      notifications.show({ color: "blue", message: "Nothing has changed." });
      return;
    }
    update.mutate(
      { id: cookie.id, body },
      {
        onSuccess: (saved) => {
          notifications.show({ color: "green", message: `${saved.name} is saved.` });
          onDone?.();
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
            {cookie ? `Edit ${cookie.name}` : "Add a cookie"}
          </Title>
          <NativeSelect
            label="Category"
            data={categories}
            key={form.key("category")}
            {...form.getInputProps("category")}
          />
          <TextInput
            label="Name"
            description="Letters, digits and _ . - only; with “Pattern”, * stands for any characters (_ga_*)."
            required
            maxLength={128}
            key={form.key("name")}
            {...form.getInputProps("name")}
          />
          <CheckboxField
            label="Pattern"
            key={form.key("pattern")}
            {...form.getInputProps("pattern", { type: "checkbox" })}
          />
          <TextInput
            label="Provider"
            required
            maxLength={200}
            key={form.key("provider")}
            {...form.getInputProps("provider")}
          />
          <Textarea
            label="Purpose"
            required
            autosize
            minRows={2}
            maxLength={2000}
            key={form.key("description")}
            {...form.getInputProps("description")}
          />
          <TextInput
            label="Duration"
            required
            maxLength={64}
            key={form.key("duration")}
            {...form.getInputProps("duration")}
          />
          <NativeSelect label="Party" data={PARTIES} key={form.key("party")} {...form.getInputProps("party")} />
          {cookie && (
            <CheckboxField
              label="Material change (asks every visitor again)"
              description="Moving or renaming a cookie, or changing its party or provider, always asks again; tick this for a rewording that changes what people agree to."
              key={form.key("material")}
              {...form.getInputProps("material", { type: "checkbox" })}
            />
          )}
          <Group>
            <Button type="submit" loading={create.isPending || update.isPending}>
              {cookie ? "Save changes" : "Add cookie"}
            </Button>
            {cookie && (
              <Button variant="default" onClick={onDone}>
                Cancel
              </Button>
            )}
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
