import "@mantine/charts/styles.css";

import { LineChart } from "@mantine/charts";

import type { ConsentStats } from "@/features/consent-admin/api/stats";
import { formatDay } from "./format";

const COLORS = ["indigo.7", "teal.8", "orange.8", "grape.7", "red.8", "cyan.8", "lime.9", "pink.7"];

/** Opt-in rate per purpose per day, in percent; days without answers are gaps. */
export function OptInChart({ stats }: { stats: ConsentStats }) {
  const data = (stats.purposes[0]?.days ?? []).map((first, index) => {
    const point: Record<string, string | number | null> = { day: formatDay(first.day) };
    for (const purpose of stats.purposes) {
      const rate = purpose.days[index]?.opt_in_rate;
      point[purpose.key] = rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10;
    }
    return point;
  });
  const series = stats.purposes.map((purpose, index) => ({
    name: purpose.key,
    label: purpose.name,
    color: COLORS[index % COLORS.length],
  }));
  return (
    <div
      role="img"
      aria-label="Line chart of the opt-in rate per purpose per day; the table below has the same numbers."
    >
      <LineChart
        h={320}
        data={data}
        dataKey="day"
        series={series}
        curveType="linear"
        connectNulls={false}
        withLegend
        yAxisProps={{ domain: [0, 100] }}
        unit="%"
        valueFormatter={(value) => `${value}%`}
      />
    </div>
  );
}
