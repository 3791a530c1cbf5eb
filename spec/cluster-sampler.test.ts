/** cluster/sampler.ts and cluster/pseudo-labels.ts. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pseudoLabels } from '../cluster/pseudo-labels.ts';
import { PKSampler } from '../cluster/sampler.ts';
import { Rng } from '../core/random.ts';
import { TestRng } from './reference/cluster-reference.ts';

const data = fc.record({ N: fc.integer({ min: 1, max: 120 }), clusters: fc.integer({ min: 1, max: 15 }), cams: fc.integer({ min: 1, max: 4 }), K: fc.integer({ min: 1, max: 8 }), seed: fc.nat() });

function make({ N, clusters, cams, seed }: { N: number; clusters: number; cams: number; seed: number }) {
  const rng = new TestRng(seed);
  const labels = Array.from({ length: N }, (_, i) => (i === 0 ? 0 : rng.int(clusters + 1) - 1));
  const cam = Array.from({ length: N }, () => rng.int(cams));
  return { labels, cam };
}

describe('P x K sampler', () => {
  it('one group per cluster per epoch; groups never mix clusters; other cameras preferred', () => {
    fc.assert(fc.property(data, (d) => {
      const { labels, cam } = make(d);
      const sampler = new PKSampler(labels, cam, d.K);
      const groups = sampler.epoch(new TestRng(d.seed + 1));
      const present = new Set(labels.filter((l) => l >= 0));
      expect(new Set(groups.map((g) => labels[g[0]]))).toEqual(present);
      expect(groups.length).toBe(present.size);
      for (const g of groups) {
        const c = labels[g[0]];
        for (const i of g) expect(labels[i]).toBe(c);
        const members = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
        expect(g.length).toBe(members.length === 1 ? 1 : d.K);
        const otherCam = members.some((i) => cam[i] !== cam[g[0]]);
        if (otherCam) for (const i of g.slice(1)) expect(cam[i]).not.toBe(cam[g[0]]);
        else for (const i of g.slice(1)) expect(i).not.toBe(g[0]);
        // Without replacement whenever at least K candidates exist.
        const pool = otherCam ? members.filter((i) => cam[i] !== cam[g[0]]) : members.filter((i) => i !== g[0]);
        if (pool.length >= d.K) expect(new Set(g.slice(1)).size).toBe(g.length - 1);
      }
    }), { numRuns: 200 });
  });

  it('is reproducible from the seed and cuts batches of P·K', () => {
    const { labels, cam } = make({ N: 300, clusters: 30, cams: 3, seed: 4 });
    const s = new PKSampler(labels, cam, 4);
    const a = s.batches(new TestRng(5), 8), b = s.batches(new TestRng(5), 8);
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(0);
    for (const batch of a) expect(batch.length).toBe(32);
    expect(s.batches(new TestRng(6), 8)).not.toEqual(a);
  });

  it("runs on the project's seeded Rng (core/random.ts), reproducibly", () => {
    const { labels, cam } = make({ N: 200, clusters: 20, cams: 3, seed: 8 });
    const s = new PKSampler(labels, cam, 8);
    const a = s.epoch(new Rng(42)), b = s.epoch(new Rng(42));
    expect(a).toEqual(b);
    expect(a.length).toBe(new Set(labels.filter((l) => l >= 0)).size);
  });
});

describe('pseudo-labels', () => {
  it('relabels clusters 0..K-1 in order, drops outliers, histogram adds up', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -1, max: 40 }), { maxLength: 200 }), (raw) => {
      const p = pseudoLabels(raw);
      const distinct = [...new Set(raw.filter((r) => r >= 0))].sort((a, b) => a - b);
      expect(p.K).toBe(distinct.length);
      expect(p.outliers).toBe(raw.filter((r) => r === -1).length);
      raw.forEach((r, i) => expect(p.labels[i]).toBe(r === -1 ? -1 : distinct.indexOf(r)));
      expect(Array.from(p.kept)).toEqual(raw.map((r, i) => (r >= 0 ? i : -1)).filter((i) => i >= 0));
      let clusters = 0, samples = 0;
      for (const [size, count] of p.sizeHistogram) { clusters += count; samples += size * count; }
      expect(clusters).toBe(p.K);
      expect(samples).toBe(raw.length - p.outliers);
    }));
  });

  it('rejects labels below -1', () => {
    expect(() => pseudoLabels([0, -2])).toThrow(/label\[1\] = -2/);
  });
});
