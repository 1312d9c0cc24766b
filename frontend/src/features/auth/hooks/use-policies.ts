import { useQueries } from "@tanstack/react-query";
import { getPolicy, type PolicyKind, type PolicyVersion } from "@/features/auth/api/auth-api";

const KINDS: PolicyKind[] = ["terms", "privacy", "us_transfer_notice"];

/** The policy versions in effect now, which sign-up shows and sends back as accepted. */
export function usePolicies() {
  const results = useQueries({
    queries: KINDS.map((kind) => ({
      queryKey: ["policies", kind],
      queryFn: () => getPolicy(kind),
      staleTime: 300_000,
    })),
  });
  const policies = Object.fromEntries(KINDS.map((kind, index) => [kind, results[index]?.data])) as Partial<
    Record<PolicyKind, PolicyVersion>
  >;
  return {
    policies,
    isPending: results.some((result) => result.isPending),
    error: results.find((result) => result.error)?.error ?? null,
    refetch: () => Promise.all(results.map((result) => result.refetch())),
  };
}
