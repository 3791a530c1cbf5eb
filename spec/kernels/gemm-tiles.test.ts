/**
 * The GEMM's tiling edges, on every backend against gemmReference (spec/reference/core.ts): every
 * row count 1..17 and those around the wasm kernel's row blocks (72 rows) and tile heights (6 and 4
 * rows), column counts around its 8-wide panels, K around its 4-wide packing transposes and its
 * 256-deep slices, in every transpose case, with offsets and padded leading dimensions; elements of
 * C outside the block stay untouched. Then, on the active backend, the property the thread split
 * relies on: computing C in row or column pieces (other tilings, other packing paths) gives the
 * same numbers, bit for bit, as computing it whole.
 */
import { expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { gemmReference } from '../reference/core.ts';
import { describeEachBackend } from './each-backend.ts';

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

function random(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

interface Operands { A: Float32Array; B: Float32Array; C: Float32Array; lda: number; ldb: number; ldc: number; aOff: number; bOff: number; cOff: number }

function operands(transA: boolean, transB: boolean, M: number, N: number, K: number, rng: Rng): Operands {
  const aOff = 1, bOff = 2, cOff = 3;
  const lda = (transA ? M : K) + 1, ldb = (transB ? K : N) + 2, ldc = N + 3;
  return {
    A: random(aOff + (transA ? K : M) * lda, rng), B: random(bOff + (transB ? N : K) * ldb, rng),
    C: random(cOff + M * ldc + 2, rng), lda, ldb, ldc, aOff, bOff, cOff,
  };
}

function check(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, beta: number, rng: Rng): void {
  const o = operands(transA, transB, M, N, K, rng);
  const want = gemmReference(transA, transB, M, N, K, alpha, o.A, o.aOff, o.lda, o.B, o.bOff, o.ldb, beta, o.C, o.cOff, o.ldc);
  const got = o.C.slice();
  kernels.gemm(transA, transB, M, N, K, alpha, o.A, o.aOff, o.lda, o.B, o.bOff, o.ldb, beta, got, o.cOff, o.ldc);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const inBlock = i >= o.cOff && i < o.cOff + M * o.ldc && (i - o.cOff) % o.ldc < N;
    if (!inBlock) {
      if (got[i] !== o.C[i]) throw new Error(`M ${M} N ${N} K ${K}: wrote C[${i}] outside the block`);
    } else worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  expect(worst, `M ${M} N ${N} K ${K} transA ${transA} transB ${transB}`).toBeLessThanOrEqual(4e-6 * Math.sqrt(K));
}

describeEachBackend('gemm at the tiling edges', () => {
  it('every row count 1..17, every transpose case, N across the 8-wide panels, K across the 4-wide packing', () => {
    const rng = new Rng(11);
    for (let M = 1; M <= 17; M++) {
      for (const [transA, transB] of TRANSPOSES) {
        for (const [N, K] of [[8, 4], [5, 7], [16, 13], [19, 1], [9, 33]]) check(transA, transB, M, N, K, 1, 1, rng);
      }
    }
  });

  it('row counts around the 72-row blocks and past them, K across the 256-deep slices, alpha and beta', () => {
    const rng = new Rng(12);
    for (const M of [66, 70, 71, 72, 73, 74, 76, 77, 78, 79, 80, 145, 147]) {
      for (const [transA, transB] of TRANSPOSES) {
        const N = [8, 17, 24, 3][M % 4], K = [255, 256, 257, 300, 5][M % 5];
        check(transA, transB, M, N, K, M % 2 ? -0.5 : 1, M % 3 ? 0.25 : 0, rng);
      }
    }
  });

  it('the output-channel counts of the models (8..256) at their K', () => {
    const rng = new Rng(13);
    for (const [M, N, K] of [[8, 40, 147], [16, 24, 72], [32, 16, 144], [64, 32, 576], [128, 9, 64], [256, 32, 128], [24, 8, 260]]) {
      for (const [transA, transB] of TRANSPOSES) check(transA, transB, M, N, K, 1, 1, rng);
    }
  });

  it('C computed in row or column pieces equals C computed whole, bit for bit', () => {
    const rng = new Rng(14);
    for (const [M, N, K] of [[17, 29, 70], [80, 21, 300], [8, 40, 147], [150, 16, 9]]) {
      for (const [transA, transB] of TRANSPOSES) {
        const o = operands(transA, transB, M, N, K, rng);
        const whole = o.C.slice();
        kernels.gemm(transA, transB, M, N, K, 1, o.A, o.aOff, o.lda, o.B, o.bOff, o.ldb, 1, whole, o.cOff, o.ldc);
        for (const cut of [1, 4, 5, 8, 11]) {
          if (cut >= M && cut >= N) continue;
          const byRows = o.C.slice(), byCols = o.C.slice();
          for (let i0 = 0; i0 < M; i0 += cut) {
            const m = Math.min(cut, M - i0);
            kernels.gemm(transA, transB, m, N, K, 1, o.A, o.aOff + (transA ? i0 : i0 * o.lda), o.lda, o.B, o.bOff, o.ldb, 1, byRows, o.cOff + i0 * o.ldc, o.ldc);
          }
          for (let j0 = 0; j0 < N; j0 += cut) {
            const n = Math.min(cut, N - j0);
            kernels.gemm(transA, transB, M, n, K, 1, o.A, o.aOff, o.lda, o.B, o.bOff + (transB ? j0 * o.ldb : j0), o.ldb, 1, byCols, o.cOff + j0, o.ldc);
          }
          expect(byRows, `M ${M} N ${N} K ${K} rows of ${cut}`).toEqual(whole);
          expect(byCols, `M ${M} N ${N} K ${K} columns of ${cut}`).toEqual(whole);
        }
      }
    }
  });
});
