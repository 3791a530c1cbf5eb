/** reid/viz: PNG round trip, retrieval frames, heat-map overlay, tick ranges, curve panels. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { Rng } from '../core/random.ts';
import { Canvas } from '../reid/viz/canvas.ts';
import { niceTicks } from '../reid/viz/chart.ts';
import { drawTrainingCurves } from '../reid/viz/curves.ts';
import { drawHeatmapGrid, drawRetrievalGrid } from '../reid/viz/grids.ts';
import { denormalize, heatmapOverlay, jet } from '../reid/viz/heatmap.ts';
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

  it('retrieval frames are green for true matches and red for false ones', () => {
    const img = solid(16, 8, 128);
    const c = drawRetrievalGrid([{ query: img, gallery: [{ image: img, match: true }, { image: img, match: false }] }], { cellHeight: 16, cellWidth: 8 });
    // cells: query at x=4, gallery j at x = 4 + 12*(j+1) + 12; frame pixel = top-left corner below the label
    const y = 4 + 12;
    expect(px(c, 4, y)).toEqual([0, 0, 0]);
    expect(px(c, 4 + 12 + 12, y)).toEqual([0, 200, 0]);
    expect(px(c, 4 + 24 + 12, y)).toEqual([230, 0, 0]);
    expect(px(c, 4 + 12 + 12 + 4, y + 8)).toEqual([128, 128, 128]); // inside the frame: the image
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

  it('heat-map grid has one column per map plus the image, and checks the count', () => {
    const img = solid(16, 8, 90);
    const m = { heat: new Float32Array(4), height: 2, width: 2 };
    const c = drawHeatmapGrid([{ image: img, maps: [m, m] }], ['A', 'B'], { cellHeight: 16, cellWidth: 8 });
    expect(c.height).toBe(14 + 4 + 16 + 4);
    expect(() => drawHeatmapGrid([{ image: img, maps: [m] }], ['A', 'B'])).toThrow(/1 maps for 2 columns/);
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

  it('training curves draw every panel, also with missing values and several runs', () => {
    const h = [{ epoch: 0, loss: 3 }, { epoch: 1, loss: 2, mAP: 0.2, rank1: 0.3, clusters: 40, outliers: 12 }, { epoch: 2, mAP: 0.3, rank1: 0.4, clusters: 45, outliers: 8, loss: 1.5 }];
    const one = drawTrainingCurves(h);
    expect([one.width, one.height]).toEqual([730, 450]);
    const two = drawTrainingCurves([{ name: 'A', history: h }, { name: 'B', history: [] }], { title: 'X' });
    expect(two.height).toBe(466);
  });
});
