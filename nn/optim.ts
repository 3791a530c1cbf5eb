/**
 * Adam with coupled L2 weight decay, exactly as PyTorch's `torch.optim.Adam(weight_decay=λ)`:
 *   g ← g + λ θ
 *   m ← β1 m + (1 − β1) g,     v ← β2 v + (1 − β2) g²
 *   θ ← θ − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps)
 * and StepLR: lr = base_lr · γ^⌊epoch / step_size⌋.
 * Parameters without a gradient this step are left alone (as PyTorch skips p.grad is None).
 */
import { Tensor, type Storage } from '../core/tensor.ts';

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Per-parameter step count and moments, by parameter index. */
  step: number[];
  expAvg: Storage[];
  expAvgSq: Storage[];

  constructor(readonly params: Tensor[], opts: AdamOptions) {
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.step = params.map(() => 0);
    this.expAvg = params.map((p) => new Float64Array(p.size));
    this.expAvgSq = params.map((p) => new Float64Array(p.size));
  }

  /** One update of every parameter that has a gradient. */
  update(): void {
    const [b1, b2] = this.betas;
    this.params.forEach((p, i) => {
      const g = p.grad;
      if (!g || !p.requiresGrad) return;
      const t = ++this.step[i];
      const m = this.expAvg[i];
      const v = this.expAvgSq[i];
      const bc1 = 1 - b1 ** t;
      const bc2 = Math.sqrt(1 - b2 ** t);
      const stepSize = this.lr / bc1;
      const theta = p.data;
      const wd = this.weightDecay;
      for (let j = 0; j < theta.length; j++) {
        const gj = g[j] + wd * theta[j];
        m[j] = b1 * m[j] + (1 - b1) * gj;
        v[j] = b2 * v[j] + (1 - b2) * gj * gj;
        theta[j] -= stepSize * m[j] / (Math.sqrt(v[j]) / bc2 + this.eps);
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

export class StepLR {
  constructor(readonly optimizer: { lr: number }, readonly baseLr: number, readonly stepSize: number, readonly gamma = 0.1) {}

  /** Set the learning rate for `epoch` (0-based). */
  setEpoch(epoch: number): number {
    this.optimizer.lr = this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
    return this.optimizer.lr;
  }
}
