/**
 * Batched matrix products (HLA/DLA attention, conv as im2col + GEMM).
 *
 * bmm:          out[b, i, j] = alpha * sum_k op(A_b)[i,k] * op(B_b)[k,j]       out: [batch, M, N]
 * bmmSumBatch:  out[i, j]    = alpha * sum_b sum_k op(A_b)[i,k] * op(B_b)[k,j]  out: [M, N]
 *
 *   A_b starts at b*strideA (strideA = 0 broadcasts one A to every b), likewise B_b.
 *   op(A_b) is [M, K]: row-major [M, K], or stored [K, M] when transA = 1; op(B_b) is [K, N]:
 *   stored [K, N], or [N, K] when transB = 1 (leading dimensions are the stored row lengths).
 * bmmSumBatch is the conv weight gradient dW = sum_b dY_b * cols_b^T without a [batch, M, N] temporary.
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function bmm(
  this: KernelThis, A: Flat, B: Flat,
  M: number, N: number, K: number, strideA: number, strideB: number,
  transA: number, transB: number, alpha: number,
): number {
  const idx = this.thread.x;
  let b = Math.floor(idx / (M * N));
  if (b * (M * N) > idx) {
    b = b - 1;
  }
  if ((b + 1) * (M * N) <= idx) {
    b = b + 1;
  }
  const r = idx - b * M * N;
  let i = Math.floor(r / N);
  if (i * N > r) {
    i = i - 1;
  }
  if ((i + 1) * N <= r) {
    i = i + 1;
  }
  const j = r - i * N;
  let aBase = b * strideA + i * K;
  let aStep = 1;
  if (transA === 1) {
    aBase = b * strideA + i;
    aStep = M;
  }
  let bBase = b * strideB + j;
  let bStep = N;
  if (transB === 1) {
    bBase = b * strideB + j * K;
    bStep = 1;
  }
  let sum = 0;
  for (let k = 0; k < K; k++) {
    sum += A[aBase + k * aStep] * B[bBase + k * bStep];
  }
  return alpha * sum;
}

function bmmSumBatch(
  this: KernelThis, A: Flat, B: Flat,
  batch: number, M: number, N: number, K: number, strideA: number, strideB: number,
  transA: number, transB: number, alpha: number,
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
  let aRow = i * K;
  let aStep = 1;
  if (transA === 1) {
    aRow = i;
    aStep = M;
  }
  let bCol = j;
  let bStep = N;
  if (transB === 1) {
    bCol = j * K;
    bStep = 1;
  }
  let sum = 0;
  for (let b = 0; b < batch; b++) {
    const aBase = b * strideA + aRow;
    const bBase = b * strideB + bCol;
    for (let k = 0; k < K; k++) {
      sum += A[aBase + k * aStep] * B[bBase + k * bStep];
    }
  }
  return alpha * sum;
}

const common = { A: 'Array', B: 'Array', M: 'Integer', N: 'Integer', K: 'Integer', strideA: 'Integer', strideB: 'Integer', transA: 'Integer', transB: 'Integer', alpha: 'Float' } as const;

export const bmmKernel: KernelSource = { name: 'bmm', fn: bmm, argumentTypes: { ...common } };

export const bmmSumBatchKernel: KernelSource = {
  name: 'bmmSumBatch',
  fn: bmmSumBatch,
  argumentTypes: { A: 'Array', B: 'Array', batch: 'Integer', M: 'Integer', N: 'Integer', K: 'Integer', strideA: 'Integer', strideB: 'Integer', transA: 'Integer', transB: 'Integer', alpha: 'Float' },
};
