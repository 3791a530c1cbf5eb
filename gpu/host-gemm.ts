/**
 * Host-array GEMM on top of the gemm kernel, with exactly core/gemm.ts's semantics:
 *
 *   C[cOff + i*ldc + j] = alpha * sum_k op(A)[i,k] op(B)[k,j] + beta * C[cOff + i*ldc + j]
 *
 * for i < M, j < N; op(A) = A or A^T (transA), op(B) likewise; other entries of C untouched;
 * beta = 0 means C is overwritten without being read (NaN in C does not propagate).
 * Only the spans of A and B that op() reads are shipped to the kernel, as float32.
 * `compute` runs the kernel on compact operands and returns the compact [M, N] result.
 */
import type { Float } from '../core/gemm.ts';

export interface CompactGemm {
  A: Float32Array; B: Float32Array; Cin: Float32Array;
  M: number; N: number; K: number; lda: number; ldb: number;
  transA: number; transB: number; alpha: number; beta: number;
}

export type GemmCompute = (job: CompactGemm) => Float32Array;

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
