import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type Me = components["schemas"]["MeRead"];
export type ProfileUpdate = components["schemas"]["ProfileUpdate"];
export type EmailChange = components["schemas"]["EmailChange"];

export function useUpdateProfile() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ProfileUpdate) => unwrap(await api.PATCH("/api/v1/me", { body })),
    onSuccess: (me) => queryClient.setQueryData(["me"], me),
  });
}

export function useChangeEmail() {
  return useMutation({
    mutationFn: async (body: EmailChange) => unwrap(await api.POST("/api/v1/me/email", { body })),
  });
}
