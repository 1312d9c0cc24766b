import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type ConsentStats = components["schemas"]["ConsentStatsRead"];
export type PurposeStats = components["schemas"]["PurposeStats"];
export type DayStats = components["schemas"]["DayStats"];

export const PERIODS = [7, 30, 90] as const;
export type Period = (typeof PERIODS)[number];

export function useConsentStats(days: Period, enabled = true) {
  return useQuery({
    enabled,
    queryKey: ["admin", "consent", "stats", days],
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/consent/stats", { params: { query: { days } } })),
    placeholderData: keepPreviousData,
  });
}
