import { Badge, Button, Group, Paper, Stack, Switch, Text } from "@mantine/core";
import { useId } from "react";

import type { ConsentRead } from "@/features/consent/api/consents";
import { formatDate, methodLabel } from "@/shared/lib/consent-format";

interface ConsentCardProps {
  consent: ConsentRead;
  /** The answer being saved for this purpose, shown before the server confirms it. */
  pending: boolean | null;
  onChange: (granted: boolean) => void;
}

function givenText(consent: ConsentRead): string {
  if (consent.granted !== true) return "Not given";
  if (!consent.since) return "Given";
  const how = consent.method ? ` via ${methodLabel(consent.method)}` : "";
  return `Given on ${formatDate(consent.since)}${how}`;
}

/** One purpose: its switch (or "Always on" when it is required), what it means and when it was given. */
export function ConsentCard({ consent, pending, onChange }: ConsentCardProps) {
  const id = useId();
  const descriptionId = `${id}-description`;
  const stateId = `${id}-state`;
  const saving = pending !== null;
  const renewal = consent.renewal_needed && (
    <Badge variant="filled" color="yellow" autoContrast>
      Needs renewal
    </Badge>
  );

  return (
    <Paper withBorder p="md" component="li" style={{ listStyle: "none" }}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          {consent.optional ? (
            <Switch
              label={consent.name}
              checked={saving ? pending : consent.granted === true}
              disabled={saving}
              onChange={(event) => onChange(event.currentTarget.checked)}
              aria-describedby={`${descriptionId} ${stateId}`}
              size="md"
              styles={{ label: { fontWeight: 600 } }}
            />
          ) : (
            <Text fw={600}>{consent.name}</Text>
          )}
          <Group gap="xs" wrap="nowrap">
            {renewal}
            {!consent.optional && (
              <Badge variant="outline" color="dark">
                Always on
              </Badge>
            )}
          </Group>
        </Group>
        <Text size="sm" id={descriptionId}>
          {consent.description}
        </Text>
        <Text size="sm" c="dimmed" id={stateId}>
          {consent.optional ? givenText(consent) : "Required to provide the service; it cannot be switched off."}
        </Text>
        {consent.optional && consent.renewal_needed && consent.granted === true && (
          <Group gap="sm">
            <Text size="sm">This purpose has changed since you agreed to it.</Text>
            <Button
              size="xs"
              variant="default"
              loading={saving}
              onClick={() => onChange(true)}
              aria-label={`Renew consent to ${consent.name}`}
            >
              Renew
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}
