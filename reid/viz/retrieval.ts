/**
 * The ranked-retrieval picture: one row per query (queries drawn from every camera), its top-k
 * gallery in rank order, each image labelled with its identity and camera, green / red frames for
 * true / false matches, the first true match marked (with its rank in the whole gallery, also when
 * it lies beyond k), and a legend saying what all of that means.
 *
 * Market-1501 protocol: gallery images with the query's identity *and* camera are not ranked.
 * Camera numbers are shown 1-based (as in Market's file names: c1..c6); ids as the data set has them.
 */
import type { RgbImage } from '../data/image.ts';
import { readImage } from '../data/image.ts';
import { topK } from '../eval/evaluate.ts';
import { Canvas, type Colour, textWidth, wrapText } from './canvas.ts';

const GREEN: Colour = [0, 190, 0], RED: Colour = [230, 0, 0], BLACK: Colour = [0, 0, 0], DARK_GREEN: Colour = [0, 120, 0];

interface Labelled { pid: number; camid: number }

export interface RetrievalRow {
  query: RgbImage | string;
  pid: number;
  camid: number;
  /** Ranked gallery, best first (at most k shown). */
  gallery: { image: RgbImage | string; match: boolean; pid: number; camid: number }[];
  /** 1-based rank of the first true match in the whole ranked gallery; null when the gallery holds none. */
  firstMatch: number | null;
}

/**
 * `n` query indices spread over every camera (round robin over the cameras in ascending order,
 * evenly spaced within each camera's queries, each identity at most once where possible);
 * deterministic. With fewer than one query per camera asked, the first `n` cameras.
 */
export function sampleQueries(query: readonly Labelled[], n: number): number[] {
  const cams = [...new Set(query.map((q) => q.camid))].sort((a, b) => a - b);
  const byCam = new Map(cams.map((c) => [c, [] as number[]]));
  query.forEach((q, i) => byCam.get(q.camid)!.push(i));
  const perCam = Math.ceil(n / Math.max(1, cams.length));
  const usedPid = new Set<number>(), chosen: number[] = [], taken = new Set<number>();
  // Round r takes one query per camera (cameras with none left are passed over) until n are taken.
  for (let r = 0; chosen.length < Math.min(n, query.length); r++) {
    for (const c of cams) {
      if (chosen.length >= n) break;
      const list = byCam.get(c)!;
      const start = Math.floor(((r + 0.5) * list.length) / perCam) % list.length;
      // The first unused identity from the evenly spaced start (wrapping), else the first unused query.
      let pick = -1;
      for (let t = 0; t < list.length && pick < 0; t++) {
        const i = list[(start + t) % list.length];
        if (!usedPid.has(query[i].pid) && !taken.has(i)) pick = i;
      }
      if (pick < 0) pick = list.find((i) => !taken.has(i)) ?? -1;
      if (pick < 0) continue;
      chosen.push(pick);
      taken.add(pick);
      usedPid.add(query[pick].pid);
    }
  }
  return chosen;
}

/** Retrieval rows for the chosen queries from L2-comparable features qf [Q, dim], gf [G, dim]. */
export function retrievalRows(
  query: readonly (Labelled & { path: string })[], gallery: readonly (Labelled & { path: string })[],
  qf: Float32Array, gf: Float32Array, dim: number, queryIndices: number[], k = 10,
): RetrievalRow[] {
  const sub = new Float32Array(queryIndices.length * dim);
  queryIndices.forEach((q, i) => sub.set(qf.subarray(q * dim, (q + 1) * dim), i * dim));
  // The whole ranking: the first true match may lie beyond k.
  const ranked = topK(sub, gf, dim, queryIndices.length, gallery.length, gallery.length);
  return queryIndices.map((q, i) => {
    const { pid, camid } = query[q];
    const order = Array.from(ranked[i]).filter((g) => !(gallery[g].pid === pid && gallery[g].camid === camid));
    const first = order.findIndex((g) => gallery[g].pid === pid);
    return {
      query: query[q].path, pid, camid,
      gallery: order.slice(0, k).map((g) => ({ image: gallery[g].path, match: gallery[g].pid === pid, pid: gallery[g].pid, camid: gallery[g].camid })),
      firstMatch: first < 0 ? null : first + 1,
    };
  });
}

const load = (x: RgbImage | string): RgbImage => (typeof x === 'string' ? readImage(x) : x);

