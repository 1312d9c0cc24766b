import { Alert, Button, CopyButton, Group, Stack, Text, TextInput } from "@mantine/core";

import type { EndpointWithSecret } from "@/features/webhooks/api/webhooks";

export function SecretAlert({ endpoint, onDone }: { endpoint: EndpointWithSecret; onDone: () => void }) {
  return (
    <Alert color="yellow" title={`Signing secret for ${endpoint.url}`} role="status">
      <Stack gap="sm">
        <Text size="sm" fw={600}>
          Copy this secret now and keep it in your receiver. You won’t see it again.
        </Text>
        <TextInput
          label="Signing secret"
          value={endpoint.secret}
          readOnly
          onFocus={(event) => event.currentTarget.select()}
          styles={{ input: { fontFamily: "monospace" } }}
        />
        <Group>
          <CopyButton value={endpoint.secret}>
            {({ copied, copy }) => (
              <Button onClick={copy} variant={copied ? "outline" : "filled"}>
                {copied ? "Copied" : "Copy secret"}
              </Button>
            )}
          </CopyButton>
          <Button variant="default" onClick={onDone}>
            I have stored it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
