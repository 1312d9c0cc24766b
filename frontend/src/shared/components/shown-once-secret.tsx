import { Alert, Button, CopyButton, Group, Stack, Text, TextInput } from "@mantine/core";

/** A secret the server shows this once (a token, a signing secret): copy it, then confirm. */
export function ShownOnceSecret({
  title,
  warning,
  label,
  value,
  copyLabel,
  onDone,
}: {
  title: string;
  warning: string;
  label: string;
  value: string;
  copyLabel: string;
  onDone: () => void;
}) {
  return (
    <Alert color="yellow" title={title} role="status">
      <Stack gap="sm">
        <Text size="sm" fw={600}>
          {warning}
        </Text>
        <TextInput
          label={label}
          value={value}
          readOnly
          onFocus={(event) => event.currentTarget.select()}
          styles={{ input: { fontFamily: "monospace" } }}
        />
        <Group>
          <CopyButton value={value}>
            {({ copied, copy }) => (
              <Button onClick={copy} variant={copied ? "outline" : "filled"}>
                {copied ? "Copied" : copyLabel}
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
