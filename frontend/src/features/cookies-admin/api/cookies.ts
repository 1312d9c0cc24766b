import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type CookieInventory = components["schemas"]["CookieInventory"];
export type AdminCookie = components["schemas"]["AdminCookieRead"];
export type CookieCreate = components["schemas"]["CookieCreate"];
export type CookieUpdate = components["schemas"]["CookieUpdate"];
export type CategoryKey = CookieCreate["category"];
export type Party = CookieCreate["party"];

export const PARTIES: { value: Party; label: string }[] = [
  { value: "first", label: "First party" },
  { value: "third", label: "Third party" },
];

export const inventoryKey = ["admin", "cookies"] as const;

export function useCookieInventory(enabled = true) {
  return useQuery({
    queryKey: inventoryKey,
    enabled,
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/cookies")),
  });
}

// Every change may bump the revision: the inventory is read again rather than patched locally.
function useRefresh() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: inventoryKey });
}

export function useCreateCookie() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (body: CookieCreate) => unwrap(await api.POST("/api/v1/admin/cookies", { body })),
    onSuccess: refresh,
  });
}

export function useUpdateCookie() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: CookieUpdate }) =>
      unwrap(await api.PATCH("/api/v1/admin/cookies/{cookie_id}", { params: { path: { cookie_id: id } }, body })),
    onSuccess: refresh,
  });
}

export function useDeleteCookie() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/admin/cookies/{cookie_id}", { params: { path: { cookie_id: id } } })),
    onSuccess: refresh,
  });
}
