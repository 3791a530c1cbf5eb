/**
 * GEMM, row-major, BLAS semantics:  C = alpha * op(A) * op(B) + beta * C
 * with op(A) of shape [M, K] and op(B) of shape [K, N].
 *
 * The fast path packs op(B) into panels of 8 columns and op(A) into panels of 4 rows, then runs a
 * 4 x 8 block of register accumulators over K (the llm.c / BLIS shape, in plain TypeScript).
 * `gemmReference` in spec/reference/core.ts is the slow, obvious triple loop it is checked against.
 */

export type Float = Float32Array | Float64Array;

const MR = 4;
const NR = 8;
const KC = 256;

let packA: Float64Array = new Float64Array(0);
let packB: Float64Array = new Float64Array(0);

function scratch(buf: Float64Array, n: number): Float64Array {
  return buf.length >= n ? buf : new Float64Array(Math.max(n, buf.length * 2));
}

export function gemm(
  transA: boolean, transB: boolean,
  M: number, N: number, K: number,
  alpha: number,
  A: Float, aOff: number, lda: number,
  B: Float, bOff: number, ldb: number,
  beta: number,
  C: Float, cOff: number, ldc: number,
): void {
  // C <- beta * C
  if (beta !== 1) {
    for (let i = 0; i < M; i++) {
      const row = cOff + i * ldc;
      if (beta === 0) C.fill(0, row, row + N);
      else for (let j = 0; j < N; j++) C[row + j] *= beta;
    }
  }
  if (M === 0 || N === 0 || K === 0 || alpha === 0) return;
  const nPanels = Math.ceil(N / NR);
  const mPanels = Math.ceil(M / MR);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = Math.min(KC, K - k0);
    // Pack op(B)[k0:k0+kc, :] into column panels of width NR (zero padded).
    packB = scratch(packB, nPanels * kc * NR);
    const pb = packB;
    for (let jp = 0; jp < nPanels; jp++) {
      const j0 = jp * NR;
      const base = jp * kc * NR;
      const jn = Math.min(NR, N - j0);
      for (let k = 0; k < kc; k++) {
        const o = base + k * NR;
        for (let j = 0; j < NR; j++) {
          pb[o + j] = j < jn ? (transB ? B[bOff + (j0 + j) * ldb + k0 + k] : B[bOff + (k0 + k) * ldb + j0 + j]) : 0;
        }
      }
    }
    // Pack op(A)[:, k0:k0+kc] into row panels of height MR (zero padded).
    packA = scratch(packA, mPanels * kc * MR);
    const pa = packA;
    for (let ip = 0; ip < mPanels; ip++) {
      const i0 = ip * MR;
      const base = ip * kc * MR;
      const im = Math.min(MR, M - i0);
      for (let k = 0; k < kc; k++) {
        const o = base + k * MR;
        for (let i = 0; i < MR; i++) {
          pa[o + i] = i < im ? (transA ? A[aOff + (k0 + k) * lda + i0 + i] : A[aOff + (i0 + i) * lda + k0 + k]) : 0;
        }
      }
    }
    for (let ip = 0; ip < mPanels; ip++) {
      const i0 = ip * MR;
      const im = Math.min(MR, M - i0);
      const aBase = ip * kc * MR;
      for (let jp = 0; jp < nPanels; jp++) {
        const j0 = jp * NR;
        const jn = Math.min(NR, N - j0);
        const bBase = jp * kc * NR;
        microKernel(pa, aBase, pb, bBase, kc, alpha, C, cOff + i0 * ldc + j0, ldc, im, jn);
      }
    }
  }
}

/** 4 x 8 register block: C[i0:i0+4, j0:j0+8] += alpha * Apanel * Bpanel. */
function microKernel(
  pa: Float64Array, a: number, pb: Float64Array, b: number, kc: number,
  alpha: number, C: Float, c: number, ldc: number, im: number, jn: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let k = 0; k < kc; k++) {
    const ao = a + k * MR;
    const bo = b + k * NR;
    const a0 = pa[ao], a1 = pa[ao + 1], a2 = pa[ao + 2], a3 = pa[ao + 3];
    const b0 = pb[bo], b1 = pb[bo + 1], b2 = pb[bo + 2], b3 = pb[bo + 3];
    const b4 = pb[bo + 4], b5 = pb[bo + 5], b6 = pb[bo + 6], b7 = pb[bo + 7];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4; c05 += a0 * b5; c06 += a0 * b6; c07 += a0 * b7;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4; c15 += a1 * b5; c16 += a1 * b6; c17 += a1 * b7;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3; c24 += a2 * b4; c25 += a2 * b5; c26 += a2 * b6; c27 += a2 * b7;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3; c34 += a3 * b4; c35 += a3 * b5; c36 += a3 * b6; c37 += a3 * b7;
  }
  if (im === MR && jn === NR) {
    const r0 = c;
    C[r0 + 0] += alpha * c00; C[r0 + 1] += alpha * c01; C[r0 + 2] += alpha * c02; C[r0 + 3] += alpha * c03; C[r0 + 4] += alpha * c04; C[r0 + 5] += alpha * c05; C[r0 + 6] += alpha * c06; C[r0 + 7] += alpha * c07;
    const r1 = c + 1 * ldc;
    C[r1 + 0] += alpha * c10; C[r1 + 1] += alpha * c11; C[r1 + 2] += alpha * c12; C[r1 + 3] += alpha * c13; C[r1 + 4] += alpha * c14; C[r1 + 5] += alpha * c15; C[r1 + 6] += alpha * c16; C[r1 + 7] += alpha * c17;
    const r2 = c + 2 * ldc;
    C[r2 + 0] += alpha * c20; C[r2 + 1] += alpha * c21; C[r2 + 2] += alpha * c22; C[r2 + 3] += alpha * c23; C[r2 + 4] += alpha * c24; C[r2 + 5] += alpha * c25; C[r2 + 6] += alpha * c26; C[r2 + 7] += alpha * c27;
    const r3 = c + 3 * ldc;
    C[r3 + 0] += alpha * c30; C[r3 + 1] += alpha * c31; C[r3 + 2] += alpha * c32; C[r3 + 3] += alpha * c33; C[r3 + 4] += alpha * c34; C[r3 + 5] += alpha * c35; C[r3 + 6] += alpha * c36; C[r3 + 7] += alpha * c37;
    return;
  }
  // edge tile: only the first im rows and jn columns exist
  const acc = [
    c00, c01, c02, c03, c04, c05, c06, c07,
    c10, c11, c12, c13, c14, c15, c16, c17,
    c20, c21, c22, c23, c24, c25, c26, c27,
    c30, c31, c32, c33, c34, c35, c36, c37,
  ];
  for (let i = 0; i < im; i++) {
    const row = c + i * ldc;
    for (let j = 0; j < jn; j++) C[row + j] += alpha * acc[i * NR + j];
  }
}
