/**
 * Softmax over the last axis of x viewed as [R, L] (attention rows), and its backward.
 *
 *   rowMax[r]  = max_l x[r, l]
 *   rowSumExp[r] = sum_l exp(x[r, l] - rowMax[r])
 *   y[r, l]    = exp(x[r, l] - rowMax[r]) / rowSumExp[r]
 * backward, with dot[r] = sum_l y[r, l] * dy[r, l]:
 *   dx[r, l]   = y[r, l] * (dy[r, l] - dot[r])
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function rowMax(this: KernelThis, x: Flat, L: number): number {
  const base = this.thread.x * L;
  let m = x[base];
  for (let l = 1; l < L; l++) {
    m = Math.max(m, x[base + l]);
  }
  return m;
}

function rowSumExp(this: KernelThis, x: Flat, mx: Flat, L: number): number {
  const r = this.thread.x;
  const base = r * L;
  let s = 0;
  for (let l = 0; l < L; l++) {
    s += Math.exp(x[base + l] - mx[r]);
  }
  return s;
}

function softmaxNormalize(this: KernelThis, x: Flat, mx: Flat, sum: Flat, L: number): number {
  const idx = this.thread.x;
  let r = Math.floor(idx / L);
  if (r * L > idx) {
    r = r - 1;
  }
  if ((r + 1) * L <= idx) {
    r = r + 1;
  }
  return Math.exp(x[idx] - mx[r]) / sum[r];
}

function rowDot(this: KernelThis, y: Flat, dy: Flat, L: number): number {
  const base = this.thread.x * L;
  let s = 0;
  for (let l = 0; l < L; l++) {
    s += y[base + l] * dy[base + l];
  }
  return s;
}

function softmaxBackward(this: KernelThis, y: Flat, dy: Flat, dot: Flat, L: number): number {
  const idx = this.thread.x;
  let r = Math.floor(idx / L);
  if (r * L > idx) {
    r = r - 1;
  }
  if ((r + 1) * L <= idx) {
    r = r + 1;
  }
  return y[idx] * (dy[idx] - dot[r]);
}

export const rowMaxKernel: KernelSource = { name: 'rowMax', fn: rowMax, argumentTypes: { x: 'Array', L: 'Integer' } };
export const rowSumExpKernel: KernelSource = { name: 'rowSumExp', fn: rowSumExp, argumentTypes: { x: 'Array', mx: 'Array', L: 'Integer' } };
export const softmaxNormalizeKernel: KernelSource = {
  name: 'softmaxNormalize', fn: softmaxNormalize, argumentTypes: { x: 'Array', mx: 'Array', sum: 'Array', L: 'Integer' },
};
export const rowDotKernel: KernelSource = { name: 'rowDot', fn: rowDot, argumentTypes: { y: 'Array', dy: 'Array', L: 'Integer' } };
export const softmaxBackwardKernel: KernelSource = {
  name: 'softmaxBackward', fn: softmaxBackward, argumentTypes: { y: 'Array', dy: 'Array', dot: 'Array', L: 'Integer' },
};
