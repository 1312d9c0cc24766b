import { useMutation, useQuery } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";

// These endpoints are public: they never answer 401, so the client never sends the visitor to sign in.

export function useUnsubscribeLink(token: string) {
  return useQuery({
    queryKey: ["unsubscribe", token],
    queryFn: async () => unwrap(await api.GET("/api/v1/unsubscribe/{token}", { params: { path: { token } } })),
    staleTime: Infinity,
  });
}

/** Public purpose names, to show "Marketing email" rather than `marketing_email`. */
export function usePurposeNames() {
  return useQuery({
    queryKey: ["consent", "purposes"],
    queryFn: async () => unwrap(await api.GET("/api/v1/consent/purposes")),
    staleTime: Infinity,
    select: (purposes) => new Map(purposes.map((purpose) => [purpose.key, purpose.name])),
  });
}

export function useUnsubscribe(token: string) {
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/unsubscribe/{token}", { params: { path: { token } } })),
  });
}
