import { describe, expect, it } from "vitest";

import { formatMoney } from "./format";

// Stripe's amounts are in the currency's smallest unit; the display must not assume cents.
describe("formatMoney", () => {
  const expected = (value: number, currency: string) =>
    new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);

  it("divides two-decimal currencies by 100", () => {
    expect(formatMoney(1999, "usd")).toBe(expected(19.99, "USD"));
    expect(formatMoney(500, "EUR")).toBe(expected(5, "EUR"));
  });

  it("shows zero-decimal currencies as sent", () => {
    expect(formatMoney(1500, "jpy")).toBe(expected(1500, "JPY"));
    expect(formatMoney(25000, "KRW")).toBe(expected(25000, "KRW"));
  });

  it("divides three-decimal currencies by 1000", () => {
    expect(formatMoney(5125, "kwd")).toBe(expected(5.125, "KWD"));
  });
});
