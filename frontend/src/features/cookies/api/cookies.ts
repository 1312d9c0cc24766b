import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import { api } from "@/shared/api/client";
import { ProblemError, unwrap } from "@/shared/api/problem";
import { consentEventsKey } from "@/shared/hooks/use-consent-events";

import { CONSENT_EVENT } from "@/features/cookies/banner/events";
import type { CategoryKey, CookieConsentRecord } from "@/features/cookies/banner/types";

export const cookieBannerKey = ["cookie-banner"] as const;
export const cookieChoiceKey = ["cookie-consents", "current"] as const;

export function useCookieBanner() {
  return useQuery({
    queryKey: cookieBannerKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/cookie-banner")),
    staleTime: 5 * 60_000,
  });
}

/** This device's (or account's) recorded choice; `null` when nothing is recorded yet. */
export function useCookieChoice() {
  const queryClient = useQueryClient();
  // A choice made in the banner while the page is open shows here at once.
  useEffect(() => {
    const onRecorded = (event: Event) =>
      queryClient.setQueryData(cookieChoiceKey, (event as CustomEvent<CookieConsentRecord>).detail);
    window.addEventListener(CONSENT_EVENT, onRecorded);
    return () => window.removeEventListener(CONSENT_EVENT, onRecorded);
  }, [queryClient]);
  return useQuery({
    queryKey: cookieChoiceKey,
    queryFn: async () => {
      try {
        return unwrap(await api.GET("/api/v1/cookie-consents/current"));
      } catch (error) {
        if (error instanceof ProblemError && error.status === 404) return null;
        throw error;
      }
    },
  });
}

export interface CookieChoiceChange {
  revision: number;
  accepted: CategoryKey[];
  gpc: boolean;
}

export function useSaveCookieChoice() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: CookieChoiceChange) => unwrap(await api.POST("/api/v1/cookie-consents", { body })),
    onSuccess: async (saved) => {
      queryClient.setQueryData(cookieChoiceKey, saved);
      const banner = await import("@/features/cookies/banner/spa");
      await banner.followChoice(saved);
      await queryClient.invalidateQueries({ queryKey: consentEventsKey });
    },
  });
}
