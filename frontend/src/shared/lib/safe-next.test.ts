import { describe, expect, it } from "vitest";
import { safeNext, signInPath } from "./safe-next";

describe("safeNext", () => {
  it("keeps same-origin relative paths", () => {
    expect(safeNext("/security?tab=tokens#x")).toBe("/security?tab=tokens#x");
  });

  it.each([null, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "profile", "javascript:alert(1)"])(
    "refuses %s",
    (next) => {
      expect(safeNext(next)).toBe("/profile");
    },
  );

  it("builds the sign-in path with next", () => {
    expect(signInPath("/security?a=1")).toBe("/sign-in?next=%2Fsecurity%3Fa%3D1");
    expect(signInPath("/")).toBe("/sign-in");
  });
});
