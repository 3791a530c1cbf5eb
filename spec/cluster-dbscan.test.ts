/** cluster/dbscan.ts: equals DBSCAN's definition (brute force), is permutation invariant, sparse = dense. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dbscan, dbscanDense, dbscanWithCore } from '../cluster/dbscan.ts';
import { sparsify } from '../cluster/sparse.ts';
import { dbscanDisagreement } from './reference/cluster-dbscan-rule.ts';
import { TestRng, dbscanDefinition, sqDistReference } from './reference/cluster-reference.ts';

const problem = fc.record({
  N: fc.integer({ min: 1, max: 60 }),
  seed: fc.nat(),
  eps: fc.double({ min: 0.05, max: 1.5, noNaN: true }),
  minSamples: fc.integer({ min: 1, max: 6 }),
});

/** Points in a few 2-d blobs; Euclidean distances. */
function points(N: number, seed: number): Float64Array {
  const rng = new TestRng(seed);
  const centres = Array.from({ length: 4 }, () => [rng.next() * 6, rng.next() * 6]);
  const X = new Float64Array(N * 2);
  for (let i = 0; i < N; i++) {
    const c = centres[rng.int(4)];
    X[2 * i] = c[0] + rng.normal() * 0.5;
    X[2 * i + 1] = c[1] + rng.normal() * 0.5;
  }
  return sqDistReference(X, N, 2).map(Math.sqrt);
}

describe('dbscan', () => {
  it('equals the brute-force transcription of its definition', () => {
    fc.assert(fc.property(problem, ({ N, seed, eps, minSamples }) => {
      const dist = points(N, seed);
      const got = dbscanDense(dist, N, eps, minSamples);
      const want = dbscanDefinition(dist, N, eps, minSamples);
      expect(dbscanDisagreement(got, want, dist, N, eps, minSamples)).toBeNull();
    }), { numRuns: 200 });
  });

  it('is invariant to permuting the points, up to renumbering', () => {
    fc.assert(fc.property(problem, fc.nat(), ({ N, seed, eps, minSamples }, permSeed) => {
      const dist = points(N, seed);
      const perm = new TestRng(permSeed).shuffle(Array.from({ length: N }, (_, i) => i));
      const permuted = new Float64Array(N * N);
      for (let a = 0; a < N; a++) for (let b = 0; b < N; b++) permuted[a * N + b] = dist[perm[a] * N + perm[b]];
      const labelsP = dbscanDense(permuted, N, eps, minSamples);
      const back = new Int32Array(N);
      for (let a = 0; a < N; a++) back[perm[a]] = labelsP[a];
      const direct = dbscanDense(dist, N, eps, minSamples);
      expect(dbscanDisagreement(back, direct, dist, N, eps, minSamples)).toBeNull();
    }), { numRuns: 200 });
  });

  it('numbers clusters 0..K-1 in order of their first core point, labels every core point', () => {
    fc.assert(fc.property(problem, ({ N, seed, eps, minSamples }) => {
      const dist = points(N, seed);
      const { labels, core } = dbscanWithCore(sparsify(dist, N, (v) => v <= eps), eps, minSamples);
      const firstCore: number[] = [];
      for (let i = 0; i < N; i++) {
        if (core[i]) expect(labels[i]).toBeGreaterThanOrEqual(0);
        if (core[i] && firstCore[labels[i]] === undefined) firstCore[labels[i]] = i;
      }
      for (let c = 1; c < firstCore.length; c++) expect(firstCore[c]).toBeGreaterThan(firstCore[c - 1]);
      expect(Math.max(-1, ...labels) + 1).toBe(firstCore.length);
    }), { numRuns: 100 });
  });

  it('on sparse rows equals the dense matrix where missing entries are far', () => {
    fc.assert(fc.property(problem, ({ N, seed, eps, minSamples }) => {
      const dist = points(N, seed);
      const rows = sparsify(dist, N, (v) => v < 2 * eps);
      expect(Array.from(dbscan(rows, eps, minSamples))).toEqual(Array.from(dbscanDense(dist, N, eps, minSamples)));
    }), { numRuns: 100 });
  });

  it('rejects bad parameters', () => {
    expect(() => dbscanDense(new Float64Array(4), 2, 0, 4)).toThrow(/eps = 0/);
    expect(() => dbscanDense(new Float64Array(4), 2, 0.4, 0)).toThrow(/min_samples = 0/);
    expect(() => dbscanDense(new Float64Array(3), 2, 0.4, 4)).toThrow(/expected N·N/);
  });
});
