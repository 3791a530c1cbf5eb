/** cluster/memory.ts: init and update against a plain transcription; rows stay unit-norm. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterMemory, memoryUpdate } from '../cluster/memory.ts';
import { TestRng, memoryUpdateReference, unit } from './reference/cluster-reference.ts';

const rows = (a: ArrayLike<number>, D: number) => Array.from({ length: a.length / D }, (_, i) => Array.from(a).slice(i * D, i * D + D));

const batch = fc.record({ K: fc.integer({ min: 1, max: 6 }), B: fc.integer({ min: 1, max: 12 }), D: fc.integer({ min: 1, max: 9 }), seed: fc.nat(), mu: fc.double({ min: 0, max: 0.95, noNaN: true }), hard: fc.boolean() });

describe('memory dictionary', () => {
  it('update equals the contract transcription and keeps rows unit-norm', () => {
    fc.assert(fc.property(batch, ({ K, B, D, seed, mu, hard }) => {
      const rng = new TestRng(seed);
      const M = Array.from({ length: K }, () => unit(Array.from({ length: D }, () => rng.normal())));
      const f = Array.from({ length: B }, () => unit(Array.from({ length: D }, () => rng.normal())));
      const t = f.map(() => rng.int(K));
      const mode = hard ? 'hard' : 'momentum';
      const flat = Float64Array.from(M.flat());
      memoryUpdate(flat, K, D, Float64Array.from(f.flat()), B, t, mu, mode);
      const want = memoryUpdateReference(M, f, t, mu, mode);
      rows(flat, D).forEach((r, k) => {
        r.forEach((v, d) => expect(v).toBeCloseTo(want[k][d], 12));
        expect(Math.hypot(...r)).toBeCloseTo(1, 12);
      });
    }), { numRuns: 200 });
  });

  it('init random takes one member per cluster, centroid the normalised mean; both unit-norm', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (K, extra, D, seed) => {
      const rng = new TestRng(seed);
      const N = K + extra;
      const labels = Array.from({ length: N }, (_, i) => (i < K ? i : rng.int(K + 1) - 1));
      const X = Float64Array.from({ length: N * D }, () => rng.normal());
      const members = (k: number) => labels.map((l, i) => (l === k ? i : -1)).filter((i) => i >= 0);
      const random = ClusterMemory.init(X, N, D, labels, K, { init: 'random', mode: 'hard', momentum: 0.1, rng: new TestRng(seed + 1), float64: true });
      const centroid = ClusterMemory.init(X, N, D, labels, K, { init: 'centroid', mode: 'momentum', momentum: 0.2, float64: true });
      const feat = (i: number) => Array.from(X.subarray(i * D, i * D + D));
      rows(random.rows.read(), D).forEach((r, k) => {
        const match = members(k).some((i) => unit(feat(i)).every((v, d) => Math.abs(v - r[d]) < 1e-12));
        expect(match).toBe(true);
      });
      rows(centroid.rows.read(), D).forEach((r, k) => {
        const sum = members(k).reduce((s, i) => s.map((v, d) => v + X[i * D + d]), new Array(D).fill(0));
        unit(sum).forEach((v, d) => expect(r[d]).toBeCloseTo(v, 12));
      });
    }), { numRuns: 100 });
  });

  it('update() is the named step after backward, on float32 rows', () => {
    const rng = new TestRng(1);
    const N = 40, D = 16, K = 4;
    const X = Float32Array.from({ length: N * D }, () => rng.normal());
    const labels = Array.from({ length: N }, (_, i) => i % K);
    const mem = ClusterMemory.init(X, N, D, labels, K, { init: 'random', mode: 'hard', momentum: 0.1, rng });
    const before = mem.rows.read().slice();
    mem.update(X.subarray(0, 8 * D), labels.slice(0, 8));
    expect(mem.rows.read()).toBeInstanceOf(Float32Array);
    expect(Array.from(mem.rows.read())).not.toEqual(Array.from(before));
    for (const r of rows(mem.rows.read(), D)) expect(Math.hypot(...r)).toBeCloseTo(1, 5);
  });

  it('rejects targets outside [0, K)', () => {
    expect(() => memoryUpdate(new Float64Array(4), 2, 2, new Float64Array(2), 1, [2], 0.1, 'hard')).toThrow(/targets\[0\] = 2/);
  });
});
