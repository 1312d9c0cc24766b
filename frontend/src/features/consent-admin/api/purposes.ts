import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type Purpose = components["schemas"]["PurposeAdminRead"];
export type PurposeCreate = components["schemas"]["PurposeCreate"];
export type PurposeUpdate = components["schemas"]["PurposeUpdate"];
export type LegalBasis = components["schemas"]["LegalBasis"];

export const LEGAL_BASES: { value: LegalBasis; label: string }[] = [
  { value: "consent", label: "Consent" },
  { value: "contract", label: "Contract" },
  { value: "legitimate_interest", label: "Legitimate interest" },
  { value: "legal_obligation", label: "Legal obligation" },
];

export function legalBasisLabel(value: string): string {
  return LEGAL_BASES.find((option) => option.value === value)?.label ?? value;
}

export const adminPurposesKey = ["admin", "purposes"] as const;

export function useAdminPurposes(enabled = true) {
  return useQuery({
    queryKey: adminPurposesKey,
    enabled,
    queryFn: async () => unwrap(await api.GET("/api/v1/admin/purposes")),
  });
}

function useStorePurpose() {
  const queryClient = useQueryClient();
  return (saved: Purpose) => {
    queryClient.setQueryData<Purpose[]>(adminPurposesKey, (list) => {
      if (!list) return list;
      const others = list.filter((item) => item.key !== saved.key);
      return [...others, saved].sort((a, b) => a.key.localeCompare(b.key));
    });
  };
}

export function useCreatePurpose() {
  const store = useStorePurpose();
  return useMutation({
    mutationFn: async (body: PurposeCreate) => unwrap(await api.POST("/api/v1/admin/purposes", { body })),
    onSuccess: store,
  });
}

export function useUpdatePurpose() {
  const store = useStorePurpose();
  return useMutation({
    mutationFn: async ({ key, body }: { key: string; body: PurposeUpdate }) =>
      unwrap(await api.PATCH("/api/v1/admin/purposes/{key}", { params: { path: { key } }, body })),
    onSuccess: store,
  });
}
