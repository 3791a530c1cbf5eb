/**
 * The cpu Adam update (the definition the other backends are checked against; nn/optim.ts holds the
 * optimizer and its equations), for one parameter θ of n values with gradient g and moments m, v:
 *
 *   g ← g + λ θ,   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²,
 *   θ ← θ − stepSize · m / (√v / bc2 + eps),   stepSize = lr / (1 − β1^t),   bc2 = √(1 − β2^t)
 *
 * The moments are state arrays (core/backend.ts stateDtype: float64 on the host backends, float32 on
 * a device); the arithmetic is float64 here, each result rounded once to its array's type.
 */
import type { Float } from '../gemm.ts';

/** The step's scalars: β1, β2, eps, the weight decay λ, and the bias corrections folded as above. */
export interface AdamStep { beta1: number; beta2: number; eps: number; weightDecay: number; stepSize: number; bc2: number }

export function adamUpdate(n: number, { beta1: b1, beta2: b2, eps, weightDecay: wd, stepSize, bc2 }: AdamStep,
  theta: Float, grad: Float, m: Float, v: Float): void {
  for (let j = 0; j < n; j++) {
    const gj = grad[j] + wd * theta[j];
    m[j] = b1 * m[j] + (1 - b1) * gj;
    v[j] = b2 * v[j] + (1 - b2) * gj * gj;
    theta[j] -= stepSize * m[j] / (Math.sqrt(v[j]) / bc2 + eps);
  }
}
