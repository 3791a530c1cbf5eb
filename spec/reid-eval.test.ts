/** Properties of the Market-1501 protocol (reid/eval): perfect rankings, ranges, monotone CMC,
 *  gallery-shuffle invariance, the fast path against the sort-based reference, blocked features. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { evalMarket } from '../reid/eval/market.ts';
import { evaluate, topK } from '../reid/eval/evaluate.ts';
import { squaredDistanceMatrix } from '../reid/eval/distance.ts';
import { reRank } from '../reid/eval/rerank.ts';
import { Rng } from '../core/random.ts';
import { evalMarketReference, squaredDistanceReference } from './reid-reference.ts';

interface Problem { Q: number; G: number; dist: Float64Array; qp: Int32Array; gp: Int32Array; qc: Int32Array; gc: Int32Array }

/** A random problem: few pids and cameras so that matches, removals and skipped queries all occur. */
function randomProblem(seed: number, Q: number, G: number, pids: number, cams: number, ties = false): Problem {
  const r = new Rng(seed);
  const dist = Float64Array.from({ length: Q * G }, () => (ties ? r.int(4) : r.next()));
  const ids = (n: number, m: number) => Int32Array.from({ length: n }, () => r.int(m));
  return { Q, G, dist, qp: ids(Q, pids), gp: ids(G, pids), qc: ids(Q, cams), gc: ids(G, cams) };
}

const problemArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  Q: fc.integer({ min: 1, max: 12 }),
  G: fc.integer({ min: 1, max: 60 }),
  pids: fc.integer({ min: 1, max: 8 }),
  cams: fc.integer({ min: 1, max: 4 }),
  maxRank: fc.integer({ min: 1, max: 20 }),
  ties: fc.boolean(),
});

const run = (p: Problem, maxRank: number) => evalMarket(p.dist, p.Q, p.G, p.qp, p.gp, p.qc, p.gc, maxRank);

describe('eval_market protocol', () => {
  it('equals the sort-based reference on random problems (ties included: stable order)', () => {
    fc.assert(fc.property(problemArb, ({ seed, Q, G, pids, cams, maxRank, ties }) => {
      const p = randomProblem(seed, Q, G, pids, cams, ties);
      const fast = run(p, maxRank);
      const ref = evalMarketReference(p.dist, Q, G, p.qp, p.gp, p.qc, p.gc, maxRank);
      expect(fast.validQueries).toBe(ref.validQueries);
      expect(fast.mAP).toBeCloseTo(ref.mAP, 12);
      ref.cmc.forEach((c, k) => expect(fast.cmc[k]).toBeCloseTo(c, 12));
    }), { numRuns: 300 });
  });

  it('mAP and CMC are in [0, 1] and CMC is monotone', () => {
    fc.assert(fc.property(problemArb, ({ seed, Q, G, pids, cams, maxRank }) => {
      const r = run(randomProblem(seed, Q, G, pids, cams), maxRank);
      expect(r.mAP).toBeGreaterThanOrEqual(0);
      expect(r.mAP).toBeLessThanOrEqual(1);
      for (let k = 0; k < maxRank; k++) {
        expect(r.cmc[k]).toBeGreaterThanOrEqual(0);
        expect(r.cmc[k]).toBeLessThanOrEqual(1);
        if (k > 0) expect(r.cmc[k]).toBeGreaterThanOrEqual(r.cmc[k - 1]);
      }
    }), { numRuns: 200 });
  });

  it('a perfect ranking (every true match ahead of every other item) scores mAP = CMC = 1', () => {
    fc.assert(fc.property(problemArb, ({ seed, Q, G, pids, cams, maxRank }) => {
      const p = randomProblem(seed, Q, G, pids, cams);
      // distance 0..1 for same pid, 2..3 otherwise
      for (let q = 0; q < Q; q++) for (let g = 0; g < G; g++) p.dist[q * G + g] = (p.qp[q] === p.gp[g] ? 0 : 2) + p.dist[q * G + g];
      const r = run(p, maxRank);
      if (r.validQueries === 0) return;
      expect(r.mAP).toBeCloseTo(1, 12);
      for (let k = 0; k < maxRank; k++) expect(r.cmc[k]).toBe(1);
    }), { numRuns: 200 });
  });

  it('shuffling the gallery does not change mAP or CMC', () => {
    fc.assert(fc.property(problemArb, fc.integer({ min: 0, max: 1e9 }), ({ seed, Q, G, pids, cams, maxRank }, s2) => {
      const p = randomProblem(seed, Q, G, pids, cams);
      const perm = new Rng(s2).shuffle(Array.from({ length: G }, (_, i) => i));
      const sh: Problem = {
        ...p,
        dist: Float64Array.from({ length: Q * G }, (_, i) => p.dist[Math.floor(i / G) * G + perm[i % G]]),
        gp: Int32Array.from(perm, (g) => p.gp[g]),
        gc: Int32Array.from(perm, (g) => p.gc[g]),
      };
      const a = run(p, maxRank);
      const b = run(sh, maxRank);
      expect(b.mAP).toBeCloseTo(a.mAP, 12);
      for (let k = 0; k < maxRank; k++) expect(b.cmc[k]).toBeCloseTo(a.cmc[k], 12);
    }), { numRuns: 200 });
  });

  it('names the argument whose length is wrong', () => {
    const p = randomProblem(1, 3, 5, 2, 2);
    expect(() => evalMarket(p.dist, 3, 5, p.qp, p.gp.subarray(0, 4), p.qc, p.gc, 5)).toThrow(/g_pids has 4 entries, expected 5/);
  });
});

