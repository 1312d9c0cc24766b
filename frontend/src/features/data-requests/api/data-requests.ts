import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type DataSummary = components["schemas"]["DataSummaryRead"];
export type CategorySummary = components["schemas"]["CategoryRead"];
export type DataRequest = components["schemas"]["DataRequestRead"];
export type DataRequestCreate = components["schemas"]["DataRequestCreate"];
export type PublicDataRequestCreate = components["schemas"]["PublicDataRequestCreate"];
export type RequestKind = components["schemas"]["RequestKind"];
export type RequestState = components["schemas"]["RequestState"];
export type CorrectableField = components["schemas"]["CorrectableField"];

const PAGE_SIZE = 20;
// How often an open request is read again while its work runs.
export const POLL_MS = 2000;
export const OPEN_STATES: ReadonlyArray<RequestState> = ["received", "verified", "in_progress"];
export const myDataKey = ["me", "data"] as const;
export const myRequestsKey = ["me", "data-requests"] as const;

export function isOpen(request: DataRequest): boolean {
  return OPEN_STATES.includes(request.state);
}

export function useMyData() {
  return useQuery({
    queryKey: myDataKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/me/data")),
  });
}

export function useMyRequests() {
  return useInfiniteQuery({
    queryKey: [...myRequestsKey, "list"],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/me/data-requests", { params: { query: { limit: PAGE_SIZE, cursor: pageParam } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

/**
 * One request, read again every few seconds while `poll(request)` holds (an export being
 * written, an erasure whose grace period is not set yet); `initial` is its row from the list.
 */
export function useDataRequest(initial: DataRequest | null, poll: (request: DataRequest) => boolean) {
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: [...myRequestsKey, "one", initial?.id],
    enabled: initial !== null,
    initialData: initial ?? undefined,
    queryFn: async () => {
      const request = unwrap(
        await api.GET("/api/v1/me/data-requests/{request_id}", {
          params: { path: { request_id: initial?.id ?? "" } },
        }),
      );
      if (!poll(request)) void queryClient.invalidateQueries({ queryKey: [...myRequestsKey, "list"] });
      return request;
    },
    refetchInterval: (query) => (query.state.data && poll(query.state.data) ? POLL_MS : false),
  });
}

export function useCreateRequest() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: DataRequestCreate) => unwrap(await api.POST("/api/v1/me/data-requests", { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: myRequestsKey }),
  });
}

export function useCancelRequest() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.POST("/api/v1/me/data-requests/{request_id}/cancel", { params: { path: { request_id: id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: myRequestsKey }),
  });
}

/** The export's ZIP: a plain link, since the download needs only the session cookie. */
export function downloadUrl(id: string): string {
  return `/api/v1/me/data-requests/${encodeURIComponent(id)}/download`;
}

export function useSubmitPublicRequest() {
  return useMutation({
    mutationFn: async (body: PublicDataRequestCreate) => unwrap(await api.POST("/api/v1/data-requests", { body })),
  });
}

export function useVerifyPublicRequest() {
  return useMutation({
    mutationFn: async (token: string) => unwrap(await api.POST("/api/v1/data-requests/verify", { body: { token } })),
  });
}
