const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
const dayFormat = new Intl.DateTimeFormat("en", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** An opt-in rate (0..1) as a percentage, or a dash when there were no answers. */
export function formatRate(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : percent.format(rate);
}

/** A UTC calendar day ("2026-03-04") as "Mar 4, 2026". */
export function formatDay(day: string): string {
  return dayFormat.format(new Date(`${day}T00:00:00Z`));
}
