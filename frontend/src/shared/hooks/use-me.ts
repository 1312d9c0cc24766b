import { useQuery } from "@tanstack/react-query";
import { api } from "@/shared/api/client";
import { ProblemError, unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type Me = components["schemas"]["MeRead"];
export type Role = Me["role"];

export const ME_QUERY_KEY = ["me"] as const;
export const STAFF_ROLES: ReadonlyArray<Role> = ["support", "privacy_officer", "admin"];

/** GET /me, probing: the signed-in user, or `null` when there is no session (a 401). */
export async function fetchMe(): Promise<Me | null> {
  try {
    return unwrap(await api.GET("/api/v1/me"));
  } catch (error) {
    if (error instanceof ProblemError && error.status === 401) return null;
    throw error;
  }
}

/** The signed-in user (`data` is `null` when signed out), query key `["me"]`. */
export function useMe() {
  return useQuery({ queryKey: ME_QUERY_KEY, queryFn: fetchMe, staleTime: 60_000 });
}

export function isStaff(me: Me | null | undefined): boolean {
  return !!me && STAFF_ROLES.includes(me.role);
}

/** Roles that manage purposes and read consent statistics (the API's PrivacyAdministrator). */
export const PRIVACY_STAFF_ROLES: ReadonlyArray<Role> = ["privacy_officer", "admin"];

export function isPrivacyStaff(me: Me | null | undefined): boolean {
  return !!me && PRIVACY_STAFF_ROLES.includes(me.role);
}
