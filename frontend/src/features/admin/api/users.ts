import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type AdminUser = components["schemas"]["AdminUserRead"];
export type AdminUserUpdate = components["schemas"]["AdminUserUpdate"];
export type Role = AdminUser["role"];

export const ROLES: { value: Role; label: string }[] = [
  { value: "member", label: "Member" },
  { value: "support", label: "Support" },
  { value: "privacy_officer", label: "Privacy officer" },
  { value: "admin", label: "Admin" },
];

export interface UserSearch {
  q: string;
  reason: string;
}

const PAGE_SIZE = 25;
const usersKey = ["admin", "users"] as const;

export function useUserSearch(search: UserSearch | null) {
  return useInfiniteQuery({
    queryKey: [...usersKey, search],
    enabled: search !== null,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/admin/users", {
          params: {
            query: {
              reason: search?.reason ?? "",
              q: search?.q || undefined,
              limit: PAGE_SIZE,
              cursor: pageParam,
            },
          },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    // Every read is audited with its reason: no silent refetches.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    retry: false,
  });
}

export function useUpdateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: AdminUserUpdate }) =>
      unwrap(await api.PATCH("/api/v1/admin/users/{user_id}", { params: { path: { user_id: id } }, body })),
    onSuccess: (updated) => {
      queryClient.setQueriesData<{ pages: { items: AdminUser[] }[] }>({ queryKey: usersKey }, (data) =>
        data
          ? {
              ...data,
              pages: data.pages.map((page) => ({
                ...page,
                items: page.items.map((user) => (user.id === updated.id ? updated : user)),
              })),
            }
          : data,
      );
    },
  });
}
