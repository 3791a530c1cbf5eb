/** cluster/jaccard.ts: the sparse fast path equals the dense transcription of the contract; metric properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jaccardDistance, jaccardDistanceParallel, jaccardFromKnn, roundHalfEven } from '../cluster/jaccard.ts';
import { type KnnLists, knn } from '../cluster/knn.ts';
import { densify } from '../cluster/sparse.ts';
import { TestRng, clusteredFeatures, jaccardReference, sqDistReference } from './reference/cluster-reference.ts';

const shape = fc.record({
  N: fc.integer({ min: 2, max: 45 }),
  D: fc.integer({ min: 2, max: 10 }),
  clusters: fc.integer({ min: 1, max: 6 }),
  sigma: fc.double({ min: 0.05, max: 1, noNaN: true }),
  k1Frac: fc.double({ min: 0, max: 1, noNaN: true }),
  k2Frac: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.nat(),
});

function instance(s: { N: number; D: number; clusters: number; sigma: number; k1Frac: number; k2Frac: number; seed: number }) {
  const k1 = 1 + Math.floor(s.k1Frac * (s.N - 1));
  const k2 = 1 + Math.floor(s.k2Frac * (k1 - 1));
  return { X: clusteredFeatures(new TestRng(s.seed), s.N, s.D, s.clusters, s.sigma), k1, k2 };
}

describe('jaccard distance', () => {
  it('sparse rows equal the dense reference on random inputs', () => {
    fc.assert(fc.property(shape, (s) => {
      const { X, k1, k2 } = instance(s);
      const got = densify(jaccardDistance(X, s.N, s.D, { k1, k2 }), 1);
      const want = jaccardReference(X, s.N, s.D, k1, k2);
      for (let t = 0; t < want.length; t++) expect(Math.abs(got[t] - want[t])).toBeLessThan(1e-9);
    }), { numRuns: 60 });
  });

  it('is symmetric, 0 on the diagonal and within [0, 1]', () => {
    fc.assert(fc.property(shape, (s) => {
      const { X, k1, k2 } = instance(s);
      const N = s.N;
      const d = densify(jaccardDistance(X, N, s.D, { k1, k2 }), 1);
      for (let i = 0; i < N; i++) {
        expect(d[i * N + i]).toBeLessThan(1e-12);
        for (let j = 0; j < N; j++) {
          expect(d[i * N + j]).toBe(d[j * N + i]);
          expect(d[i * N + j]).toBeGreaterThanOrEqual(0);
          expect(d[i * N + j]).toBeLessThanOrEqual(1);
        }
      }
    }), { numRuns: 60 });
  });

  // Issue 14: the same-camera penalty λ (knn-block.ts) must change which neighbours are found, never
  // the f_i·f_j that the weights of step 4 use.
  const penalised = fc.record({
    s: shape,
    cameras: fc.integer({ min: 1, max: 4 }),
    penalty: fc.double({ min: 0, max: 3, noNaN: true }),
  });
  const camsOf = (N: number, cameras: number, seed: number) => Int32Array.from({ length: N }, (_, i) => (i * 5 + seed) % cameras);
  const rowsEqual = (a: ReturnType<typeof jaccardFromKnn>, b: ReturnType<typeof jaccardFromKnn>) => {
    expect(Array.from(a.indptr)).toEqual(Array.from(b.indptr));
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
  };

  it('equal neighbour lists give equal Jaccard rows, with or without λ', () => {
    fc.assert(fc.property(penalised, ({ s, cameras, penalty }) => {
      const { X, k1, k2 } = instance(s);
      const N = s.N;
      const cams = camsOf(N, cameras, s.seed);
      const withPenalty = knn(X, N, s.D, k1, { sameCamera: { cams, penalty } });
      // The same lists, as a k-NN that never heard of λ would hand them over (true squared distances).
      const sq = sqDistReference(X, N, s.D);
      const plain: KnnLists = { N, k: k1, index: withPenalty.index.slice(), dist: Float64Array.from(withPenalty.index, (j, t) => sq[Math.floor(t / k1) * N + j]) };
      rowsEqual(jaccardFromKnn(X, N, s.D, withPenalty, { k1, k2 }), jaccardFromKnn(X, N, s.D, plain, { k1, k2 }));
      // One camera: λ shifts every key alike, so the lists are the unpenalised ones, and so are the rows.
      const one = new Int32Array(N);
      const shifted = knn(X, N, s.D, k1, { sameCamera: { cams: one, penalty } });
      const unshifted = knn(X, N, s.D, k1);
      expect(Array.from(shifted.index)).toEqual(Array.from(unshifted.index));
      rowsEqual(jaccardFromKnn(X, N, s.D, shifted, { k1, k2 }), jaccardFromKnn(X, N, s.D, unshifted, { k1, k2 }));
    }), { numRuns: 60 });
  });

  it('with a same-camera penalty equals the reference whose penalty only ranks the k-NN lists', () => {
    fc.assert(fc.property(penalised, ({ s, cameras, penalty }) => {
      const { X, k1, k2 } = instance(s);
      const cams = camsOf(s.N, cameras, s.seed);
      const got = densify(jaccardFromKnn(X, s.N, s.D, knn(X, s.N, s.D, k1, { sameCamera: { cams, penalty } }), { k1, k2 }), 1);
      const want = jaccardReference(X, s.N, s.D, k1, k2, cams, penalty);
      for (let t = 0; t < want.length; t++) expect(Math.abs(got[t] - want[t])).toBeLessThan(1e-9);
    }), { numRuns: 60 });
  });

  it('maxDist keeps exactly the entries at most maxDist', () => {
    const N = 60, D = 8;
    const X = clusteredFeatures(new TestRng(11), N, D, 5, 0.3);
    const full = jaccardDistance(X, N, D, { k1: 12, k2: 4 });
    const cut = jaccardDistance(X, N, D, { k1: 12, k2: 4, maxDist: 0.5 });
    const a = densify(full, 1), b = densify(cut, 1);
    let kept = 0;
    for (let t = 0; t < a.length; t++) {
      if (a[t] <= 0.5) { expect(b[t]).toBe(a[t]); kept++; } else expect(b[t]).toBe(1);
    }
    expect(cut.indices.length).toBe(kept);
  });

  it('the worker-thread k-NN path gives the same rows', async () => {
    const N = 300, D = 16;
    const X = Float32Array.from(clusteredFeatures(new TestRng(5), N, D, 12, 0.3));
    const a = jaccardDistance(X, N, D, { k1: 20, k2: 6 });
    const b = await jaccardDistanceParallel(X, N, D, { k1: 20, k2: 6, threads: 2 });
    expect(Array.from(b.indptr)).toEqual(Array.from(a.indptr));
    expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
  });

  it('rounds k1/2 half to even as numpy.around does', () => {
    expect([20, 25, 15, 30, 1, 3].map((k) => roundHalfEven(k / 2))).toEqual([10, 12, 8, 15, 0, 2]);
  });

  it('rejects k2 > k1', () => {
    expect(() => jaccardDistance(new Float64Array(20), 10, 2, { k1: 3, k2: 4 })).toThrow(/k2 = 4/);
  });
});
