import { Alert, Anchor, Container, Loader, Paper, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { PageTitle } from "@/shared/components/page-title";
import { useMe } from "@/shared/hooks/use-me";

import { type DataRequest, type RequestKind, useMyRequests } from "./api/data-requests";
import { CorrectionForm } from "./components/correction-form";
import { DataSummary } from "./components/data-summary";
import { ErasureSection } from "./components/erasure-section";
import { ExportSection } from "./components/export-section";
import { RequestHistory } from "./components/request-history";
import { useCreateRequestWithReauthentication } from "./hooks/use-create-request";

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h3" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

/** Privacy > Your data: what we hold, a copy of it, its erasure, corrections, and past requests. */
export function YourDataPage() {
  const me = useMe();
  const requests = useMyRequests();
  const create = useCreateRequestWithReauthentication(me.data?.mfa_enabled ?? false);

  const all = requests.data?.pages.flatMap((page) => page.items) ?? [];
  // Newest first: the first of a kind is the one to show.
  const latest = (kind: RequestKind): DataRequest | null => all.find((request) => request.kind === kind) ?? null;
  const requestsReady = requests.isSuccess;

  const failedRequests = requests.isError && (
    <Alert color="red" title="Your requests could not be loaded">
      {requests.error.message}{" "}
      <Anchor component="button" onClick={() => void requests.refetch()}>
        Try again
      </Anchor>
    </Alert>
  );
  const loadingRequests = requests.isPending && <Loader size="sm" role="status" aria-label="Loading your requests" />;

  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Your data</PageTitle>
        <Text>
          See what we hold about you and why, get a copy, ask us to correct it, or have it erased. We answer every
          request before its due date.
        </Text>
        <Section id="your-data-summary" title="What we hold">
          <DataSummary />
        </Section>
        <Section id="your-data-export" title="Get a copy">
          {loadingRequests}
          {failedRequests}
          {requestsReady && (
            <ExportSection
              latest={latest("export")}
              requesting={create.pending === "export"}
              onRequest={(onCreated) => create.submit({ kind: "export" }, { onCreated })}
            />
          )}
        </Section>
        <Section id="your-data-correction" title="Ask for a correction">
          <Text mb="sm">
            For data you cannot change on your profile, or that is wrong somewhere else, such as in your consent
            history.
          </Text>
          <CorrectionForm
            requesting={create.pending === "correction"}
            onRequest={(body, callbacks) => create.submit(body, callbacks)}
          />
        </Section>
        <Section id="your-data-erasure" title="Erase your data">
          {loadingRequests}
          {failedRequests}
          {requestsReady && (
            <ErasureSection
              latest={latest("erasure")}
              requesting={create.pending === "erasure"}
              onRequest={(onCreated) => create.submit({ kind: "erasure" }, { onCreated })}
            />
          )}
        </Section>
        <Section id="your-data-history" title="Your requests">
          {loadingRequests}
          {failedRequests}
          {requestsReady && (
            <RequestHistory
              requests={all}
              hasMore={requests.hasNextPage}
              loadingMore={requests.isFetchingNextPage}
              onLoadMore={() => void requests.fetchNextPage()}
            />
          )}
        </Section>
      </Stack>
      {create.modal}
    </Container>
  );
}
