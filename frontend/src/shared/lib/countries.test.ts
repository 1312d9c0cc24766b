import { describe, expect, it } from "vitest";
import { COUNTRIES, countryOptions } from "./countries";

describe("countryOptions", () => {
  it("offers each of the 249 ISO 3166-1 alpha-2 codes once, each with a real name", () => {
    const codes = COUNTRIES.map((country) => country.value);
    expect(new Set(codes).size).toBe(249);
    expect(codes.every((code) => /^[A-Z]{2}$/.test(code))).toBe(true);
    // Without full ICU data Intl.DisplayNames would fall back to the code itself.
    expect(COUNTRIES.filter((country) => country.label === country.value)).toEqual([]);
  });

  it("names the countries in English, as the app speaks it", () => {
    const name = (code: string) => COUNTRIES.find((country) => country.value === code)?.label;
    expect(name("GB")).toBe("United Kingdom");
    expect(name("DE")).toBe("Germany");
    expect(name("CI")).toBe("Côte d’Ivoire");
  });

  it("sorts by name the way the language does, accents included", () => {
    const labels = COUNTRIES.map((country) => country.label);
    expect(labels.slice(0, 3)).toEqual(["Afghanistan", "Åland Islands", "Albania"]);
    expect(labels.at(-1)).toBe("Zimbabwe");
  });

  it("names and sorts in another locale when asked", () => {
    const german = countryOptions("de");
    expect(german.find((country) => country.value === "DE")?.label).toBe("Deutschland");
    expect(german.slice(0, 2).map((country) => country.label)).toEqual(["Afghanistan", "Ägypten"]);
  });
});
