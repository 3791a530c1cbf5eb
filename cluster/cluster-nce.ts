/**
 * ClusterNCE loss, paper eq. (1), forward and backward side by side.
 *
 *   L = (1/B) Σ_b −log( exp(f_b·m_{t_b}/τ) / Σ_k exp(f_b·m_k/τ) )
 *
 * Symbols: f [B, D] the L2-normalised batch features, M [K, D] the memory (one row per cluster,
 * memory.ts), t [B] cluster ids, τ the temperature (0.05). Memory is not a parameter: the gradient
 * is for f only. With p_b = softmax_k(f_b·m_k/τ):  ∂L/∂f_b = (1/(B·τ)) Σ_k (p_bk − [k = t_b]) m_k.
 *
 * `clusterNceLoss` is the tape primitive the training loop uses (the loss as a scalar Tensor,
 * `backward(loss)`); `clusterNce` is the same computation on plain arrays, loss and ∂L/∂f at once.
 * Both products go through the active backend's GEMM (core/backend.ts).
 */
import { kernels } from '../core/backend.ts';
import type { Float } from '../core/gemm.ts';
import { record } from '../core/autograd.ts';
import { Tensor } from '../core/tensor.ts';

export interface ClusterNceResult {
  loss: number;
  /** [B, D] ∂L/∂f, the same array type as f. */
  gradF: Float;
}

function checkInputs(f: Float, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau: number): void {
  if (f.length !== B * D) throw new Error(`clusterNce (eq. 1): f has ${f.length} values, expected B·D = ${B}·${D}`);
  if (M.length !== K * D) throw new Error(`clusterNce (eq. 1): memory has ${M.length} values, expected K·D = ${K}·${D}`);
  if (targets.length !== B) throw new Error(`clusterNce (eq. 1): ${targets.length} targets for a batch of ${B}`);
  if (!(tau > 0)) throw new Error(`clusterNce (eq. 1): temperature τ = ${tau} must be > 0`);
  for (let b = 0; b < B; b++) {
    const t = targets[b];
    if (!Number.isInteger(t) || t < 0 || t >= K) throw new Error(`clusterNce (eq. 1): targets[${b}] = ${t} is not a cluster id in [0, K = ${K})`);
  }
}

/** Forward: the loss, and p = softmax(f·Mᵀ/τ) [B, K] kept for the backward. */
function forward(f: Float, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau: number): { loss: number; p: Float64Array } {
  checkInputs(f, B, D, M, K, targets, tau);
  // logits [B, K] = f·Mᵀ / τ
  const p = new Float64Array(B * K);
  kernels.gemm(false, true, B, K, D, 1 / tau, f, 0, D, M, 0, D, 0, p, 0, K);
  // L = mean_b (logsumexp_k logits[b] − logits[b, t_b]); p = softmax(logits) in place.
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = b * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (p[row + k] > max) max = p[row + k];
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(p[row + k] - max);
    loss += max + Math.log(sum) - p[row + targets[b]];
    for (let k = 0; k < K; k++) p[row + k] = Math.exp(p[row + k] - max) / sum;
  }
  return { loss: loss / B, p };
}

/** Backward: gradF += g · ∂L/∂f = g · ((p − onehot(t)) / B) · M / τ  (p is overwritten). */
function backwardInto(p: Float64Array, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau: number, g: number, gradF: Float): void {
  for (let b = 0; b < B; b++) {
    p[b * K + targets[b]] -= 1;
    for (let k = 0; k < K; k++) p[b * K + k] *= g / B;
  }
  kernels.gemm(false, false, B, D, K, 1 / tau, p, 0, K, M, 0, D, 1, gradF, 0, D);
}

export function clusterNce(f: Float, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau = 0.05): ClusterNceResult {
  const { loss, p } = forward(f, B, D, M, K, targets, tau);
  const gradF = f instanceof Float32Array ? new Float32Array(B * D) : new Float64Array(B * D);
  backwardInto(p, B, D, M, K, targets, tau, 1, gradF);
  return { loss, gradF };
}

/** eq. (1) on the tape: the loss of features f [B, D] as a scalar Tensor; backward reaches f. */
export function clusterNceLoss(f: Tensor, M: Float, K: number, targets: ArrayLike<number>, tau = 0.05): Tensor {
  const [B, D] = f.shape;
  if (f.rank !== 2) throw new Error(`clusterNce (eq. 1): features have shape [${f.shape}], expected [B, D]`);
  const { loss, p } = forward(f.storage.read(), B, D, M, K, targets, tau);
  const out = Tensor.from([loss], [], f.dtype);
  return record(out, [f], (dy) => backwardInto(p, B, D, M, K, targets, tau, dy.read()[0], f.gradBuffer()));
}
