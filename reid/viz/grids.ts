/**
 * Grad-CAM heat maps side by side (one row per sample: the image, then one overlay per model or
 * module, as in the paper's figure 5). The retrieval picture is ./retrieval.ts.
 */
import { Canvas, type Colour, textWidth, wrapText } from './canvas.ts';
import { type AnyImage, heatmapOverlay, jet, toRgb } from './heatmap.ts';

const BLACK: Colour = [0, 0, 0];

export interface HeatmapSample {
  image: AnyImage;
  /** One map per column after the image, in `columns` order. */
  maps: { heat: Float32Array; height: number; width: number }[];
}

export interface HeatmapGridOptions {
  cellHeight?: number;
  cellWidth?: number;
  alpha?: number;
  /** Lines under each column title (e.g. the correlation with layer4's map), one list per column. */
  notes?: string[][];
  /** Lines under the colour bar (wrapped to the picture's width). */
  legend?: string[];
}

/** Geometry of the grid (exported for the tests). */
export function heatmapLayout(columns: string[], notes: string[][], cw: number, ch: number, samples: number) {
  const pad = 4;
  const head = 14 + 10 * Math.max(0, ...notes.map((n) => n.length));
  const colW = Math.max(cw, ...columns.map((t) => textWidth(t) + 2), ...notes.flat().map((t) => textWidth(t) + 2), textWidth('image') + 2);
  const width = Math.max(pad + (columns.length + 1) * (colW + pad), 200);
  const barY = head + pad + samples * (ch + pad) + 4;
  return { pad, head, colW, width, barY, barX: pad + 10, barW: width - 2 * pad - 20, barH: 10 };
}

/**
 * Rows of [image | overlay per column] with column titles and notes, then a colour bar of the jet
 * scale (0 = the map's minimum, 1 = its maximum: every map is min-max scaled on its own) and the legend.
 */
export function drawHeatmapGrid(samples: HeatmapSample[], columns: string[], opts: HeatmapGridOptions = {}): Canvas {
  const ch = opts.cellHeight ?? 128, cw = opts.cellWidth ?? 64;
  const notes = opts.notes ?? columns.map(() => []);
  if (notes.length !== columns.length) throw new Error(`drawHeatmapGrid: ${notes.length} note lists for ${columns.length} columns`);
  const L = heatmapLayout(columns, notes, cw, ch, samples.length);
  const legend = (opts.legend ?? []).flatMap((l) => wrapText(l, L.width - 2 * L.pad));
  const c = new Canvas(L.width, L.barY + L.barH + 14 + legend.length * 11 + 4);
  const colX = (j: number) => L.pad + j * (L.colW + L.pad);
  ['image', ...columns].forEach((t, j) => c.text(t, colX(j) + (L.colW - textWidth(t)) / 2, 4, BLACK));
  notes.forEach((lines, j) => lines.forEach((t, i) => c.text(t, colX(j + 1) + (L.colW - textWidth(t)) / 2, 15 + 10 * i, [90, 90, 90])));
  samples.forEach((s, i) => {
    if (s.maps.length !== columns.length) throw new Error(`drawHeatmapGrid: sample ${i} has ${s.maps.length} maps for ${columns.length} columns`);
    const y = L.head + L.pad + i * (ch + L.pad);
    const rgb = toRgb(s.image);
    const x0 = (j: number) => colX(j) + (L.colW - cw) / 2;
    c.blit(rgb, x0(0), y, cw, ch);
    s.maps.forEach((m, j) => c.blit(heatmapOverlay(rgb, m.heat, m.height, m.width, { alpha: opts.alpha }), x0(j + 1), y, cw, ch));
  });
  // Colour bar: jet from 0 (left) to 1 (right), with its ends and middle labelled.
  for (let x = 0; x < L.barW; x++) c.fillRect(L.barX + x, L.barY, 1, L.barH, jet(x / (L.barW - 1)));
  c.frame(L.barX - 1, L.barY - 1, L.barW + 2, L.barH + 2, 1, BLACK);
  const ty = L.barY + L.barH + 2;
  c.text('0 low', L.barX, ty, BLACK);
  c.text('0.5', L.barX + L.barW / 2 - textWidth('0.5') / 2, ty, BLACK);
  c.text('high 1', L.barX + L.barW - textWidth('high 1'), ty, BLACK);
  legend.forEach((l, t) => c.text(l, L.pad, ty + 12 + t * 11, BLACK));
  return c;
}
