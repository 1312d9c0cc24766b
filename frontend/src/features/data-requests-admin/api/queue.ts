import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type QueuedRequest = components["schemas"]["AdminDataRequestRead"];
export type QueuedRequestDetail = components["schemas"]["AdminDataRequestDetail"];
export type AuditEntry = components["schemas"]["AuditEntry"];
export type LegalHold = components["schemas"]["LegalHoldRead"];
export type Category = components["schemas"]["Category"];
export type RequestKind = components["schemas"]["RequestKind"];
export type RequestState = components["schemas"]["RequestState"];

export interface QueueFilters {
  state: RequestState | "";
  kind: RequestKind | "";
  /** A date (YYYY-MM-DD): due before the start of that day, UTC. */
  dueBefore: string;
  overdue: "" | "true" | "false";
}

export interface Opened {
  id: string;
  reason: string;
}

const PAGE_SIZE = 25;
const queueKey = ["admin", "data-requests"] as const;
const detailKey = (opened: Opened | null) => [...queueKey, "detail", opened?.id, opened?.reason] as const;
const auditKey = (id: string) => [...queueKey, "audit", id] as const;
const holdsKey = ["admin", "legal-holds"] as const;

export function useQueue(filters: QueueFilters, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: [...queueKey, "list", filters],
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/admin/data-requests", {
          params: {
            query: {
              state: filters.state || undefined,
              kind: filters.kind || undefined,
              due_before: filters.dueBefore ? `${filters.dueBefore}T00:00:00Z` : undefined,
              overdue: filters.overdue === "" ? undefined : filters.overdue === "true",
              limit: PAGE_SIZE,
              cursor: pageParam,
            },
          },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

/** One request with the requester's address and details: read with a reason, audited, never refetched silently. */
export function useQueuedRequest(opened: Opened | null) {
  return useQuery({
    queryKey: detailKey(opened),
    enabled: opened !== null,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/admin/data-requests/{request_id}", {
          params: { path: { request_id: opened?.id ?? "" }, query: { reason: opened?.reason ?? "" } },
        }),
      ),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    retry: false,
  });
}

/** The request's audit trail; reading it is itself audited with the reason staff gave to open the request. */
export function useAuditTrail(id: string, reason: string) {
  return useInfiniteQuery({
    queryKey: auditKey(id),
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/admin/data-requests/{request_id}/audit", {
          params: { path: { request_id: id }, query: { limit: PAGE_SIZE, cursor: pageParam, reason } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
}

export type StaffAction =
  | { action: "verify" }
  | { action: "deny"; reason: string }
  | { action: "extend"; reason: string }
  | { action: "resolve"; resolution: string };

async function act(id: string, change: StaffAction): Promise<QueuedRequest> {
  const path = { params: { path: { request_id: id } } };
  switch (change.action) {
    case "verify":
      return unwrap(await api.POST("/api/v1/admin/data-requests/{request_id}/verify", path));
    case "deny":
      return unwrap(
        await api.POST("/api/v1/admin/data-requests/{request_id}/deny", { ...path, body: { reason: change.reason } }),
      );
    case "extend":
      return unwrap(
        await api.POST("/api/v1/admin/data-requests/{request_id}/extend", { ...path, body: { reason: change.reason } }),
      );
    case "resolve":
      return unwrap(
        await api.POST("/api/v1/admin/data-requests/{request_id}/resolve", {
          ...path,
          body: { resolution: change.resolution },
        }),
      );
  }
}

/** Verify, deny, extend or resolve; the opened detail keeps its address and details, the rest is updated. */
export function useStaffAction(opened: Opened) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (change: StaffAction) => act(opened.id, change),
    onSuccess: (updated) => {
      queryClient.setQueryData<QueuedRequestDetail>(detailKey(opened), (detail) =>
        detail ? { ...detail, ...updated } : detail,
      );
      void queryClient.invalidateQueries({ queryKey: [...queueKey, "list"] });
      return queryClient.invalidateQueries({ queryKey: auditKey(opened.id) });
    },
  });
}

export function useLegalHolds(userId: string, reason: string) {
  return useInfiniteQuery({
    queryKey: [...holdsKey, userId, reason],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/admin/users/{user_id}/legal-holds", {
          params: { path: { user_id: userId }, query: { reason, limit: PAGE_SIZE, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    retry: false,
  });
}

export function usePlaceHold(userId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: { category: Category; reason: string }) =>
      unwrap(
        await api.POST("/api/v1/admin/users/{user_id}/legal-holds", { params: { path: { user_id: userId } }, body }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [...holdsKey, userId] }),
  });
}

export function useReleaseHold(userId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, reason }: { id: string; reason: string }) =>
      unwrap(
        await api.POST("/api/v1/admin/legal-holds/{hold_id}/release", {
          params: { path: { hold_id: id } },
          body: { reason },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: [...holdsKey, userId] }),
  });
}
