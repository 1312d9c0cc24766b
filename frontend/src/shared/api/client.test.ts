import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi, route } from "@/test/render";
import { api, onUnauthorized } from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "opm_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

const unauthorized = { type: "urn:opmaestro:problem:not-authenticated", title: "Not authenticated", status: 401 };

describe("api client", () => {
  it("sends the CSRF cookie's value on unsafe requests only", async () => {
    document.cookie = "opm_csrf=abc123; path=/";
    const calls = mockApi(
      route("GET", "/api/v1/me/sessions", () => json({ items: [], next_cursor: null })),
      route("POST", "/api/v1/auth/logout", () => new Response(null, { status: 204 })),
    );
    await api.GET("/api/v1/me/sessions");
    await api.POST("/api/v1/auth/logout");
    expect(calls[0]?.headers.get("X-CSRF-Token")).toBeNull();
    expect(calls[1]?.headers.get("X-CSRF-Token")).toBe("abc123");
  });

  it("calls the unauthorized handler on a 401, but not for sign-in or the GET /me probe", async () => {
    const handler = vi.fn();
    const restore = onUnauthorized(handler);
    mockApi(
      route("GET", "/api/v1/me", () => json(unauthorized, 401)),
      route("POST", "/api/v1/auth/login", () => json(unauthorized, 401)),
      route("GET", "/api/v1/me/sessions", () => json(unauthorized, 401)),
    );
    await api.GET("/api/v1/me");
    await api.POST("/api/v1/auth/login", { body: { email: "a@example.com", password: "x" } });
    expect(handler).not.toHaveBeenCalled();
    await api.GET("/api/v1/me/sessions");
    expect(handler).toHaveBeenCalledTimes(1);
    restore();
  });
});
