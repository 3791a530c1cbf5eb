/**
 * The cpu kernels of softmax cross-entropy over the rows of logits x [rows, n], each row b with a
 * target class t_b (the definition other backends are checked against; cluster/cluster-nce.ts
 * builds ClusterNCE, paper eq. 1, from them):
 *
 *   softmaxCrossEntropy:          p_b = softmax(x_b),   losses[b] = log Σ_k e^{x_bk} − x_{b t_b}
 *                                 (by max_k x_bk + log Σ_k e^{x_bk − max}; p and losses overwritten)
 *   softmaxCrossEntropyBackward:  dx_b = scale · (p_b − onehot(t_b))   (dx overwritten)
 *
 * The targets are class ids held as values (exact integers below 2^24 in float32).
 */
import type { Float } from '../gemm.ts';

export function softmaxCrossEntropy(rows: number, n: number, x: Float, targets: Float, p: Float, losses: Float): void {
  for (let b = 0; b < rows; b++) {
    const o = b * n;
    let max = -Infinity;
    for (let k = 0; k < n; k++) if (x[o + k] > max) max = x[o + k];
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.exp(x[o + k] - max);
    losses[b] = max + Math.log(sum) - x[o + targets[b]];
    for (let k = 0; k < n; k++) p[o + k] = Math.exp(x[o + k] - max) / sum;
  }
}

export function softmaxCrossEntropyBackward(rows: number, n: number, scale: number, p: Float, targets: Float, dx: Float): void {
  for (let b = 0; b < rows; b++) {
    const o = b * n;
    for (let k = 0; k < n; k++) dx[o + k] = (k === targets[b] ? p[o + k] - 1 : p[o + k]) * scale;
  }
}
