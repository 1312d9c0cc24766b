import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, rememberCsrfToken } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import { ME_QUERY_KEY } from "@/shared/hooks/use-me";
import type { components } from "@/shared/api/schema";

export type SessionRead = components["schemas"]["SessionRead"];
export type TokenRead = components["schemas"]["TokenRead"];
export type TokenCreate = components["schemas"]["TokenCreate"];
export type TokenCreated = components["schemas"]["TokenCreated"];
export type ScopeRead = components["schemas"]["ScopeRead"];
export type PasswordChange = components["schemas"]["PasswordChange"];
export type Reauthentication = components["schemas"]["Reauthentication"];

const PAGE_SIZE = 20;
export const sessionsKey = ["me", "sessions"] as const;
export const tokensKey = ["me", "tokens"] as const;

export function useChangePassword() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: PasswordChange) => unwrap(await api.POST("/api/v1/me/password", { body })),
    // The server set a new session and CSRF cookie; everything cached came from the old session.
    onSuccess: (result) => {
      rememberCsrfToken(result.csrf_token);
      return queryClient.invalidateQueries();
    },
  });
}

export function useSessions() {
  return useInfiniteQuery({
    queryKey: sessionsKey,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/me/sessions", { params: { query: { limit: PAGE_SIZE, cursor: pageParam } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function useRevokeSession() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (sessionId: string) =>
      unwrap(await api.DELETE("/api/v1/me/sessions/{session_id}", { params: { path: { session_id: sessionId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: sessionsKey }),
  });
}

export function useTokens() {
  return useInfiniteQuery({
    queryKey: tokensKey,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/me/tokens", { params: { query: { limit: PAGE_SIZE, cursor: pageParam } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function useScopes() {
  return useQuery({
    queryKey: ["scopes"],
    queryFn: async () => unwrap(await api.GET("/api/v1/scopes")),
    staleTime: Infinity,
  });
}

export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: TokenCreate) => unwrap(await api.POST("/api/v1/me/tokens", { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokensKey }),
  });
}

export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (tokenId: string) =>
      unwrap(await api.DELETE("/api/v1/me/tokens/{token_id}", { params: { path: { token_id: tokenId } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokensKey }),
  });
}

export function useStartTwoFactor() {
  return useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/me/mfa/totp")),
  });
}

export function useConfirmTwoFactor() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (code: string) => unwrap(await api.POST("/api/v1/me/mfa/totp/confirm", { body: { code } })),
    // Token pages refuse staff until two-factor is on; they work now.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokensKey }),
  });
}

export function useDisableTwoFactor() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: components["schemas"]["MfaDisable"]) =>
      unwrap(await api.DELETE("/api/v1/me/mfa/totp", { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ME_QUERY_KEY }),
  });
}
