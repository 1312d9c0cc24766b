import { api, rememberCsrfToken } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type LoginRequest = components["schemas"]["LoginRequest"];
export type LoginResult = components["schemas"]["LoginResult"];
export type RegistrationCreate = components["schemas"]["RegistrationCreate"];
export type PolicyKind = components["schemas"]["PolicyKind"];
export type PolicyVersion = components["schemas"]["PolicyVersionRead"];

export async function login(body: LoginRequest): Promise<LoginResult> {
  const result = unwrap(await api.POST("/api/v1/auth/login", { body }));
  rememberCsrfToken(result.csrf_token);
  return result;
}

export async function register(body: RegistrationCreate) {
  return unwrap(await api.POST("/api/v1/auth/register", { body }));
}

export async function resendVerification(email: string) {
  return unwrap(await api.POST("/api/v1/auth/verify-email/resend", { body: { email } }));
}

export async function verifyEmail(token: string) {
  return unwrap(await api.POST("/api/v1/auth/verify-email", { body: { token } }));
}

export async function forgotPassword(email: string) {
  return unwrap(await api.POST("/api/v1/auth/password/forgot", { body: { email } }));
}

export async function resetPassword(token: string, newPassword: string): Promise<void> {
  unwrap(await api.POST("/api/v1/auth/password/reset", { body: { token, new_password: newPassword } }));
}

export async function getPolicy(kind: PolicyKind): Promise<PolicyVersion> {
  return unwrap(await api.GET("/api/v1/policies/{kind}", { params: { path: { kind } } }));
}
