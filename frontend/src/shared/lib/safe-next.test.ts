import { describe, expect, it } from "vitest";
import { safeNext, signInPath } from "./safe-next";

describe("safeNext", () => {
  it.each([
    ["/security?tab=tokens#x", "/security?tab=tokens#x"],
    ["/profile", "/profile"],
    ["/admin/users?cursor=abc%3D%3D&limit=20", "/admin/users?cursor=abc%3D%3D&limit=20"],
    ["/privacy/consents#history", "/privacy/consents#history"],
    ["/a/../security", "/security"],
    ["/search?next=//evil.example", "/search?next=//evil.example"],
  ])("keeps the same-origin path %j", (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it.each([
    null,
    undefined,
    "",
    "profile",
    "//evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "/\\/evil.example",
    "/.//evil.example/x",
    "/./\\evil.example",
    "/a/..//evil.example",
    "/%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/%09/evil.example",
    "/\u0000/evil.example",
    " //evil.example",
    "/%E0%A4%A",
  ])("refuses %j", (next) => {
    expect(safeNext(next)).toBe("/profile");
  });

  it("answers the given fallback", () => {
    expect(safeNext("//evil.example", "/admin")).toBe("/admin");
  });

  it("builds the sign-in path with next", () => {
    expect(signInPath("/security?a=1")).toBe("/sign-in?next=%2Fsecurity%3Fa%3D1");
    expect(signInPath("/")).toBe("/sign-in");
  });
});
