/**
 * Re-ranking at any size: reRankFeatures (reid/eval/rerank-features.ts) gives the numbers of the
 * dense definition reRank (reid/eval/rerank.ts) bit for bit, on every CPU backend, with blocks that
 * split the rows unevenly, the default k1 = 20, k2 = 6 and the edge cases k2 = 1 and λ = 1, on
 * features with identity structure (so the k-reciprocal sets are rich and reach beyond each item's
 * 21 nearest); and evaluate() with re-ranking runs at Q + G past the dense code's 8000 limit.
 */
import { expect, it } from 'vitest';
import { Rng } from '../core/random.ts';
import { evaluate } from '../reid/eval/evaluate.ts';
import { l2NormalizeRows, squaredDistanceMatrix } from '../reid/eval/distance.ts';
import { reRank } from '../reid/eval/rerank.ts';
import { reRankFeatures } from '../reid/eval/rerank-features.ts';
import { describeEachBackend } from './kernels/each-backend.ts';

/** n items of `ids` identities: an identity's centre plus noise, in D dimensions. */
function identities(n: number, ids: number, D: number, rng: Rng): { f: Float32Array; pids: Int32Array } {
  const centres = Float32Array.from({ length: ids * D }, () => rng.normal());
  const pids = Int32Array.from({ length: n }, () => rng.int(ids));
  const f = Float32Array.from({ length: n * D }, (_, t) => centres[pids[Math.floor(t / D)] * D + (t % D)] + 0.7 * rng.normal());
  return { f, pids };
}

/** The first index where the two differ, or −1. */
const firstDifference = (a: Float32Array, b: Float32Array) => a.findIndex((v, i) => !Object.is(v, b[i]));

describeEachBackend('re-ranking from features', () => {
  for (const [Q, G, D, k1, k2, lambda, blockRows] of [
    [40, 260, 32, 20, 6, 0.3, 37], [13, 90, 8, 20, 1, 0.3, 128], [25, 140, 16, 7, 3, 1, 9], [30, 170, 64, 20, 6, 0, 300],
  ]) {
    it(`equals the dense definition bit for bit: Q ${Q}, G ${G}, D ${D}, k1 ${k1}, k2 ${k2}, λ ${lambda}, blocks of ${blockRows}`, () => {
      const rng = new Rng(Q * G + D);
      const q = identities(Q, 12, D, rng), g = identities(G, 12, D, rng);
      const qn = l2NormalizeRows(q.f, Q, D), gn = l2NormalizeRows(g.f, G, D);
      const want = reRank(squaredDistanceMatrix(qn, Q, gn, G, D), squaredDistanceMatrix(qn, Q, qn, Q, D),
        squaredDistanceMatrix(gn, G, gn, G, D), Q, G, { k1, k2, lambda });
      const got = reRankFeatures(qn, gn, Q, G, D, { k1, k2, lambda, blockRows });
      expect(firstDifference(got, want)).toBe(-1);
      expect(new Set(want).size, 'the result is not degenerate').toBeGreaterThan(10 * Q);
    });
  }
});

it('evaluate() re-ranks past the dense limit (Q + G = 8,100): an exact duplicate of each query ranks first', () => {
  const Q = 100, G = 8000, D = 16;
  const rng = new Rng(8100);
  const q = identities(Q, 400, D, rng), g = identities(G, 400, D, rng);
  g.f.set(q.f, 0); // gallery items 0..Q-1 duplicate the queries, in other cameras
  const gpids = g.pids.slice();
  gpids.set(q.pids, 0);
  const result = evaluate(q.f, g.f, D, { pids: q.pids, camids: new Int32Array(Q) },
    { pids: gpids, camids: Int32Array.from({ length: G }, (_, i) => 1 + (i % 5)) }, { rerank: true });
  expect(result.cmc[0]).toBe(1);
}, 120_000);
