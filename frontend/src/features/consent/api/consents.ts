import { useMutation, useMutationState, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";
import { consentEventsKey } from "@/shared/hooks/use-consent-events";

export type ConsentRead = components["schemas"]["ConsentRead"];
export type CollectionMethod = components["schemas"]["CollectionMethod"];
export type ConsentAction = components["schemas"]["ConsentAction"];

export const consentsKey = ["me", "consents"] as const;
export const setConsentKey = ["me", "consents", "set"] as const;

export interface ConsentChange {
  purpose: string;
  granted: boolean;
}

export function useConsents() {
  return useQuery({
    queryKey: consentsKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/me/consents")),
  });
}

export function useSetConsent() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: setConsentKey,
    mutationFn: async ({ purpose, granted }: ConsentChange) =>
      unwrap(await api.PUT("/api/v1/me/consents/{purpose}", { params: { path: { purpose } }, body: { granted } })),
    onSuccess: (updated) => {
      queryClient.setQueryData<ConsentRead[]>(consentsKey, (list) =>
        list?.map((item) => (item.key === updated.key ? updated : item)),
      );
      return queryClient.invalidateQueries({ queryKey: consentEventsKey });
    },
  });
}

/** The answers being saved right now, by purpose key, so each switch can show its new state at once. */
export function usePendingConsents(): Map<string, boolean> {
  const pending = useMutationState({
    filters: { mutationKey: setConsentKey, status: "pending" },
    select: (mutation) => mutation.state.variables as ConsentChange,
  });
  return new Map(pending.map((change) => [change.purpose, change.granted]));
}
