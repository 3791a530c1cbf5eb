/**
 * Pairwise squared Euclidean distances for exact k-NN.
 *
 *   X [n, d], Y [m, d]  ->  D [n, m],  D[i, j] = sum_t (X[i, t] - Y[j, t])^2
 *
 * Summed as differences (never |x|^2 + |y|^2 - 2 x.y), so D >= 0 and D[i, i] = 0 exactly when Y = X.
 */
import type { Flat, KernelSource, KernelThis } from './kernel-types.ts';

function pairwiseSqDist(this: KernelThis, X: Flat, Y: Flat, m: number, d: number): number {
  const idx = this.thread.x;
  let i = Math.floor(idx / m);
  if (i * m > idx) {
    i = i - 1;
  }
  if ((i + 1) * m <= idx) {
    i = i + 1;
  }
  const j = idx - i * m;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const diff = X[i * d + t] - Y[j * d + t];
    s += diff * diff;
  }
  return s;
}

export const pairwiseSqDistKernel: KernelSource = {
  name: 'pairwiseSqDist', fn: pairwiseSqDist, argumentTypes: { X: 'Array', Y: 'Array', m: 'Integer', d: 'Integer' },
};
