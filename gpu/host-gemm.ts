/**
 * Host-array GEMM on top of the gemm kernel, with exactly core/gemm.ts's semantics:
 *
 *   C[cOff + i*ldc + j] = alpha * sum_k op(A)[i,k] op(B)[k,j] + beta * C[cOff + i*ldc + j]
 *
 * for i < M, j < N; op(A) = A or A^T (transA), op(B) likewise; other entries of C untouched;
 * beta = 0 means C is overwritten without being read (NaN in C does not propagate).
 * Only the spans of A and B that op() reads are shipped to the kernel, as float32.
 * `compute` runs the kernel on compact operands and returns the compact [M, N] result.
 *
 * The kernel addresses at most `limit.elements` per operand: MAX_INDEX = 2^24 for gpu.js's kernel
 * (float32 index arithmetic; kernel-runner.ts refuses more), one storage binding for the WGSL GEMM
 * (gpu/wgsl/gemm.ts). A product whose spans, output or leading dimensions are larger is computed
 * in blocks of rows x columns of C, each block's op(A) rows and op(B) columns packed compactly
 * ([mb, K] and [K, nb], both within the limit) on the host; only K past the limit is refused.
 */
import type { Float } from '../core/gemm.ts';
import { MAX_INDEX } from './kernel-runner.ts';

export interface CompactGemm {
  A: Float32Array; B: Float32Array; Cin: Float32Array;
  M: number; N: number; K: number; lda: number; ldb: number;
  transA: number; transB: number; alpha: number; beta: number;
}

export type GemmCompute = (job: CompactGemm) => Float32Array;

/** What one compute call can address: `elements` per operand, and why (for the refusal message). */
export interface GemmLimit {
  elements: number;
  /** e.g. "gpu.js's float32 index arithmetic addresses exactly" */
  reason: string;
}

/** gpu.js's gemm kernel: float32 index arithmetic, exact up to 2^24. */
export const GPUJS_GEMM_LIMIT: GemmLimit = {
  elements: MAX_INDEX,
  reason: `2^24 = ${MAX_INDEX}, the longest row gpu.js's float32 index arithmetic addresses exactly`,
};

function span(X: Float, off: number, rows: number, ld: number, cols: number, what: string): Float32Array {
  const len = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  if (off < 0 || off + len > X.length) {
    throw new Error(`gpu gemm: ${what} needs elements [${off}, ${off + len}) but has length ${X.length}`);
  }
  const view = X.subarray(off, off + len);
  return view instanceof Float32Array ? view : Float32Array.from(view);
}

export function hostGemm(
  compute: GemmCompute,
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float, aOff: number, lda: number, B: Float, bOff: number, ldb: number,
  beta: number, C: Float, cOff: number, ldc: number,
  limit: GemmLimit = GPUJS_GEMM_LIMIT,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0 || alpha === 0) {
    // C <- beta * C, same as core/gemm.ts (beta = 0 overwrites without reading)
    for (let i = 0; i < M; i++) {
      const row = cOff + i * ldc;
      if (beta === 0) C.fill(0, row, row + N);
      else if (beta !== 1) for (let j = 0; j < N; j++) C[row + j] *= beta;
    }
    return;
  }
  const a = transA ? span(A, aOff, K, lda, M, 'A') : span(A, aOff, M, lda, K, 'A');
  const b = transB ? span(B, bOff, N, ldb, K, 'B') : span(B, bOff, K, ldb, N, 'B');
  if (cOff < 0 || cOff + (M - 1) * ldc + N > C.length) {
    throw new Error(`gpu gemm: C needs elements [${cOff}, ${cOff + (M - 1) * ldc + N}) but has length ${C.length}`);
  }
  if (Math.max(a.length, b.length, M * N, lda, ldb) > limit.elements) {
    blockedGemm(compute, transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, C, cOff, ldc, limit);
    return;
  }
  let cin: Float32Array;
  if (beta === 0) {
    cin = new Float32Array(1);
  } else {
    cin = new Float32Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) cin[i * N + j] = C[cOff + i * ldc + j];
  }
  const out = compute({ A: a, B: b, Cin: cin, M, N, K, lda, ldb, transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha, beta });
  for (let i = 0; i < M; i++) {
    const row = cOff + i * ldc;
    for (let j = 0; j < N; j++) C[row + j] = out[i * N + j];
  }
}

/**
 * The same product in blocks of C that the kernel can address: op(A) rows [i0, i0+mb) packed as
 * [mb, K], op(B) columns [j0, j0+nb) packed as [K, nb]; a and b are the spans from hostGemm (offset 0).
 */
function blockedGemm(
  compute: GemmCompute, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, C: Float, cOff: number, ldc: number,
  limit: GemmLimit,
): void {
  const L = limit.elements;
  if (K > L) {
    throw new Error(`gpu gemm: K = ${K} is more than ${limit.reason}`);
  }
  const nb = Math.min(N, Math.floor(L / K));
  const mb = Math.min(M, Math.floor(L / K), Math.floor(L / nb));
  for (let i0 = 0; i0 < M; i0 += mb) {
    const m = Math.min(mb, M - i0);
    const pa = new Float32Array(m * K);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < K; k++) pa[i * K + k] = transA ? a[k * lda + i0 + i] : a[(i0 + i) * lda + k];
    }
    for (let j0 = 0; j0 < N; j0 += nb) {
      const n = Math.min(nb, N - j0);
      const pb = new Float32Array(K * n);
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < n; j++) pb[k * n + j] = transB ? b[(j0 + j) * ldb + k] : b[k * ldb + j0 + j];
      }
      const cin = new Float32Array(beta === 0 ? 1 : m * n);
      if (beta !== 0) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) cin[i * n + j] = C[cOff + (i0 + i) * ldc + j0 + j];
      const out = compute({ A: pa, B: pb, Cin: cin, M: m, N: n, K, lda: K, ldb: n, transA: 0, transB: 0, alpha, beta });
      for (let i = 0; i < m; i++) {
        const row = cOff + (i0 + i) * ldc + j0;
        for (let j = 0; j < n; j++) C[row + j] = out[i * n + j];
      }
    }
  }
}
