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
 * Every step is a kernel of the active backend (core/backend.ts: the two products, softmax
 * cross-entropy and its backward), so on a device backend f, M and ∂L/∂f stay on the device and
 * only the B per-row losses come to the host.
 */
import { isFloat64, kernels, stateDtype, type Buf } from '../core/backend.ts';
import type { Float } from '../core/gemm.ts';
import { record } from '../core/autograd.ts';
import { Tensor } from '../core/tensor.ts';
import { TensorStorage } from '../core/tensor-storage.ts';
import { clusterIds } from './cluster-ids.ts';

export interface ClusterNceResult {
  loss: number;
  /** [B, D] ∂L/∂f, the same array type as f. */
  gradF: Float;
}

const WHO = 'clusterNce (eq. 1)';

function checkInputs(f: Buf, B: number, D: number, M: Buf, K: number, tau: number): void {
  if (f.length !== B * D) throw new Error(`${WHO}: f has ${f.length} values, expected B·D = ${B}·${D}`);
  if (M.length !== K * D) throw new Error(`${WHO}: memory has ${M.length} values, expected K·D = ${K}·${D}`);
  if (!(tau > 0)) throw new Error(`${WHO}: temperature τ = ${tau} must be > 0`);
}

/** Forward: the loss, and p = softmax(f·Mᵀ/τ) [B, K] kept for the backward (in the state precision, float64 for float64 operands). */
function forward(f: Buf, B: number, D: number, M: Buf, K: number, t: TensorStorage, tau: number): { loss: number; p: TensorStorage } {
  const dtype = isFloat64(f) || isFloat64(M) ? 'float64' : stateDtype();
  const logits = new TensorStorage(dtype, B * K), p = new TensorStorage(dtype, B * K), losses = new TensorStorage(dtype, B);
  // logits [B, K] = f·Mᵀ / τ
  kernels.gemm(false, true, B, K, D, 1 / tau, f, 0, D, M, 0, D, 0, logits, 0, K);
  // L = mean_b (logsumexp_k logits[b] − logits[b, t_b]); p = softmax(logits)
  kernels.softmaxCrossEntropy(B, K, logits, t, p, losses);
  const perRow = losses.read();
  let loss = 0;
  for (let b = 0; b < B; b++) loss += perRow[b];
  return { loss: loss / B, p };
}

/** Backward: gradF += g · ∂L/∂f = (g/B) · (p − onehot(t)) · M / τ. */
function backwardInto(p: TensorStorage, B: number, D: number, M: Buf, K: number, t: TensorStorage, tau: number, g: number, gradF: Buf): void {
  const dLogits = new TensorStorage(p.dtype, B * K);
  kernels.softmaxCrossEntropyBackward(B, K, g / B, p, t, dLogits);
  kernels.gemm(false, false, B, D, K, 1 / tau, dLogits, 0, K, M, 0, D, 1, gradF, 0, D);
}

export function clusterNce(f: Float, B: number, D: number, M: Float, K: number, targets: ArrayLike<number>, tau = 0.05): ClusterNceResult {
  checkInputs(f, B, D, M, K, tau);
  const t = clusterIds(targets, B, K, WHO);
  const { loss, p } = forward(f, B, D, M, K, t, tau);
  const gradF = f instanceof Float32Array ? new Float32Array(B * D) : new Float64Array(B * D);
  backwardInto(p, B, D, M, K, t, tau, 1, gradF);
  return { loss, gradF };
}

/** eq. (1) on the tape: the loss of features f [B, D] as a scalar Tensor; backward reaches f. */
export function clusterNceLoss(f: Tensor, M: Buf, K: number, targets: ArrayLike<number> | TensorStorage, tau = 0.05): Tensor {
  if (f.rank !== 2) throw new Error(`${WHO}: features have shape [${f.shape}], expected [B, D]`);
  const [B, D] = f.shape;
  checkInputs(f.storage, B, D, M, K, tau);
  const t = clusterIds(targets, B, K, WHO);
  const { loss, p } = forward(f.storage, B, D, M, K, t, tau);
  const out = Tensor.from([loss], [], f.dtype);
  return record(out, [f], (dy) => backwardInto(p, B, D, M, K, t, tau, dy.read()[0], f.gradOf()));
}
