// Cost by day as a small bar chart: inline SVG built here, no chart library.

import { formatCost } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 150;
const PAD = { top: 10, right: 4, bottom: 22 };
const LABEL_CHAR = 6; // width of one axis-label character, roughly (10.5px font)
const EMPTY_BAR = 1.5; // a day without spend still shows where it is
const DAY_MS = 86_400_000;

/** The `count` UTC dates ("YYYY-MM-DD") that end today, oldest first. */
export function lastDays(count, today = new Date()) {
  const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Array.from({ length: count }, (_, index) =>
    new Date(end - (count - 1 - index) * DAY_MS).toISOString().slice(0, 10),
  );
}

/** "Nov 30" for "2025-11-30" (a UTC date). */
export function dayLabel(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
}

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The smallest "round" number (1, 1.2, 1.5, 2 ... 8 times a power of ten) at least `value`. */
function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * power >= value * (1 - 1e-9)) return step * power;
  }
  return 10 * power;
}

/** An axis label, exact: ticks are multiples of a half "round" number (3 digits at most). */
function axisLabel(value, step) {
  if (value === 0) return "$0";
  const decimals = Math.min(14, Math.max(0, 2 - Math.floor(Math.log10(step))));
  return `$${value.toFixed(decimals).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")}`;
}

/**
 * A bar chart of cost per day.
 *
 * @param {Array<{key: string, cost: string, message_count: number}>} rows - The API's
 *   `usage/breakdown?by=day` rows (days without usage are simply missing).
 * @param {string[]} days - The days to draw, oldest first (see `lastDays`).
 * @returns {SVGSVGElement} The chart; each bar is a `rect.chart__bar` with a tooltip.
 */
export function costChart(rows, days) {
  const byDay = new Map(rows.map((row) => [String(row.key), row]));
  const costs = days.map((day) => Number(byDay.get(day)?.cost ?? 0));
  const top = niceCeiling(Math.max(...costs));
  const ticks = [0, 0.5, 1].map((fraction) => ({
    fraction,
    label: axisLabel(top * fraction, top / 2),
  }));
  const left = 10 + LABEL_CHAR * Math.max(...ticks.map((tick) => tick.label.length));
  const plotWidth = WIDTH - left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotWidth / days.length;
  const barWidth = Math.max(2, slot * 0.62);

  const spent = days.filter((day) => byDay.has(day));
  const peak = spent.reduce(
    (best, day) => (Number(byDay.get(day).cost) > Number(byDay.get(best)?.cost ?? -1) ? day : best),
    null,
  );
  const summary = peak
    ? `Spend on ${spent.length} of the last ${days.length} days; highest ${formatCost(
        byDay.get(peak).cost,
      )} on ${dayLabel(peak)}.`
    : `No spend in the last ${days.length} days.`;

  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": "usage-chart-title usage-chart-desc",
  });
  chart.append(
    svg("title", { id: "usage-chart-title" }, "Cost by day"),
    svg("desc", { id: "usage-chart-desc" }, summary),
  );

  const grid = svg("g", { class: "chart__grid" });
  for (const { fraction, label } of ticks) {
    const y = PAD.top + plotHeight * (1 - fraction);
    grid.append(
      svg("line", { x1: left, x2: WIDTH - PAD.right, y1: y, y2: y }),
      svg("text", { x: left - 6, y: y + 3.5, "text-anchor": "end", class: "chart__axis" }, label),
    );
  }
  chart.append(grid);

  const bars = svg("g", { class: "chart__bars" });
  days.forEach((day, index) => {
    const row = byDay.get(day);
    const x = left + slot * index + (slot - barWidth) / 2;
    const cost = costs[index];
    const height = cost > 0 ? Math.max(2, (cost / top) * plotHeight) : EMPTY_BAR;
    const bar = svg("rect", {
      class: cost > 0 ? "chart__bar" : "chart__bar chart__bar--empty",
      x: x.toFixed(2),
      y: (PAD.top + plotHeight - height).toFixed(2),
      width: barWidth.toFixed(2),
      height: height.toFixed(2),
      rx: Math.min(2, barWidth / 4).toFixed(2),
      "data-day": day,
      "data-cost": row ? row.cost : "0",
    });
    const messages = row ? row.message_count : 0;
    bar.append(
      svg(
        "title",
        {},
        `${dayLabel(day)}: ${formatCost(row ? row.cost : "0")} (${messages} message${
          messages === 1 ? "" : "s"
        })`,
      ),
    );
    bars.append(bar);
    if ((days.length - 1 - index) % 4 === 0) {
      const last = index === days.length - 1; // kept inside the chart: ends at its edge
      bars.append(
        svg(
          "text",
          {
            x: (last ? WIDTH - PAD.right : left + slot * index + slot / 2).toFixed(2),
            y: HEIGHT - 6,
            "text-anchor": last ? "end" : "middle",
            class: "chart__axis",
          },
          dayLabel(day),
        ),
      );
    }
  });
  chart.append(bars);
  return chart;
}
