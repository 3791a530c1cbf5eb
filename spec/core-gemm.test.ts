/**
 * core/gemm.ts against gemmReference (spec/reference/core.ts): all four transpose combinations,
 * odd sizes (not multiples of the 4×8 register block), K across the KC = 256 packing boundary,
 * offsets and leading dimensions larger than the matrix, alpha/beta, float32 and float64.
 * Elements of C outside the M×N block must be left untouched.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gemm } from '../core/gemm.ts';
import { Rng } from '../core/random.ts';
import { gemmReference } from './reference/core.ts';

const caseArb = fc.record({
  transA: fc.boolean(),
  transB: fc.boolean(),
  M: fc.integer({ min: 1, max: 23 }),
  N: fc.integer({ min: 1, max: 27 }),
  K: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 300 })),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
  aOff: fc.integer({ min: 0, max: 5 }),
  bOff: fc.integer({ min: 0, max: 5 }),
  cOff: fc.integer({ min: 0, max: 5 }),
  alpha: fc.constantFrom(1, -0.5, 2),
  beta: fc.constantFrom(0, 1, 0.25),
  f32: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('gemm equals the triple-loop reference', () => {
  it('on random shapes, transposes, offsets and leading dimensions', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const rng = new Rng(c.seed);
      // op(A) is [M, K]; stored [M, K] (lda >= K) or, transposed, [K, M] (lda >= M).
      const [aRows, aCols] = c.transA ? [c.K, c.M] : [c.M, c.K];
      const [bRows, bCols] = c.transB ? [c.N, c.K] : [c.K, c.N];
      const lda = aCols + c.padA, ldb = bCols + c.padB, ldc = c.N + c.padC;
      const make = (n: number) => {
        const a = c.f32 ? new Float32Array(n) : new Float64Array(n);
        for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
        return a;
      };
      const A = make(c.aOff + aRows * lda);
      const B = make(c.bOff + bRows * ldb);
      const C = make(c.cOff + c.M * ldc + 3);
      const want = gemmReference(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.aOff, lda, B, c.bOff, ldb, c.beta, C, c.cOff, ldc);
      const got = C.slice();
      gemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.aOff, lda, B, c.bOff, ldb, c.beta, got, c.cOff, ldc);
      const tol = c.f32 ? 2e-6 * Math.sqrt(c.K) * 4 : 1e-12 * c.K;
      for (let i = 0; i < got.length; i++) {
        const inBlock = i >= c.cOff && i < c.cOff + c.M * ldc && (i - c.cOff) % ldc < c.N;
        if (!inBlock) expect(got[i]).toBe(C[i]);
        else expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])));
      }
    }), { numRuns: 150 });
  });

  it('beta = 0 overwrites C (NaN in C does not leak)', () => {
    const A = Float64Array.from({ length: 6 }, (_, i) => i + 1);
    const B = Float64Array.from({ length: 6 }, (_, i) => 6 - i);
    const C = new Float64Array(4).fill(NaN);
    gemm(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 0, 2);
    expect(Array.from(C)).toEqual(Array.from(gemmReference(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, new Float64Array(4), 0, 2)));
  });
});
