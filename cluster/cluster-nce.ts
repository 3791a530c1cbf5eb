/**
 * ClusterNCE loss, paper eq. (1), forward and backward side by side.
 *
 *   L = (1/B) Σ_b −log( exp(f_b·m_{t_b}/τ) / Σ_k exp(f_b·m_k/τ) )
 *
 * Symbols: f [B, D] the L2-normalised batch features, M [K, D] the memory (one row per cluster,
 * memory.ts), t [B] cluster ids, τ the temperature (0.05). Memory is not a parameter: the gradient
 * is for f only. With p_b = softmax_k(f_b·m_k/τ):  ∂L/∂f_b = (1/(B·τ)) Σ_k (p_bk − [k = t_b]) m_k.
 */
import { type Float, gemm } from '../core/gemm.ts';

export interface ClusterNceResult {
  loss: number;
  /** [B, D] ∂L/∂f, the same array type as f. */
  gradF: Float;
}

export function clusterNce(f: Float, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau = 0.05): ClusterNceResult {
  if (f.length !== B * D) throw new Error(`clusterNce (eq. 1): f has ${f.length} values, expected B·D = ${B}·${D}`);
  if (M.length !== K * D) throw new Error(`clusterNce (eq. 1): memory has ${M.length} values, expected K·D = ${K}·${D}`);
  if (targets.length !== B) throw new Error(`clusterNce (eq. 1): ${targets.length} targets for a batch of ${B}`);
  if (!(tau > 0)) throw new Error(`clusterNce (eq. 1): temperature τ = ${tau} must be > 0`);
  for (let b = 0; b < B; b++) {
    const t = targets[b];
    if (!Number.isInteger(t) || t < 0 || t >= K) throw new Error(`clusterNce (eq. 1): targets[${b}] = ${t} is not a cluster id in [0, K = ${K})`);
  }
  // Forward. logits [B, K] = f·Mᵀ / τ
  const logits = new Float64Array(B * K);
  gemm(false, true, B, K, D, 1 / tau, f, 0, D, M, 0, D, 0, logits, 0, K);
  // L = mean_b (logsumexp_k logits[b] − logits[b, t_b]); keep p = softmax in `logits` for the backward.
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = b * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (logits[row + k] > max) max = logits[row + k];
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[row + k] - max);
    loss += max + Math.log(sum) - logits[row + targets[b]];
    for (let k = 0; k < K; k++) logits[row + k] = Math.exp(logits[row + k] - max) / sum;
  }
  loss /= B;
  // Backward. ∂L/∂logits[b] = (p_b − onehot(t_b)) / B;  ∂L/∂f = ∂L/∂logits · M / τ
  const gLogits = logits;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) gLogits[b * K + k] /= B;
    gLogits[b * K + targets[b]] -= 1 / B;
  }
  const gradF = f instanceof Float32Array ? new Float32Array(B * D) : new Float64Array(B * D);
  gemm(false, false, B, D, K, 1 / tau, gLogits, 0, K, M, 0, D, 0, gradF, 0, D);
  return { loss, gradF };
}
