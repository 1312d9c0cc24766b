/** The signed-in user's consent history and its signed receipts, for every page that lists them. */
import { useInfiniteQuery, useMutation } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type ConsentEventRead = components["schemas"]["ConsentEventRead"];

const PAGE_SIZE = 20;
export const consentEventsKey = ["me", "consents", "events"] as const;

export function useConsentEvents() {
  return useInfiniteQuery({
    queryKey: consentEventsKey,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/me/consents/events", { params: { query: { limit: PAGE_SIZE, cursor: pageParam } } }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

/** The signed consent receipt (a compact JWS) of one of the user's consent events. */
export async function fetchReceipt(eventId: string): Promise<string> {
  const result = unwrap(
    await api.GET("/api/v1/me/consents/events/{event_id}/receipt", { params: { path: { event_id: eventId } } }),
  );
  return result.receipt;
}

export function useReceiptDownload() {
  return useMutation({ mutationFn: (event: ConsentEventRead) => fetchReceipt(event.id) });
}
