import { Alert, Anchor, Badge, Group, List, Loader, Paper, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { type CategorySummary, useMyData } from "@/features/data-requests/api/data-requests";
import { formatDate } from "@/features/data-requests/format";

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <Text component="dt" size="xs" fw={700} c="gray.7">
        {term}
      </Text>
      <Text component="dd" size="sm" m={0}>
        {children}
      </Text>
    </div>
  );
}

function CategoryCard({ category }: { category: CategorySummary }) {
  const headingId = `data-category-${category.category}`;
  return (
    <Paper withBorder p="md" component="li" aria-labelledby={headingId} style={{ listStyle: "none" }}>
      <Group justify="space-between" mb="xs" wrap="nowrap">
        <Title order={3} size="h4" id={headingId}>
          {category.label}
        </Title>
        <Badge variant="outline" color="dark">
          {category.record_count} {category.record_count === 1 ? "record" : "records"}
        </Badge>
      </Group>
      <SimpleGrid component="dl" cols={{ base: 1, sm: 2 }} spacing="xs" m={0}>
        <Fact term="Why we hold it">{category.purpose}</Fact>
        <Fact term="Legal basis">{category.legal_basis}</Fact>
        <Fact term="Shared with">{category.recipients.length ? category.recipients.join(", ") : "Nobody"}</Fact>
        <Fact term="How long we keep it">{category.retention}</Fact>
        <Fact term="Where it comes from">{category.source}</Fact>
      </SimpleGrid>
    </Paper>
  );
}

/** What we hold about the signed-in person, by category (GDPR Art. 15), and any legal hold. */
export function DataSummary() {
  const data = useMyData();
  if (data.isPending) return <Loader size="sm" role="status" aria-label="Loading your data" />;
  if (data.isError) {
    return (
      <Alert color="red" title="Your data could not be loaded">
        {data.error.message}{" "}
        <Anchor component="button" onClick={() => void data.refetch()}>
          Try again
        </Anchor>
      </Alert>
    );
  }
  const { categories, legal_holds: holds } = data.data;
  const labels = new Map(categories.map((category) => [category.category, category.label]));
  return (
    <Stack gap="sm">
      {holds.length > 0 && (
        <Alert color="yellow" title="Kept under a legal hold">
          <Text size="sm" mb="xs">
            We must keep some of your data for a legal reason, even if you ask us to erase it:
          </Text>
          <List size="sm" spacing={4}>
            {holds.map((hold) => (
              <List.Item key={`${hold.category}-${hold.since}`}>
                <strong>{labels.get(hold.category) ?? hold.category}</strong>: {hold.reason} (since{" "}
                {formatDate(hold.since)})
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
      {categories.length === 0 ? (
        <Text>We hold no personal data about you.</Text>
      ) : (
        <Stack component="ul" gap="sm" p={0} m={0}>
          {categories.map((category) => (
            <CategoryCard key={category.category} category={category} />
          ))}
        </Stack>
      )}
      <Text size="xs" c="gray.7">
        As of {formatDate(data.data.generated_at)}.
      </Text>
    </Stack>
  );
}