describe('evaluate (features -> blocked distances -> protocol)', () => {
  it('squared distances of normalised rows equal the triple-loop reference', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 40 }), (seed, Q, G, D) => {
      const r = new Rng(seed);
      const qf = Float32Array.from({ length: Q * D }, () => r.normal());
      const gf = Float32Array.from({ length: G * D }, () => r.normal());
      const got = squaredDistanceMatrix(qf, Q, gf, G, D);
      const want = squaredDistanceReference(qf, Q, gf, G, D);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5);
    }), { numRuns: 100 });
  });

  it('any query block size gives the same result as the whole matrix', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 8 }), (seed, Q, block) => {
      const r = new Rng(seed);
      const G = 50;
      const D = 16;
      const qf = Float32Array.from({ length: Q * D }, () => r.normal());
      const gf = Float32Array.from({ length: G * D }, () => r.normal());
      const q = { pids: Int32Array.from({ length: Q }, () => r.int(6)), camids: Int32Array.from({ length: Q }, () => r.int(3)) };
      const g = { pids: Int32Array.from({ length: G }, () => r.int(6)), camids: Int32Array.from({ length: G }, () => r.int(3)) };
      const whole = evalMarket(squaredDistanceMatrix(qf, Q, gf, G, D), Q, G, q.pids, g.pids, q.camids, g.camids, 10);
      const blocked = evaluate(qf, gf, D, q, g, { maxRank: 10, blockRows: block });
      expect(blocked.mAP).toBe(whole.mAP);
      expect(Array.from(blocked.cmc)).toEqual(Array.from(whole.cmc));
    }), { numRuns: 50 });
  });

  it('topK lists gallery indices by ascending distance', () => {
    const r = new Rng(3);
    const qf = Float32Array.from({ length: 2 * 4 }, () => r.normal());
    const gf = Float32Array.from({ length: 9 * 4 }, () => r.normal());
    const d = squaredDistanceMatrix(qf, 2, gf, 9, 4);
    const top = topK(qf, gf, 4, 2, 9, 5);
    for (let q = 0; q < 2; q++) for (let i = 1; i < 5; i++) expect(d[q * 9 + top[q][i]]).toBeGreaterThanOrEqual(d[q * 9 + top[q][i - 1]]);
  });
});

