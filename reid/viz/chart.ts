/**
 * A line chart panel on a Canvas: axes, "nice" ticks with labels, one polyline (with dots) per
 * series, a title and a legend. Used by ./curves.ts for the training curves.
 */
import { Canvas, type Colour, textWidth } from './canvas.ts';

export interface Series {
  name: string;
  colour: Colour;
  points: [number, number][]; // (x, y); non-finite y values are left out
}

export const PALETTE: Colour[] = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75], [227, 119, 194], [23, 190, 207]];

/**
 * About `n` round tick values; the first is <= lo and the last >= hi. With `integer` (e.g. epochs)
 * every tick is an integer: the step is at least 1 and one of 1, 2, 5 × 10^k.
 */
export function niceTicks(lo: number, hi: number, n = 5, opts: { integer?: boolean } = {}): number[] {
  // A flat (or numerically flat) range gets a margin so that the ticks stay finite and few.
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  if (!(hi - lo > scale * 1e-9 && hi - lo > 1e-200)) { const d = scale > 1e-200 ? scale * 0.1 : 1; lo -= d; hi += d; }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = opts.integer
    ? [1, 2, 5, 10].map((m) => m * Math.max(1, mag)).find((s) => s >= raw)!
    : [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  // From the tick at or below lo to the tick at or above hi, so every point lies inside.
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  for (let i = first; i <= last; i++) out.push(i === 0 ? 0 : Number((i * step).toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export interface LineChartOptions {
  /** x-axis label (default 'epoch'). */
  xLabel?: string;
  /** Integer x ticks (default true: the x axis is epochs). */
  integerX?: boolean;
  /** Lowest value the y axis must show (e.g. 0 for counts). */
  yMin?: number;
  /** Integer y ticks (counts). */
  integerY?: boolean;
}

/** Legend entries laid out left to right under the title, wrapping at `width`: [entry index, x offset, row]. */
export function legendLayout(names: string[], width: number): { at: [number, number, number][]; rows: number } {
  const at: [number, number, number][] = [];
  let cx = 0, row = 0;
  names.forEach((n, i) => {
    const w = 12 + textWidth(n) + 10;
    if (cx > 0 && cx + w > width) { cx = 0; row++; }
    at.push([i, cx, row]);
    cx += w;
  });
  return { at, rows: names.length > 0 ? row + 1 : 0 };
}

/** Draws a chart in the rectangle (x, y, w, h) of `c`. */
export function drawLineChart(c: Canvas, x: number, y: number, w: number, h: number, title: string, series: Series[], opts: LineChartOptions = {}): void {
  const xLabel = opts.xLabel ?? 'epoch';
  const black: Colour = [0, 0, 0], grey: Colour = [225, 225, 225];
  c.fillRect(x, y, w, h, [255, 255, 255]);
  c.text(title, x + Math.max(2, (w - textWidth(title)) / 2), y + 3, black);
  const pts = series.flatMap((s) => s.points.filter(([, v]) => Number.isFinite(v)));
  // Legend (only when there is more than one series) in rows under the title, above the plot.
  const legend = series.length > 1 ? legendLayout(series.map((s) => s.name), w - 56) : { at: [], rows: 0 };
  const left = x + 46, right = x + w - 10, top = y + 16 + 11 * legend.rows, bottom = y + h - 24;
  for (const [i, lx, row] of legend.at) {
    const s = series[i], ly = y + 15 + 11 * row;
    c.fillRect(left + lx, ly + 2, 9, 5, s.colour);
    c.text(s.name, left + lx + 12, ly, black);
  }
  if (pts.length === 0) {
    c.text('no data', x + w / 2 - 20, y + h / 2, [120, 120, 120]);
    return;
  }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), 6, { integer: opts.integerX ?? true });
  const yt = niceTicks(Math.min(opts.yMin ?? Infinity, ...ys), Math.max(...ys), 5, { integer: opts.integerY });
  const x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * (right - left);
  const py = (v: number) => bottom - ((v - y0) / (y1 - y0 || 1)) * (bottom - top);
  for (const t of yt) {
    const yy = Math.round(py(t));
    c.fillRect(left, yy, right - left, 1, grey);
    const s = fmt(t);
    c.text(s, left - 4 - textWidth(s), yy - 3, black);
  }
  for (const t of xt) {
    const xx = Math.round(px(t));
    c.fillRect(xx, bottom, 1, 3, black);
    const s = fmt(t);
    c.text(s, xx - textWidth(s) / 2, bottom + 5, black);
  }
  c.fillRect(left, top, 1, bottom - top + 1, black);
  c.fillRect(left, bottom, right - left + 1, 1, black);
  c.text(xLabel, (left + right) / 2 - textWidth(xLabel) / 2, bottom + 14, black);
  for (const s of series) {
    const p = s.points.filter(([, v]) => Number.isFinite(v));
    for (let i = 1; i < p.length; i++) c.line(px(p[i - 1][0]), py(p[i - 1][1]), px(p[i][0]), py(p[i][1]), s.colour, 2);
    for (const [a, b] of p) c.fillRect(px(a) - 2, py(b) - 2, 5, 5, s.colour);
  }
}
