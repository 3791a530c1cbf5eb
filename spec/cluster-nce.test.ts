/** cluster/cluster-nce.ts: ClusterNCE (eq. 1) against its formula and a float64 finite-difference gradient. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterNce, clusterNceLoss } from '../cluster/cluster-nce.ts';
import { Tensor } from '../core/tensor.ts';
import { backward, tapeLength } from '../core/autograd.ts';
import { mulScalar } from '../core/ops/index.ts';
import { TestRng } from './reference/cluster-reference.ts';

/** Eq. (1) read literally: mean over b of −log(exp(f_b·m_t/τ) / Σ_k exp(f_b·m_k/τ)). */
function lossReference(f: Float64Array, B: number, D: number, M: Float64Array, K: number, t: number[], tau: number): number {
  let L = 0;
  for (let b = 0; b < B; b++) {
    const s = Array.from({ length: K }, (_, k) => { let v = 0; for (let d = 0; d < D; d++) v += f[b * D + d] * M[k * D + d]; return v / tau; });
    L += -Math.log(Math.exp(s[t[b]]) / s.reduce((z, v) => z + Math.exp(v), 0));
  }
  return L / B;
}

function unitRows(rng: TestRng, n: number, D: number): Float64Array {
  const a = Float64Array.from({ length: n * D }, () => rng.normal());
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(...a.subarray(i * D, i * D + D));
    for (let d = 0; d < D; d++) a[i * D + d] /= r;
  }
  return a;
}

const problem = fc.record({ B: fc.integer({ min: 1, max: 6 }), K: fc.integer({ min: 1, max: 6 }), D: fc.integer({ min: 1, max: 8 }), seed: fc.nat(), tau: fc.double({ min: 0.05, max: 1, noNaN: true }) });

describe('ClusterNCE (eq. 1)', () => {
  it('forward equals the formula', () => {
    fc.assert(fc.property(problem, ({ B, K, D, seed, tau }) => {
      const rng = new TestRng(seed);
      const f = unitRows(rng, B, D), M = unitRows(rng, K, D);
      const t = Array.from({ length: B }, () => rng.int(K));
      expect(clusterNce(f, B, D, M, K, t, tau).loss).toBeCloseTo(lossReference(f, B, D, M, K, t, tau), 9);
    }), { numRuns: 200 });
  });

  it('gradient passes a float64 central finite-difference check', () => {
    fc.assert(fc.property(problem, ({ B, K, D, seed, tau }) => {
      const rng = new TestRng(seed);
      const f = unitRows(rng, B, D), M = unitRows(rng, K, D);
      const t = Array.from({ length: B }, () => rng.int(K));
      const { gradF } = clusterNce(f, B, D, M, K, t, tau);
      const h = 1e-6;
      for (let q = 0; q < f.length; q++) {
        const fp = Float64Array.from(f); fp[q] += h;
        const fm = Float64Array.from(f); fm[q] -= h;
        const numeric = (clusterNce(fp, B, D, M, K, t, tau).loss - clusterNce(fm, B, D, M, K, t, tau).loss) / (2 * h);
        expect(Math.abs(gradF[q] - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
      }
    }), { numRuns: 100 });
  });

  it('float32 features give a float32 gradient close to the float64 one', () => {
    const rng = new TestRng(9);
    const B = 16, K = 10, D = 32;
    const f = unitRows(rng, B, D), M = unitRows(rng, K, D);
    const t = Array.from({ length: B }, () => rng.int(K));
    const a = clusterNce(f, B, D, M, K, t);
    const b = clusterNce(Float32Array.from(f), B, D, Float32Array.from(M), K, t);
    expect(b.gradF).toBeInstanceOf(Float32Array);
    expect(b.loss).toBeCloseTo(a.loss, 4);
    for (let q = 0; q < a.gradF.length; q++) expect(b.gradF[q]).toBeCloseTo(a.gradF[q], 4);
  });

  it('as a tape primitive: backward(loss) gives f the same gradient, scaled by the seed through later ops', () => {
    const rng = new TestRng(11);
    const B = 6, K = 5, D = 8;
    const fv = unitRows(rng, B, D), M = unitRows(rng, K, D);
    const t = Array.from({ length: B }, () => rng.int(K));
    const want = clusterNce(fv, B, D, M, K, t);
    for (const scale of [1, -2.5]) {
      const f = Tensor.from(fv, [B, D], 'float64');
      f.requiresGrad = true;
      const loss = clusterNceLoss(f, M, K, t);
      expect(loss.shape).toEqual([]);
      expect(loss.data[0]).toBeCloseTo(want.loss, 12);
      backward(mulScalar(loss, scale));
      expect(tapeLength()).toBe(0);
      for (let q = 0; q < fv.length; q++) expect(f.grad![q]).toBeCloseTo(scale * want.gradF[q], 12);
    }
  });

  it('rejects targets outside [0, K)', () => {
    expect(() => clusterNce(new Float64Array(2), 1, 2, new Float64Array(2), 1, [1])).toThrow(/targets\[0\] = 1/);
  });
});
