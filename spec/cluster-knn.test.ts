/** cluster/knn.ts: blocked-GEMM exact k-NN equals the full-sort reference; workers equal one thread. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { knn, knnParallel } from '../cluster/knn.ts';
import { TestRng, knnReference, sqDistReference } from './reference/cluster-reference.ts';

function randomFeatures(seed: number, N: number, D: number, f32 = false): Float64Array | Float32Array {
  const rng = new TestRng(seed);
  const X = f32 ? new Float32Array(N * D) : new Float64Array(N * D);
  for (let t = 0; t < X.length; t++) X[t] = rng.normal();
  return X;
}

describe('knn', () => {
  it('equals the full-sort reference on random shapes and block sizes', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 17 }), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }),
      (N, D, block, seed, kFrac) => {
        const k = 1 + Math.floor(kFrac * (N - 1));
        const X = randomFeatures(seed, N, D);
        const got = knn(X, N, D, k, { block });
        const want = knnReference(X, N, D, k);
        const dist = sqDistReference(X, N, D);
        for (let i = 0; i < N; i++) {
          expect(Array.from(got.index.subarray(i * k, i * k + k))).toEqual(want[i]);
          for (let t = 1; t < k; t++) expect(got.dist[i * k + t]).toBeCloseTo(dist[i * N + want[i][t]], 9);
          expect(got.dist[i * k]).toBe(0);
        }
      }), { numRuns: 150 });
  });

  it('with a same-camera penalty ranks by penalised distances and reports the true ones', () => {
    fc.assert(fc.property(
      fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.nat(), fc.double({ min: 0, max: 3, noNaN: true }),
      (N, D, cameras, seed, penalty) => {
        const k = Math.min(N, 6);
        const X = randomFeatures(seed, N, D);
        const cams = Int32Array.from({ length: N }, (_, i) => (i * 7 + seed) % cameras);
        const got = knn(X, N, D, k, { block: 5, sameCamera: { cams, penalty } });
        const want = knnReference(X, N, D, k, cams, penalty);
        const dist = sqDistReference(X, N, D);
        for (let i = 0; i < N; i++) {
          expect(Array.from(got.index.subarray(i * k, i * k + k))).toEqual(want[i]);
          for (let t = 1; t < k; t++) {
            const j = want[i][t];
            // dist is the true squared distance: λ decides the order only (issue 14).
            expect(got.dist[i * k + t]).toBeCloseTo(dist[i * N + j], 9);
          }
        }
      }), { numRuns: 100 });
  });

  it('a large penalty puts every other camera before any same-camera image', () => {
    const N = 60, D = 5, k = 20;
    const X = randomFeatures(11, N, D);
    const cams = Int32Array.from({ length: N }, (_, i) => i % 3);
    const { index } = knn(X, N, D, k, { sameCamera: { cams, penalty: 1e6 } });
    for (let i = 0; i < N; i++) for (let t = 1; t < k; t++) expect(cams[index[i * k + t]]).not.toBe(cams[i]);
  });

  it('float32 features give the same lists as their float64 copy', () => {
    const N = 120, D = 24, k = 10;
    const X32 = randomFeatures(7, N, D, true);
    const a = knn(X32, N, D, k, { block: 32 });
    const b = knn(Float64Array.from(X32), N, D, k, { block: 32 });
    expect(Array.from(a.index)).toEqual(Array.from(b.index));
  });

  it('worker threads give exactly the single-thread lists', async () => {
    const N = 700, D = 48, k = 12;
    const X = randomFeatures(3, N, D, true);
    const sameCamera = { cams: Int32Array.from({ length: N }, (_, i) => i % 4), penalty: 5 };
    for (const opts of [{}, { sameCamera }]) {
      const one = knn(X, N, D, k, { block: 96, ...opts });
      const two = await knnParallel(X, N, D, k, { threads: 2, block: 96, ...opts });
      expect(Array.from(two.index)).toEqual(Array.from(one.index));
      expect(Array.from(two.dist)).toEqual(Array.from(one.dist));
    }
  });

  it('rejects bad input with a message naming it', () => {
    expect(() => knn(new Float64Array(5), 2, 3, 1)).toThrow(/features have 5 values/);
    expect(() => knn(new Float64Array(6), 2, 3, 3)).toThrow(/k = 3/);
    expect(() => knn(Float64Array.of(1, 2, NaN, 4), 2, 2, 1)).toThrow(/features\[1, 0\]/);
  });
});
