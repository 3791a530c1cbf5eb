/**
 * Grouped bar chart with error bars (e.g. the ablation: one group per method, one bar per metric,
 * the bar at the mean, the error bar spanning the confidence interval, one dot per seed).
 */
import { Canvas, type Colour, textWidth } from './canvas.ts';
import { PALETTE, niceTicks } from './chart.ts';

export interface Bar {
  mean: number;
  /** Interval ends; both null draws no error bar (e.g. a single seed). */
  lo: number | null;
  hi: number | null;
  /** The individual values (dots). */
  points?: number[];
}

export interface BarGroup {
  name: string;
  /** One bar per series, in `series` order; null where the group has no value. */
  bars: (Bar | null)[];
}

export interface BarChartOptions {
  title?: string;
  yLabel?: string;
  /** Lines under the chart (e.g. how the interval was computed). */
  footer?: string[];
  barWidth?: number;
  height?: number;
  /** Legend text of the error bar (default '95 % CI'). */
  intervalLabel?: string;
}

const BLACK: Colour = [0, 0, 0], GREY: Colour = [225, 225, 225];

/** Bar geometry shared with the tests: x of bar `s` of group `g` and the plot's left edge. */
export function barLayout(groups: number, series: number, barWidth: number) {
  const left = 50, groupGap = 18;
  const groupW = series * barWidth + groupGap;
  return { left, groupW, width: left + groups * groupW + 10, barX: (g: number, s: number) => left + groupGap / 2 + g * groupW + s * barWidth };
}

export function drawBarChart(groups: BarGroup[], series: { name: string; colour?: Colour }[], opts: BarChartOptions = {}): Canvas {
  const bw = opts.barWidth ?? 22, H = opts.height ?? 300;
  const footer = opts.footer ?? [];
  const layout = barLayout(groups.length, series.length, bw);
  const intervalLabel = opts.intervalLabel ?? '95 % CI';
  const legendW = Math.max(textWidth(intervalLabel), textWidth('one seed'), ...series.map((s) => textWidth(s.name))) + 24;
  const W = Math.max(layout.width + legendW, ...footer.map((l) => textWidth(l) + 12), textWidth(opts.title ?? '') + 12);
  const c = new Canvas(W, H + footer.length * 11);
  for (const g of groups) {
    if (g.bars.length !== series.length) throw new Error(`drawBarChart: group '${g.name}' has ${g.bars.length} bars for ${series.length} series`);
  }
  const colours = series.map((s, i) => s.colour ?? PALETTE[i % PALETTE.length]);
  const top = 24, bottom = H - 30, left = layout.left, right = layout.width - 10;
  if (opts.title) c.text(opts.title, 6, 6, BLACK);
  const values = groups.flatMap((g) => g.bars.flatMap((b) => (b ? [b.mean, b.hi ?? b.mean, b.lo ?? b.mean, ...(b.points ?? [])] : [])));
  const yt = niceTicks(Math.min(0, ...values), Math.max(1e-9, ...values), 5);
  const y0 = yt[0], y1 = yt[yt.length - 1];
  const py = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  for (const t of yt) {
    const yy = Math.round(py(t));
    c.fillRect(left, yy, right - left, 1, GREY);
    const s = String(Number(t.toPrecision(4)));
    c.text(s, left - 4 - textWidth(s), yy - 3, BLACK);
  }
  if (opts.yLabel) c.textUp(opts.yLabel, 4, (top + bottom) / 2 + textWidth(opts.yLabel) / 2, BLACK);
  groups.forEach((g, gi) => {
    g.bars.forEach((b, si) => {
      if (!b) return;
      const x = layout.barX(gi, si);
      const yb = py(b.mean), yz = py(Math.max(0, y0));
      c.fillRect(x + 1, Math.min(yb, yz), bw - 2, Math.max(1, Math.abs(yz - yb)), colours[si]);
      // Seeds' dots spread across the bar, so they do not hide under the error bar.
      const pts = b.points ?? [];
      pts.forEach((p, i) => c.fillRect(x + 3 + (pts.length > 1 ? (i * (bw - 8)) / (pts.length - 1) : (bw - 8) / 2), py(p) - 1, 3, 3, [60, 60, 60]));
      if (b.lo !== null && b.hi !== null) {
        const xm = Math.round(x + bw / 2);
        c.fillRect(xm, Math.round(py(b.hi)), 1, Math.max(1, Math.round(py(b.lo)) - Math.round(py(b.hi)) + 1), BLACK);
        c.fillRect(xm - 4, Math.round(py(b.hi)), 9, 1, BLACK);
        c.fillRect(xm - 4, Math.round(py(b.lo)), 9, 1, BLACK);
      }
    });
    const gx = layout.barX(gi, 0) + (series.length * bw) / 2;
    c.text(g.name, gx - textWidth(g.name) / 2, bottom + 6, BLACK);
  });
  c.fillRect(left, top, 1, bottom - top + 1, BLACK);
  c.fillRect(left, Math.round(py(Math.max(0, y0))), right - left + 1, 1, BLACK);
  // Legend: one swatch per series, then what the marks mean.
  let ly = top;
  const lx = layout.width;
  series.forEach((s, i) => { c.fillRect(lx, ly + 1, 10, 7, colours[i]); c.text(s.name, lx + 14, ly, BLACK); ly += 11; });
  c.fillRect(lx + 4, ly + 3, 3, 3, [60, 60, 60]); c.text('one seed', lx + 14, ly, BLACK); ly += 11;
  c.fillRect(lx + 5, ly, 1, 8, BLACK); c.fillRect(lx + 1, ly, 9, 1, BLACK); c.fillRect(lx + 1, ly + 7, 9, 1, BLACK);
  c.text(intervalLabel, lx + 14, ly, BLACK);
  footer.forEach((l, i) => c.text(l, 6, H + i * 11, BLACK));
  return c;
}