describe('k-reciprocal re-ranking', () => {
  const setup = (seed: number, Q: number, G: number, D: number) => {
    const r = new Rng(seed);
    const qf = Float32Array.from({ length: Q * D }, () => r.normal());
    const gf = Float32Array.from({ length: G * D }, () => r.normal());
    return { qg: squaredDistanceMatrix(qf, Q, gf, G, D), qq: squaredDistanceMatrix(qf, Q, qf, Q, D), gg: squaredDistanceMatrix(gf, G, gf, G, D) };
  };

  it('lambda = 1 returns the row-max-normalised squared original distance', () => {
    const Q = 6, G = 30;
    const { qg, qq, gg } = setup(11, Q, G, 8);
    const out = reRank(qg, qq, gg, Q, G, { k1: 5, k2: 3, lambda: 1 });
    for (let q = 0; q < Q; q++) {
      let mx = 0;
      for (let j = 0; j < Q; j++) mx = Math.max(mx, qq[q * Q + j] ** 2);
      for (let g = 0; g < G; g++) mx = Math.max(mx, qg[q * G + g] ** 2);
      for (let g = 0; g < G; g++) expect(out[q * G + g]).toBeCloseTo(qg[q * G + g] ** 2 / mx, 5);
    }
  });

  it('the Jaccard part is in [0, 1] and an exact duplicate of the query is its nearest item', () => {
    const Q = 4, G = 40, D = 8;
    const r = new Rng(5);
    const qf = Float32Array.from({ length: Q * D }, () => r.normal());
    const gf = Float32Array.from({ length: G * D }, () => r.normal());
    gf.set(qf.subarray(0, D), 7 * D); // gallery item 7 duplicates query 0
    const qg = squaredDistanceMatrix(qf, Q, gf, G, D);
    const out = reRank(qg, squaredDistanceMatrix(qf, Q, qf, Q, D), squaredDistanceMatrix(gf, G, gf, G, D), Q, G, { k1: 6, k2: 3, lambda: 0 });
    for (const v of out) { expect(v).toBeGreaterThanOrEqual(-1e-6); expect(v).toBeLessThanOrEqual(1 + 1e-6); }
    let best = 0;
    for (let g = 1; g < G; g++) if (out[g] < out[best]) best = g;
    expect(best).toBe(7);
  });

  it('refuses sizes whose dense matrices would not fit, saying why', () => {
    expect(() => reRank(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2, 2, { maxItems: 3, k1: 1 })).toThrow(/dense re-ranking/);
  });
});

describe('evaluateParallel', () => {
  it('equals evaluate() with queries split over worker threads', async () => {
    const { evaluateParallel } = await import('../reid/eval/evaluate-parallel.ts');
    const r = new Rng(21);
    const Q = 37, G = 120, D = 24;
    const qf = Float32Array.from({ length: Q * D }, () => r.normal());
    const gf = Float32Array.from({ length: G * D }, () => r.normal());
    const q = { pids: Int32Array.from({ length: Q }, () => r.int(9)), camids: Int32Array.from({ length: Q }, () => r.int(3)) };
    const g = { pids: Int32Array.from({ length: G }, () => r.int(9)), camids: Int32Array.from({ length: G }, () => r.int(3)) };
    const serial = evaluate(qf, gf, D, q, g, { maxRank: 10, blockRows: 8 });
    const par = await evaluateParallel(qf, gf, D, q, g, { maxRank: 10, blockRows: 8, threads: 3 });
    expect(par.validQueries).toBe(serial.validQueries);
    expect(par.mAP).toBeCloseTo(serial.mAP, 12);
    expect(Array.from(par.cmc)).toEqual(Array.from(serial.cmc));
    expect(Array.from(par.ap)).toEqual(Array.from(serial.ap));
  });
});
