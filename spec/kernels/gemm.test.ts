/**
 * The `gemm` kernel of every backend against gemmReference (spec/reference/core.ts): all four
 * transpose combinations, odd sizes (not multiples of any register block), K across the packing
 * boundaries, offsets and leading dimensions larger than the matrix, alpha/beta, float32 and
 * float64; elements of C outside the M×N block must be left untouched. Then the real shapes the
 * models use (K up to 8192: a GPU bug once summed only the first 1000 terms of long products).
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { kernels } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc, type DType } from '../../core/tensor.ts';
import { gemmReference } from '../reference/core.ts';
import { activeBackend, describeEachBackend } from './each-backend.ts';

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

interface Case { transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number; beta: number;
  padA: number; padB: number; padC: number; aOff: number; bOff: number; cOff: number; dtype: DType; seed: number }

/** Runs the active gemm and the reference on one case; checks the block within tol·√K and the rest untouched. */
function check(c: Case): void {
  const rng = new Rng(c.seed);
  // op(A) is [M, K]; stored [M, K] (lda >= K) or, transposed, [K, M] (lda >= M).
  const [aRows, aCols] = c.transA ? [c.K, c.M] : [c.M, c.K];
  const [bRows, bCols] = c.transB ? [c.N, c.K] : [c.K, c.N];
  const lda = aCols + c.padA, ldb = bCols + c.padB, ldc = c.N + c.padC;
  const make = (n: number) => {
    const a = alloc(c.dtype, n);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
    return a;
  };
  const A = make(c.aOff + aRows * lda);
  const B = make(c.bOff + bRows * ldb);
  const C = make(c.cOff + c.M * ldc + 3);
  const want = gemmReference(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.aOff, lda, B, c.bOff, ldb, c.beta, C, c.cOff, ldc);
  const got = C.slice();
  kernels.gemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, c.aOff, lda, B, c.bOff, ldb, c.beta, got, c.cOff, ldc);
  // float32: each product and sum rounds (relative 6e-8), errors grow like √K on random signs
  const tol = c.dtype === 'float32' ? 1e-6 * Math.sqrt(c.K) * 4 : 1e-12 * c.K;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const inBlock = i >= c.cOff && i < c.cOff + c.M * ldc && (i - c.cOff) % ldc < c.N;
    if (!inBlock) {
      if (got[i] !== C[i]) throw new Error(`gemm wrote C[${i}] outside the ${c.M}x${c.N} block`);
    } else worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  expect(worst, `M ${c.M} N ${c.N} K ${c.K} transA ${c.transA} transB ${c.transB}`).toBeLessThanOrEqual(tol);
}

/**
 * A large product checked at 1500 random elements plus its four corners, each against a float64
 * dot product of its row and column (the full reference would take minutes at these sizes).
 */
function checkSampled(name: string, transA: boolean, transB: boolean, M: number, N: number, K: number): void {
  const rng = new Rng(M * 31 + N * 7 + K);
  const random = (n: number) => { const a = alloc('float32', n); for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1); return a; };
  const A = random(M * K), B = random(K * N), C0 = random(M * N);
  const C = C0.slice();
  kernels.gemm(transA, transB, M, N, K, 1, A, 0, transA ? M : K, B, 0, transB ? K : N, 1, C, 0, N);
  const at = (i: number, j: number) => {
    let s = C0[i * N + j];
    for (let k = 0; k < K; k++) s += (transA ? A[k * M + i] : A[i * K + k]) * (transB ? B[j * K + k] : B[k * N + j]);
    return s;
  };
  const picks: [number, number][] = [[0, 0], [0, N - 1], [M - 1, 0], [M - 1, N - 1]];
  for (let t = 0; t < 1500; t++) picks.push([Math.floor(rng.uniform(0, M)), Math.floor(rng.uniform(0, N))]);
  let worst = 0;
  for (const [i, j] of picks) worst = Math.max(worst, Math.abs(C[i * N + j] - at(i, j)) / Math.max(1, Math.abs(at(i, j))));
  expect(worst, `${name}: [${M}x${K}]${transA ? 'ᵀ' : ''} · [${K}x${N}]${transB ? 'ᵀ' : ''}`).toBeLessThanOrEqual(4e-6 * Math.sqrt(K));
}

/** [M, N, K] of the products the models run (per image; dW and dX are the transposed forms). */
const REAL_SHAPES: [string, number, number, number][] = [
  ['long K (all-ones bug)', 8, 16, 8192],
  ['ResNet-50 layer3 3x3 conv, 256x128 input', 256, 512, 2304],
  ['ResNet-50 layer4 1x1 conv 512->2048, 16x8', 2048, 128, 512],
  ['ResNet-50 stem 7x7, 256x128 input (K = 147)', 64, 8192, 147],
  ['tiny stem 7x7, 128x64 input', 8, 2048, 147],
  ['tiny layer4 3x3 conv', 64, 128, 576],
  ['k-NN block, D = 2048', 256, 256, 2048],
];

describeEachBackend('gemm equals the triple-loop reference', (backend) => {
  it('runs on the backend it names', () => expect(activeBackend()).toBe(backend));

  it('on random shapes, transposes, offsets and leading dimensions', () => {
    fc.assert(fc.property(caseArb, (c) => check({ ...c, dtype: c.f32 ? 'float32' : 'float64' })), { numRuns: 150 });
  });

  it('at the real shapes of the models, every transpose case, with beta 1 (the backward accumulation)', () => {
    for (const [name, M, N, K] of REAL_SHAPES) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        checkSampled(name, transA, transB, M, N, K);
      }
    }
  });

  it('beta = 0 overwrites C (NaN in C does not leak)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const A = alloc(dtype, 6), B = alloc(dtype, 6);
      A.set([1, 2, 3, 4, 5, 6]);
      B.set([6, 5, 4, 3, 2, 1]);
      const C = alloc(dtype, 4).fill(NaN);
      kernels.gemm(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 0, 2);
      expect(Array.from(C)).toEqual([20, 14, 56, 41]);
    }
  });
});
