/** cluster/pipeline.ts: the sparse, eps-cut pipeline equals DBSCAN on the full dense Jaccard matrix. */
import { describe, expect, it } from 'vitest';
import { dbscanDense } from '../cluster/dbscan.ts';
import { jaccardDistance } from '../cluster/jaccard.ts';
import { clusterFeatures } from '../cluster/pipeline.ts';
import { densify } from '../cluster/sparse.ts';
import { TestRng, clusteredFeatures } from './reference/cluster-reference.ts';

describe('clustering pipeline', () => {
  it('equals dense Jaccard + DBSCAN and reports consistent pseudo-labels', async () => {
    for (const [seed, threads] of [[1, 1], [2, 2]]) {
      const N = 400, D = 24;
      const X = Float32Array.from(clusteredFeatures(new TestRng(seed), N, D, 25, 0.25));
      const opts = { k1: 20, k2: 6, eps: 0.5, minSamples: 4 };
      const got = await clusterFeatures(X, N, D, { ...opts, threads });
      const want = dbscanDense(densify(jaccardDistance(X, N, D, opts), 1), N, opts.eps, opts.minSamples);
      expect(Array.from(got.raw)).toEqual(Array.from(want));
      expect(got.pseudo.K).toBe(Math.max(...want) + 1);
      expect(got.pseudo.K).toBeGreaterThan(1);
      expect(got.pseudo.outliers).toBe(want.filter((l) => l === -1).length);
    }
  });
});
