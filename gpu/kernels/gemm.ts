/**
 * GEMM kernel: out[i*N + j] = alpha * sum_k op(A)[i,k] * op(B)[k,j] + beta * Cin[i*N + j]
 *
 *   op(A) is [M, K]: A[aOff + i*lda + k], or A[aOff + k*lda + i] when transA = 1
 *   op(B) is [K, N]: B[bOff + k*ldb + j], or B[bOff + j*ldb + k] when transB = 1
 *   Cin, out: compact [M, N] (the caller gathers/scatters a strided C); Cin is read only if beta != 0
 *
 * Exactly core/gemm.ts's BLAS semantics, one thread per output element, float32 accumulation.
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function gemm(
  this: KernelThis, A: Flat, B: Flat, Cin: Flat,
  M: number, N: number, K: number,
  aOff: number, lda: number, bOff: number, ldb: number,
  transA: number, transB: number, alpha: number, beta: number,
): number {
  const idx = this.thread.x;
  let i = Math.floor(idx / N);
  if (i * N > idx) {
    i = i - 1;
  }
  if ((i + 1) * N <= idx) {
    i = i + 1;
  }
  const j = idx - i * N;
  let aBase = aOff + i * lda;
  let aStep = 1;
  if (transA === 1) {
    aBase = aOff + i;
    aStep = lda;
  }
  let bBase = bOff + j;
  let bStep = ldb;
  if (transB === 1) {
    bBase = bOff + j * ldb;
    bStep = 1;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    sum += A[aBase + k * aStep] * B[bBase + k * bStep];
  }
  let out = alpha * sum;
  if (beta !== 0) {
    out += beta * Cin[idx];
  }
  return out;
}

export const gemmKernel: KernelSource = {
  name: 'gemm',
  fn: gemm,
  argumentTypes: {
    A: 'Array', B: 'Array', Cin: 'Array', M: 'Integer', N: 'Integer', K: 'Integer',
    aOff: 'Integer', lda: 'Integer', bOff: 'Integer', ldb: 'Integer',
    transA: 'Integer', transB: 'Integer', alpha: 'Float', beta: 'Float',
  },
};
