/**
 * Picture grids: ranked retrieval (query + top-k gallery with green / red frames for true / false
 * matches) and Grad-CAM heat maps side by side (one row per sample: the image, then one overlay
 * per model or module, as in the paper's figure 5).
 */
import type { RgbImage } from '../data/image.ts';
import { readImage } from '../data/image.ts';
import { topK } from '../eval/evaluate.ts';
import { Canvas, type Colour, textWidth } from './canvas.ts';
import { type AnyImage, heatmapOverlay, toRgb } from './heatmap.ts';

const GREEN: Colour = [0, 200, 0], RED: Colour = [230, 0, 0], BLACK: Colour = [0, 0, 0];

export interface RetrievalRow {
  query: RgbImage | string;
  /** Ranked gallery, best first. */
  gallery: { image: RgbImage | string; match: boolean; label?: string }[];
  label?: string;
}

const load = (x: RgbImage | string): RgbImage => (typeof x === 'string' ? readImage(x) : x);

/** One row per query: the query (black frame), a gap, then its ranked gallery framed green/red. */
export function drawRetrievalGrid(rows: RetrievalRow[], opts: { cellHeight?: number; cellWidth?: number } = {}): Canvas {
  const ch = opts.cellHeight ?? 128, cw = opts.cellWidth ?? 64, pad = 4, frame = 3, gap = 12, labelH = 12;
  const k = Math.max(1, ...rows.map((r) => r.gallery.length));
  const W = pad + (cw + pad) * (k + 1) + gap, H = pad + rows.length * (ch + labelH + pad) + 2;
  const c = new Canvas(W, H);
  rows.forEach((r, i) => {
    const y = pad + i * (ch + labelH + pad);
    c.blit(load(r.query), pad, y + labelH, cw, ch);
    c.frame(pad, y + labelH, cw, ch, frame, BLACK);
    c.text(r.label ?? 'QUERY', pad, y + 2, BLACK);
    r.gallery.forEach((g, j) => {
      const x = pad + (cw + pad) * (j + 1) + gap;
      c.blit(load(g.image), x, y + labelH, cw, ch);
      c.frame(x, y + labelH, cw, ch, frame, g.match ? GREEN : RED);
      c.text(g.label ?? String(j + 1), x, y + 2, g.match ? [0, 140, 0] : RED);
    });
  });
  return c;
}

/**
 * Retrieval rows for chosen queries from features (Market protocol: gallery items with the
 * query's pid and camera are not shown, as they are not ranked).
 */
export function retrievalRows(
  query: readonly { path: string; pid: number; camid: number }[], gallery: readonly { path: string; pid: number; camid: number }[],
  qf: Float32Array, gf: Float32Array, dim: number, queryIndices: number[], k = 10,
): RetrievalRow[] {
  const sub = new Float32Array(queryIndices.length * dim);
  queryIndices.forEach((q, i) => sub.set(qf.subarray(q * dim, (q + 1) * dim), i * dim));
  // Ask for enough to fill k after removing same pid + same camera.
  const removed = (q: number) => gallery.filter((g) => g.pid === query[q].pid && g.camid === query[q].camid).length;
  const want = Math.min(gallery.length, k + Math.max(0, ...queryIndices.map(removed)));
  const tops = topK(sub, gf, dim, queryIndices.length, gallery.length, want);
  return queryIndices.map((q, i) => ({
    query: query[q].path,
    label: `Q ${query[q].pid}`,
    gallery: Array.from(tops[i])
      .filter((g) => !(gallery[g].pid === query[q].pid && gallery[g].camid === query[q].camid))
      .slice(0, k)
      .map((g) => ({ image: gallery[g].path, match: gallery[g].pid === query[q].pid })),
  }));
}

export interface HeatmapSample {
  image: AnyImage;
  /** One map per column after the image, in `columns` order. */
  maps: { heat: Float32Array; height: number; width: number }[];
}

/** Rows of [image | overlay per column], with column titles (e.g. BASELINE, HLA, PLA, PLA+HLA, DLA, MLA). */
export function drawHeatmapGrid(samples: HeatmapSample[], columns: string[], opts: { cellHeight?: number; cellWidth?: number; alpha?: number } = {}): Canvas {
  const ch = opts.cellHeight ?? 128, cw = opts.cellWidth ?? 64, pad = 4, titleH = 14;
  const colW = Math.max(cw, ...columns.map((t) => textWidth(t) + 2), textWidth('IMAGE') + 2);
  const ncol = columns.length + 1;
  const c = new Canvas(pad + ncol * (colW + pad), titleH + pad + samples.length * (ch + pad));
  ['IMAGE', ...columns].forEach((t, j) => c.text(t, pad + j * (colW + pad) + (colW - textWidth(t)) / 2, 4, BLACK));
  samples.forEach((s, i) => {
    if (s.maps.length !== columns.length) throw new Error(`drawHeatmapGrid: sample ${i} has ${s.maps.length} maps for ${columns.length} columns`);
    const y = titleH + pad + i * (ch + pad);
    const rgb = toRgb(s.image);
    const x0 = (j: number) => pad + j * (colW + pad) + (colW - cw) / 2;
    c.blit(rgb, x0(0), y, cw, ch);
    s.maps.forEach((m, j) => c.blit(heatmapOverlay(rgb, m.heat, m.height, m.width, { alpha: opts.alpha }), x0(j + 1), y, cw, ch));
  });
  return c;
}
