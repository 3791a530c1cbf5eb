/** reid/viz: PNG round trip, font, retrieval grid (cameras, labels, first match, legend), heat maps (colour bar, same-map test), ticks, curve panels, bar chart. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { Rng } from '../core/random.ts';
import { Canvas, textWidth, wrapText } from '../reid/viz/canvas.ts';
import { niceTicks } from '../reid/viz/chart.ts';
import { CURVE_TITLES, drawTrainingCurves } from '../reid/viz/curves.ts';
import { GLYPH_H, glyph, hasGlyph } from '../reid/viz/font.ts';
import { drawHeatmapGrid, heatmapLayout } from '../reid/viz/grids.ts';
import { drawRetrievalGrid, retrievalLayout, retrievalRows, sampleQueries } from '../reid/viz/retrieval.ts';
import { drawBarChart, barLayout } from '../reid/viz/bars.ts';
import { denormalize, heatmapOverlay, jet } from '../reid/viz/heatmap.ts';
import { SAME_MAP_CORRELATION, mapCorrelation } from '../nn/gradcam.ts';
import { isFlat, lowestCorrelation, sameMapNote } from '../reid/train/heatmaps.ts';
import { testTransform } from '../reid/data/transforms.ts';

const solid = (h: number, w: number, v: number) => ({ width: w, height: h, data: new Uint8Array(h * w * 3).fill(v) });
const px = (c: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));

describe('pictures', () => {
  it('a canvas saved as PNG decodes to the same pixels', () => {
    const c = new Canvas(7, 5, [10, 20, 30]);
    c.fillRect(2, 1, 3, 2, [200, 0, 100]);
    c.text('A1', 0, 0, [0, 0, 0]);
    const p = PNG.sync.read(Buffer.from(c.toPng()));
    expect([p.width, p.height]).toEqual([7, 5]);
    for (let i = 0; i < 35; i++) for (let k = 0; k < 3; k++) expect(p.data[i * 4 + k]).toBe(c.data[i * 3 + k]);
  });

  it('the font has lower case, distinct from capitals, with descenders below the baseline', () => {
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') {
      expect(hasGlyph(ch), ch).toBe(true);
      expect(glyph(ch), ch).not.toEqual(glyph(ch.toUpperCase()));
      expect(glyph(ch)).toHaveLength(GLYPH_H);
    }
    for (const ch of 'gjpqy') expect(glyph(ch).slice(7).some((r) => r !== 0), ch).toBe(true);
    for (const ch of 'ABCace') expect(glyph(ch).slice(7).every((r) => r === 0), ch).toBe(true);
    const draw = (t: string) => { const c = new Canvas(40, 12); c.text(t, 1, 1, [0, 0, 0]); return Array.from(c.data); };
    expect(draw('mAP')).not.toEqual(draw('MAP'));
    expect(hasGlyph('\u00e9')).toBe(false); // drawn as a box
  });

  it('text wraps within the width asked', () => {
    const lines = wrapText('frames: black = query, green = same identity, red = other identity', 100);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(textWidth(l)).toBeLessThanOrEqual(100);
    expect(lines.join(' ')).toBe('frames: black = query, green = same identity, red = other identity');
  });

  it('query samples cover every camera, one identity each where possible, deterministically', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 8 }), fc.nat(), (cams, ids, extra, seed) => {
      const r = new Rng(seed);
      const query = Array.from({ length: ids * cams }, (_, i) => ({ pid: i % ids, camid: Math.floor(i / ids) })).filter(() => r.next() < 0.8);
      const present = new Set(query.map((q) => q.camid));
      const n = present.size + extra;
      const got = sampleQueries(query, n);
      expect(got).toEqual(sampleQueries(query, n));
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBe(Math.min(n, query.length));
      expect(new Set(got.map((i) => query[i].camid))).toEqual(present);
      // Distinct identities whenever each camera has at least n of them (greedy: a free one is always left).
      const pidsIn = (c: number) => new Set(query.filter((q) => q.camid === c).map((q) => q.pid)).size;
      if ([...present].every((c) => pidsIn(c) >= n)) expect(new Set(got.map((i) => query[i].pid)).size).toBe(got.length);
    }), { numRuns: 200 });
  });

  it('retrieval rows: Market exclusion, labels, and the first true match ranked in the whole gallery', () => {
    // 1-d features: the gallery ranks by |q - g|.
    const item = (pid: number, camid: number) => ({ path: 'unused', pid, camid });
    const query = [item(1, 0), item(2, 1)];
    const gallery = [item(1, 0), item(3, 1), item(4, 1), item(1, 1), item(2, 0), item(5, 0)];
    const f = (...v: number[]) => Float32Array.from(v.flatMap((x) => [x, 1]));
    const qf = f(0, 10), gf = f(0.1, 0.2, 0.3, 0.4, 9, 0.5);
    const [a, b] = retrievalRows(query, gallery, qf, gf, 2, [0, 1], 2);
    // query 0 (pid 1, cam 0): gallery 0 has its pid and camera, so it is not ranked; gallery 3 (pid 1, cam 1) is rank 3
    expect(a.gallery.map((g) => [g.pid, g.camid, g.match])).toEqual([[3, 1, false], [4, 1, false]]);
    expect(a.firstMatch).toBe(3);
    expect(b.firstMatch).toBe(1);
    expect(b.gallery[0]).toMatchObject({ pid: 2, camid: 0, match: true });
    expect(retrievalRows(query, [item(7, 0)], qf, Float32Array.of(0, 1), 2, [0], 2)[0].firstMatch).toBeNull();
  });

  it('retrieval grid: query frame black, true/false matches green/red, first match marked, legend drawn', () => {
    const img = solid(16, 8, 128);
    const row = { query: img, pid: 1, camid: 0, firstMatch: 1, gallery: [{ image: img, match: true, pid: 1, camid: 1 }, { image: img, match: false, pid: 2, camid: 0 }] };
    const c = drawRetrievalGrid([row], { cellHeight: 16, cellWidth: 8 });
    const L = retrievalLayout(2, 8, 16);
    const y = L.rowY(0) + L.labelH;
    expect(px(c, L.cellX(-1), y)).toEqual([0, 0, 0]);
    expect(px(c, L.cellX(0), y)).toEqual([0, 190, 0]);
    expect(px(c, L.cellX(1), y)).toEqual([230, 0, 0]);
    expect(px(c, L.cellX(0) + 4, y + 8)).toEqual([128, 128, 128]); // inside the frame: the image
    expect(px(c, L.cellX(0), y + 16 + 1)).toEqual([0, 190, 0]); // the "1st" bar under the first true match
    expect(px(c, L.cellX(1), y + 16 + 1)).toEqual([255, 255, 255]); // none under the other
    // Legend swatches under the grid: query (black), true match (green), other identity (red).
    const ly = L.rowY(1) + 4;
    expect(px(c, L.pad, ly)).toEqual([0, 0, 0]);
    expect(px(c, L.pad + 16 + textWidth('query') + 14, ly)).toEqual([0, 190, 0]);
    expect(px(c, L.pad + 2 * (16 + 14) + textWidth('query') + textWidth('true match'), ly)).toEqual([230, 0, 0]);
    expect(c.height).toBeGreaterThan(ly + 3 * 11);
    // a distractor (id 0) shown adds a legend line
    const withDistractor = drawRetrievalGrid([{ ...row, gallery: [...row.gallery, { image: img, match: false, pid: 0, camid: 2 }] }], { cellHeight: 16, cellWidth: 8 });
    const plain = drawRetrievalGrid([{ ...row, gallery: [...row.gallery, { image: img, match: false, pid: 5, camid: 2 }] }], { cellHeight: 16, cellWidth: 8 });
    expect(withDistractor.height).toBeGreaterThan(plain.height);
  });

  it('overlay: alpha 0 is the image, alpha 1 is jet of the min-max scaled heat', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => {
      const r = new Rng(seed);
      const img = { width: 6, height: 8, data: Uint8Array.from({ length: 144 }, () => r.int(256)) };
      const heat = Float32Array.from({ length: 8 * 6 }, () => r.normal());
      expect(Array.from(heatmapOverlay(img, heat, 8, 6, { alpha: 0 }).data)).toEqual(Array.from(img.data));
      const full = heatmapOverlay(img, heat, 8, 6, { alpha: 1 });
      let lo = Infinity, hi = -Infinity;
      for (const v of heat) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      for (let i = 0; i < 48; i++) expect(px(full, i % 6, Math.floor(i / 6))).toEqual(jet((heat[i] - lo) / (hi - lo)));
    }), { numRuns: 30 });
  });

  it('denormalize inverts the test transform to within one grey level', () => {
    const r = new Rng(4);
    const img = { width: 5, height: 4, data: Uint8Array.from({ length: 60 }, () => r.int(256)) };
    const chw = new Float32Array(60);
    testTransform(img, chw, 0);
    const back = denormalize({ chw, height: 4, width: 5 });
    for (let i = 0; i < 60; i++) expect(Math.abs(back.data[i] - img.data[i])).toBeLessThanOrEqual(1);
  });

  it('heat-map grid: one column per map plus the image, a jet colour bar from 0 to 1, the count checked', () => {
    const img = solid(16, 8, 90);
    const m = { heat: new Float32Array(4), height: 2, width: 2 };
    const notes = [['reference'], ['r 0.999', '≈ layer4']];
    const c = drawHeatmapGrid([{ image: img, maps: [m, m] }], ['A', 'B'], { cellHeight: 16, cellWidth: 8, notes, legend: ['what it shows'] });
    const L = heatmapLayout(['A', 'B'], notes, 8, 16, 1);
    expect(L.head).toBe(14 + 20);
    expect(px(c, L.barX, L.barY + 2)).toEqual(jet(0));
    expect(px(c, L.barX + L.barW - 1, L.barY + 2)).toEqual(jet(1));
    expect(() => drawHeatmapGrid([{ image: img, maps: [m] }], ['A', 'B'])).toThrow(/1 maps for 2 columns/);
    expect(() => drawHeatmapGrid([{ image: img, maps: [m, m] }], ['A', 'B'], { notes: [[]] })).toThrow(/1 note lists for 2 columns/);
  });

  it('map correlation: 1 for a map and its affine copy, −1 negated, NaN for a flat map; the same-map note at 0.99', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 3, maxLength: 40 }), fc.double({ min: 0.1, max: 10, noNaN: true }), (a, k) => {
      fc.pre(Math.max(...a) - Math.min(...a) > 1e-3);
      expect(mapCorrelation(a, a.map((v) => k * v + 3))).toBeCloseTo(1, 9);
      expect(mapCorrelation(a, a.map((v) => -v))).toBeCloseTo(-1, 9);
    }), { numRuns: 100 });
    expect(mapCorrelation([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(() => mapCorrelation([1, 2], [1, 2, 3])).toThrow(/2 and 3 values/);
    expect(SAME_MAP_CORRELATION).toBe(0.99);
    expect(sameMapNote(0.995)).toEqual(['r 0.995', '≈ layer4']);
    expect(sameMapNote(0.98)).toEqual(['r 0.98']);
    expect(sameMapNote(0.5, ['HLA'])).toEqual(['r 0.50', '≈ HLA']);
    expect(sameMapNote(NaN, [], 6, 6)).toEqual(['r n/a', 'flat 6/6']);
  });

  it('lowestCorrelation takes the worst image, bringing maps to the reference size', () => {
    const map = (heat: number[], h: number, w: number) => ({ heat: Float32Array.from(heat), height: h, width: w });
    const img = solid(4, 4, 0);
    const same = { image: img, maps: [map([0, 1, 2, 3], 2, 2), map([0, 2, 4, 6], 2, 2)] };
    const anti = { image: img, maps: [map([0, 1, 2, 3], 2, 2), map([3, 2, 1, 0], 2, 2)] };
    expect(lowestCorrelation([same], 1)).toBeCloseTo(1, 12);
    expect(lowestCorrelation([same, anti], 1)).toBeCloseTo(-1, 12);
    // a 1 x 1 map upsampled is flat: no correlation; flat images are left out of the minimum
    const flat = { image: img, maps: [map([0, 1, 2, 3], 2, 2), map([5], 1, 1)] };
    expect(lowestCorrelation([flat], 1)).toBeNaN();
    expect(lowestCorrelation([flat, same], 1)).toBeCloseTo(1, 12);
    expect(isFlat([2, 2, 2])).toBe(true);
    expect(isFlat([2, 2, 3])).toBe(false);
  });

  it('ticks cover the data range', () => {
    fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (lo, span) => {
      const t = niceTicks(lo, lo + span);
      // up to rounding: a billionth of the range (or of the values' size)
      const tol = Math.max(span, Math.abs(lo), Math.abs(lo + span)) * 1e-9;
      expect(t[0]).toBeLessThanOrEqual(lo + tol);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(lo + span - tol);
      expect(t.length).toBeLessThanOrEqual(12);
      for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThan(t[i - 1]);
    }), { numRuns: 200 });
  });

  it('integer ticks (epochs) are integers and cover the range', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 500 }), (lo, span) => {
      const t = niceTicks(lo, lo + span, 6, { integer: true });
      for (const v of t) expect(Number.isInteger(v), `${v}`).toBe(true);
      expect(t[0]).toBeLessThanOrEqual(lo);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(lo + span);
      expect(t.length).toBeLessThanOrEqual(12);
    }), { numRuns: 200 });
    expect(niceTicks(0, 2, 6, { integer: true })).toEqual([0, 1, 2]);
  });

  it('training curves draw every panel, in lower case, with the training set beside the outliers', () => {
    const h = [{ epoch: 0, loss: 3 }, { epoch: 1, loss: 2, mAP: 0.2, rank1: 0.3, clusters: 40, outliers: 12 }, { epoch: 2, mAP: 0.3, rank1: 0.4, clusters: 45, outliers: 8, loss: 1.5 }];
    const one = drawTrainingCurves(h);
    expect([one.width, one.height]).toEqual([730, 450]);
    const two = drawTrainingCurves([{ name: 'A', history: h }, { name: 'B', history: [] }], { title: 'X' });
    expect(two.height).toBe(466);
    expect(CURVE_TITLES.accuracy).toMatch(/^mAP and rank-1/);
    // the grey line of the whole training set appears only when its size is given
    const grey = (c: Canvas) => { for (let i = 0; i < c.data.length; i += 3) if (c.data[i] === 150 && c.data[i + 1] === 150 && c.data[i + 2] === 150) return true; return false; };
    expect(grey(one)).toBe(false);
    expect(grey(drawTrainingCurves(h, { trainImages: 50 }))).toBe(true);
  });

  it('bar chart: bars at the mean, error bars over the interval, groups checked', () => {
    const c = drawBarChart([{ name: 'a', bars: [{ mean: 50, lo: 40, hi: 60 }] }, { name: 'b', bars: [null] }], [{ name: 'mAP', colour: [10, 20, 30] }], { barWidth: 20, height: 200 });
    const L = barLayout(2, 1, 20);
    // y axis 0..60 on [24, 170]: the mean 50 sits at 170 - 50/60 * 146
    const yMean = Math.round(170 - (50 / 60) * 146);
    expect(px(c, L.barX(0, 0) + 3, yMean + 3)).toEqual([10, 20, 30]);
    expect(px(c, L.barX(0, 0) + 3, yMean - 5)).not.toEqual([10, 20, 30]);
    expect(px(c, L.barX(0, 0) + 10, Math.round(170 - (60 / 60) * 146))).toEqual([0, 0, 0]); // the upper cap
    expect(() => drawBarChart([{ name: 'a', bars: [] }], [{ name: 'mAP' }])).toThrow(/group 'a' has 0 bars for 1 series/);
  });
});
