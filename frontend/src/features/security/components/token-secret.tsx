import { Alert, Button, CopyButton, Group, Stack, Text, TextInput } from "@mantine/core";

import type { TokenCreated } from "@/features/security/api/security";

export function TokenSecret({ token, onDone }: { token: TokenCreated; onDone: () => void }) {
  return (
    <Alert color="yellow" title={`Token “${token.name}” created`} role="status">
      <Stack gap="sm">
        <Text size="sm" fw={600}>
          Copy this token now. You won’t see it again: we only keep a fingerprint of it.
        </Text>
        <TextInput
          label="Your new token"
          value={token.token}
          readOnly
          onFocus={(event) => event.currentTarget.select()}
          styles={{ input: { fontFamily: "monospace" } }}
        />
        <Group>
          <CopyButton value={token.token}>
            {({ copied, copy }) => (
              <Button onClick={copy} variant={copied ? "outline" : "filled"}>
                {copied ? "Copied" : "Copy token"}
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