/** Geometry of the grid (exported for the tests). */
export function retrievalLayout(k: number, cw: number, ch: number) {
  const pad = 4, gap = 12, header = 14, labelH = 22, markH = 11, side = 92;
  const rowH = labelH + ch + markH + pad;
  return {
    pad, header, labelH, rowH, frame: 3,
    width: Math.max(320, pad + (cw + pad) * (k + 1) + gap + side),
    cellX: (j: number) => (j < 0 ? pad : pad + (cw + pad) * (j + 1) + gap),
    sideX: pad + (cw + pad) * (k + 1) + gap,
    rowY: (i: number) => header + pad + i * rowH,
  };
}

/** Legend lines under the grid. */
export const RETRIEVAL_LEGEND = [
  'frames: black = query, green = same identity (true match), red = other identity; "1st" marks the first true match',
  'columns: the gallery ranked by feature distance, nearest first; images of the query\'s own identity and camera are not ranked (Market-1501)',
  'labels: id = identity, cam = camera (1-based); right: rank of the first true match in the whole gallery',
];

/** Added to the legend when a gallery image of identity 0 is shown. */
export const DISTRACTOR_LEGEND = 'id 0: a distractor (Market-1501\'s 0000 label: a person none of the queries is)';

export function drawRetrievalGrid(rows: RetrievalRow[], opts: { cellHeight?: number; cellWidth?: number } = {}): Canvas {
  const ch = opts.cellHeight ?? 128, cw = opts.cellWidth ?? 64;
  const k = Math.max(1, ...rows.map((r) => r.gallery.length));
  const L = retrievalLayout(k, cw, ch);
  const distractor = rows.some((r) => r.gallery.some((g) => g.pid === 0));
  const legend = [...RETRIEVAL_LEGEND, ...(distractor ? [DISTRACTOR_LEGEND] : [])].flatMap((l) => wrapText(l, L.width - 2 * L.pad));
  const legendY = L.rowY(rows.length) + 4;
  const c = new Canvas(L.width, legendY + 14 + legend.length * 11 + 2);
  // Column headers: "query", then the ranks.
  c.text('query', L.cellX(-1) + (cw - textWidth('query')) / 2, 4, BLACK);
  for (let j = 0; j < k; j++) { const s = `rank ${j + 1}`; c.text(textWidth(s) <= cw ? s : String(j + 1), L.cellX(j) + 2, 4, BLACK); }
  c.text('1st match', L.sideX, 4, BLACK);
  const cell = (img: RgbImage | string, x: number, y: number, pid: number, camid: number, frame: Colour) => {
    c.text(`id ${pid}`, x + 1, y, BLACK);
    c.text(`cam ${camid + 1}`, x + 1, y + 10, BLACK);
    c.blit(load(img), x, y + L.labelH, cw, ch);
    c.frame(x, y + L.labelH, cw, ch, L.frame, frame);
  };
  rows.forEach((r, i) => {
    const y = L.rowY(i);
    cell(r.query, L.cellX(-1), y, r.pid, r.camid, BLACK);
    r.gallery.forEach((g, j) => {
      cell(g.image, L.cellX(j), y, g.pid, g.camid, g.match ? GREEN : RED);
      if (r.firstMatch === j + 1) {
        const x = L.cellX(j), yy = y + L.labelH + ch + 1;
        c.fillRect(x, yy, cw, 9, GREEN);
        c.text('1st', x + (cw - textWidth('1st')) / 2, yy + 1, [255, 255, 255]);
      }
    });
    const sx = L.sideX, sy = y + L.labelH + ch / 2 - 10;
    if (r.firstMatch === null) c.text('none', sx, sy, RED);
    else {
      c.text(`rank ${r.firstMatch}`, sx, sy, r.firstMatch <= r.gallery.length ? DARK_GREEN : RED);
      if (r.firstMatch > r.gallery.length) c.text(`(beyond ${r.gallery.length})`, sx, sy + 11, RED);
    }
  });
  // Legend: frame swatches, then the lines.
  let lx = L.pad;
  for (const [name, col] of [['query', BLACK], ['true match', GREEN], ['other identity', RED]] as [string, Colour][]) {
    c.frame(lx, legendY, 12, 10, 2, col);
    c.text(name, lx + 16, legendY + 1, BLACK);
    lx += 16 + textWidth(name) + 14;
  }
  legend.forEach((l, t) => c.text(l, L.pad, legendY + 14 + t * 11, BLACK));
  return c;
}
