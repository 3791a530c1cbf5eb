/**
 * The checks of ClusterNCE's kernels (softmax cross-entropy and its backward, the memory update)
 * against the float64 references of spec/reference/, on the active backend: one body for
 * spec/kernels/cluster-nce.test.ts (every CPU backend) and spec/gpu-device-store.test.ts (webgpu).
 */
import { expect } from 'vitest';
import { kernels, stateDtype } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { crossEntropyReference } from '../reference/core.ts';
import { memoryUpdateReference } from '../reference/cluster-reference.ts';

const state = (n: number) => alloc(stateDtype(), n).fill(Number.NaN);
const maxDiff = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  return d;
};

/** Logits of the size ClusterNCE makes (|f·m| ≤ 1, over τ = 0.05) and targets in [0, n). */
export function checkCrossEntropy(rows: number, n: number, seed: number): void {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: rows * n }, () => rng.uniform(-20, 20));
  const t = Float32Array.from({ length: rows }, () => rng.int(n));
  const p = state(rows * n), losses = state(rows);
  kernels.softmaxCrossEntropy(rows, n, x, t, p, losses);
  const want = crossEntropyReference(x, rows, n, t);
  // a loss is a difference of terms up to 20 + log n: float32 keeps it to a few ulp of those
  expect(maxDiff(losses, want.losses), 'losses').toBeLessThan(2e-5 * (20 + Math.log(n)));
  const dx = state(rows * n);
  kernels.softmaxCrossEntropyBackward(rows, n, 0.25, p, t, dx);
  expect(maxDiff(dx, want.grad.map((g) => 0.25 * g)), 'scale · (p − onehot)').toBeLessThan(1e-6);
}

/** M [K, D] and f [B, D] unit rows; B / 4 clusters of 4 samples each, in shuffled order (the PK sampler's batch). */
export function checkMemoryUpdate(K: number, D: number, B: number, hard: boolean, seed: number): void {
  const rng = new Rng(seed);
  const unitRows = (count: number) => {
    const a = Float32Array.from({ length: count * D }, () => rng.normal());
    for (let r = 0; r < count; r++) {
      const norm = Math.hypot(...a.subarray(r * D, r * D + D));
      for (let d = 0; d < D; d++) a[r * D + d] /= norm;
    }
    return a;
  };
  const M = unitRows(K), f = unitRows(B);
  const clusters = Array.from({ length: Math.ceil(B / 4) }, () => rng.int(K));
  const t = Float32Array.from({ length: B }, (_, b) => clusters[b % clusters.length]);
  for (let b = B - 1; b > 0; b--) { const j = rng.int(b + 1); [t[b], t[j]] = [t[j], t[b]]; }
  const rowsOf = (a: Float32Array, count: number) => Array.from({ length: count }, (_, r) => Array.from(a.subarray(r * D, r * D + D)));
  const want = memoryUpdateReference(rowsOf(M, K), rowsOf(f, B), Array.from(t), 0.2, hard ? 'hard' : 'momentum').flat();
  kernels.memoryUpdate(D, B, 0.2, hard, M, f, t);
  expect(maxDiff(M, want)).toBeLessThan(1e-6);
}
