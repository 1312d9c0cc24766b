import { Alert, Container, Group, NativeSelect, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";

import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";
import { isPrivacyStaff, useMe } from "@/shared/hooks/use-me";

import { type ConsentStats, PERIODS, type Period, useConsentStats } from "./api/stats";
import { formatDay, formatRate } from "./components/format";
import { OptInChart } from "./components/opt-in-chart";

const PERIOD_OPTIONS = PERIODS.map((days) => ({ value: String(days), label: `Last ${days} days` }));

function GrantsTable({ stats }: { stats: ConsentStats }) {
  return (
    <Table striped aria-label="Current grants" maw={520}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Purpose</Table.Th>
          <Table.Th ta="right">Users granted now</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {stats.purposes.map((purpose) => (
          <Table.Tr key={purpose.key}>
            <Table.Td>{purpose.name}</Table.Td>
            <Table.Td ta="right">{purpose.granted_now}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function DailyTable({ stats }: { stats: ConsentStats }) {
  const rows = stats.purposes
    .flatMap((purpose) =>
      purpose.days
        .filter((day) => day.granted + day.denied + day.withdrawn > 0)
        .map((day) => ({ ...day, key: purpose.key, name: purpose.name })),
    )
    .sort((a, b) => b.day.localeCompare(a.day) || a.key.localeCompare(b.key));
  if (rows.length === 0) return <Text role="status">No consent answers in this period.</Text>;
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table striped aria-label="Daily opt-in rates">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Day (UTC)</Table.Th>
            <Table.Th>Purpose</Table.Th>
            <Table.Th ta="right">Granted</Table.Th>
            <Table.Th ta="right">Denied</Table.Th>
            <Table.Th ta="right">Withdrawn</Table.Th>
            <Table.Th ta="right">Opt-in rate</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={`${row.day}-${row.key}`}>
              <Table.Td>{formatDay(row.day)}</Table.Td>
              <Table.Td>{row.name}</Table.Td>
              <Table.Td ta="right">{row.granted}</Table.Td>
              <Table.Td ta="right">{row.denied}</Table.Td>
              <Table.Td ta="right">{row.withdrawn}</Table.Td>
              <Table.Td ta="right">{formatRate(row.opt_in_rate)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Staff: opt-in rates per purpose and day, and how many people consent now. */
export function ConsentDashboardPage() {
  const me = useMe();
  const allowed = isPrivacyStaff(me.data);
  const [days, setDays] = useState<Period>(30);
  const stats = useConsentStats(days, allowed);

  if (me.isPending) {
    return (
      <Container size="lg">
        <PageTitle>Consent dashboard</PageTitle>
        <PageLoader />
      </Container>
    );
  }
  if (!allowed) {
    return (
      <Container size="lg">
        <PageTitle>Consent dashboard</PageTitle>
        <Alert color="red" title="Privacy staff only">
          Only administrators and privacy officers see consent statistics.
        </Alert>
      </Container>
    );
  }

  return (
    <Container size="lg">
      <Stack gap="lg">
        <PageTitle>Consent dashboard</PageTitle>
        <Group align="flex-end" justify="space-between">
          <Text>
            Opt-in rate: the share of a day’s answers that were grants (granted ÷ granted, denied and withdrawn).
          </Text>
          <NativeSelect
            label="Period"
            data={PERIOD_OPTIONS}
            value={String(days)}
            onChange={(event) => setDays(Number(event.currentTarget.value) as Period)}
          />
        </Group>
        {stats.isPending ? (
          <PageLoader />
        ) : stats.isError ? (
          <Alert color="red" title="Could not load the statistics">
            {stats.error.message}
          </Alert>
        ) : (
          <>
            <Paper withBorder p="md" component="section" aria-labelledby="opt-in-chart-title">
              <Title order={2} size="h3" id="opt-in-chart-title" mb="sm">
                Opt-in rate per day
              </Title>
              <OptInChart stats={stats.data} />
            </Paper>
            <section aria-labelledby="grants-title">
              <Title order={2} size="h3" id="grants-title" mb="sm">
                Current grants
              </Title>
              <GrantsTable stats={stats.data} />
            </section>
            <section aria-labelledby="daily-title">
              <Title order={2} size="h3" id="daily-title" mb="sm">
                Daily numbers
              </Title>
              <Text size="sm" mb="sm">
                {formatDay(stats.data.start)} to {formatDay(stats.data.end)}; days without answers are left out.
              </Text>
              <DailyTable stats={stats.data} />
            </section>
          </>
        )}
      </Stack>
    </Container>
  );
}
