import { Button, Checkbox, Group, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";

import { showFormError } from "@/shared/api/problem";

import {
  EVENT_TYPES,
  type EndpointWithSecret,
  type EventType,
  useCreateEndpoint,
} from "@/features/webhooks/api/webhooks";

interface EndpointValues {
  url: string;
  description: string;
  event_types: EventType[];
}

export function CreateEndpointForm({ onCreated }: { onCreated: (endpoint: EndpointWithSecret) => void }) {
  const create = useCreateEndpoint();
  const form = useForm<EndpointValues>({
    initialValues: { url: "", description: "", event_types: [] },
    validate: {
      url: (value) => (/^https:\/\/\S+$/.test(value.trim()) ? null : "Enter an https:// address."),
      event_types: (value) => (value.length ? null : "Choose at least one event."),
    },
  });

  const submit = form.onSubmit((values) => {
    create.mutate(
      {
        url: values.url.trim(),
        description: values.description.trim(),
        event_types: values.event_types,
        enabled: true,
      },
      {
        onSuccess: (endpoint) => {
          form.reset();
          onCreated(endpoint);
        },
        onError: (error) => showFormError(error, form),
      },
    );
  });

  return (
    <form onSubmit={submit} noValidate aria-label="Add a webhook endpoint">
      <Stack gap="sm">
        <TextInput
          label="Endpoint URL"
          placeholder="https://crm.example.com/hooks/opmaestro"
          required
          maxLength={2048}
          {...form.getInputProps("url")}
        />
        <TextInput label="Description" maxLength={200} {...form.getInputProps("description")} />
        <Checkbox.Group label="Events to send" required {...form.getInputProps("event_types")}>
          <Stack gap={6} mt={6}>
            {EVENT_TYPES.map((event) => (
              <Checkbox key={event.value} value={event.value} label={event.label} />
            ))}
          </Stack>
        </Checkbox.Group>
        <Group>
          <Button type="submit" loading={create.isPending}>
            Add endpoint
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
