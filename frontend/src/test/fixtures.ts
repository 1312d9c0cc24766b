import type { components } from "@/shared/api/schema";

type Me = components["schemas"]["MeRead"];
export type Role = components["schemas"]["Role"];

/** The signed-in user as `GET /api/v1/me` returns them: a verified member unless told otherwise. */
export function aUser(overrides: Partial<Me> = {}): Me {
  return {
    id: "7f0c2c64-4c7e-4b8e-9a51-0f8d1d7e6a11",
    email: "ada@example.com",
    email_verified: true,
    name: "Ada Lovelace",
    company: null,
    job_title: null,
    phone: null,
    country: "GB",
    role: "member",
    status: "active",
    mfa_enabled: false,
    created_at: "2025-01-02T03:04:05Z",
    ...overrides,
  };
}
