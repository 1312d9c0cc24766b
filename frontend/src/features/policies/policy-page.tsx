import { Alert, Anchor, Group, Loader, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";
import { PageTitle } from "@/shared/components/page-title";
import { PublicDocument } from "@/shared/components/public-document";
import { formatDate } from "@/shared/lib/consent-format";

type PolicyKind = components["schemas"]["PolicyKind"];

const TITLES: Record<PolicyKind, string> = {
  privacy: "Privacy policy",
  terms: "Terms of service",
  us_transfer_notice: "US data transfer notice",
};

/** Where each policy is published; the links in mail, receipts and the cookie banner point here. */
export const POLICY_PATHS: Record<PolicyKind, string> = {
  privacy: "/privacy",
  terms: "/terms",
  us_transfer_notice: "/us-transfer-notice",
};

function usePolicy(kind: PolicyKind) {
  return useQuery({
    queryKey: ["policies", kind],
    queryFn: async () => unwrap(await api.GET("/api/v1/policies/{kind}", { params: { path: { kind } } })),
    staleTime: 300_000,
  });
}

/** A policy in effect now, public: its text, version and the date it took effect. */
export function PolicyPage({ kind }: { kind: PolicyKind }) {
  const policy = usePolicy(kind);
  const others = (Object.keys(POLICY_PATHS) as PolicyKind[]).filter((other) => other !== kind);
  return (
    <PublicDocument>
      <Stack gap="lg">
        <PageTitle>{policy.data?.title ?? TITLES[kind]}</PageTitle>
        {policy.isPending && <Loader size="sm" role="status" aria-label={`Loading the ${TITLES[kind]}`} />}
        {policy.isError && (
          <Alert color="red" title={`The ${TITLES[kind].toLowerCase()} could not be loaded`}>
            {policy.error.message}{" "}
            <Anchor component="button" onClick={() => void policy.refetch()}>
              Try again
            </Anchor>
          </Alert>
        )}
        {policy.isSuccess && (
          <>
            <Text size="sm" c="dimmed">
              Version {policy.data.version}, in effect since {formatDate(policy.data.effective_at)}.
            </Text>
            <Text style={{ whiteSpace: "pre-wrap" }}>{policy.data.body}</Text>
          </>
        )}
        <Group component="nav" aria-label="Other policies" gap="md">
          {others.map((other) => (
            <Anchor key={other} component={Link} to={POLICY_PATHS[other]} fz="sm">
              {TITLES[other]}
            </Anchor>
          ))}
          <Anchor component={Link} to="/cookie-policy" fz="sm">
            Cookie policy
          </Anchor>
        </Group>
      </Stack>
    </PublicDocument>
  );
}
