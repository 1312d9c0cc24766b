import { Button, Checkbox, Group, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";

import { showFormError } from "@/shared/api/problem";
import { useMe } from "@/shared/hooks/use-me";
import { useReauthentication } from "@/shared/hooks/use-reauthentication";

import {
  EVENT_TYPES,
  type EndpointWithSecret,
  type EndpointCreate,
  type PersonEventType,
  useCreateEndpoint,
} from "@/features/webhooks/api/webhooks";

interface EndpointValues {
  url: string;
  description: string;
  event_types: PersonEventType[];
}

export function CreateEndpointForm({ onCreated }: { onCreated: (endpoint: EndpointWithSecret) => void }) {
  const create = useCreateEndpoint();
  const me = useMe();
  const reauthentication = useReauthentication(me.data?.mfa_enabled ?? false, "New webhook endpoints");
  const form = useForm<EndpointValues>({
    initialValues: { url: "", description: "", event_types: [] },
    validate: {
      url: (value) => (/^https:\/\/\S+$/.test(value.trim()) ? null : "Enter an https:// address."),
      event_types: (value) => (value.length ? null : "Choose at least one event."),
    },
  });

  const send = (body: EndpointCreate) =>
    create.mutate(body, {
      onSuccess: (endpoint) => {
        form.reset();
        onCreated(endpoint);
      },
      onError: (error) => {
        if (!reauthentication.asked(error, () => send(body))) showFormError(error, form);
      },
    });

  const submit = form.onSubmit((values) =>
    send({
      url: values.url.trim(),
      description: values.description.trim(),
      event_types: values.event_types,
      enabled: true,
    }),
  );

  return (
    <>
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
      {/* Outside the form: a submit inside the modal (a portal) would bubble to it. */}
      {reauthentication.modal}
    </>
  );
}
