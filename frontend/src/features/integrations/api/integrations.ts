import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type IntegrationRead = components["schemas"]["IntegrationRead"];
export type IntegrationConnectionRead = components["schemas"]["IntegrationConnectionRead"];
export type ProviderKey = IntegrationRead["provider"];

export const integrationsKey = ["integrations"] as const;

export function useIntegrations() {
  return useQuery({
    queryKey: integrationsKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/integrations")).items,
    // An import runs in the background after connect and sync: poll while one is pending.
    refetchInterval: (query) =>
      query.state.data?.some((item) => item.connection?.sync_status === "pending") ? 3000 : false,
  });
}

export function useConnect() {
  return useMutation({
    mutationFn: async (provider: ProviderKey) =>
      unwrap(await api.POST("/api/v1/integrations/{provider}/connect", { params: { path: { provider } } })),
  });
}

export function useSync() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (provider: ProviderKey) =>
      unwrap(await api.POST("/api/v1/integrations/{provider}/sync", { params: { path: { provider } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: integrationsKey }),
  });
}

export function useDisconnect() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (provider: ProviderKey) =>
      unwrap(await api.DELETE("/api/v1/integrations/{provider}", { params: { path: { provider } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: integrationsKey }),
  });
}
