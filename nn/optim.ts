/**
 * Adam with coupled L2 weight decay, exactly as PyTorch's `torch.optim.Adam(weight_decay=λ)`:
 *   g ← g + λ θ
 *   m ← β1 m + (1 − β1) g,     v ← β2 v + (1 − β2) g²
 *   θ ← θ − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + eps)
 * and StepLR: lr = base_lr · γ^⌊epoch / step_size⌋.
 * Parameters without a gradient this step are left alone (as PyTorch skips p.grad is None).
 * The update is the active backend's `adamUpdate` kernel (core/kernels/adam.ts), so a device backend
 * keeps parameters, gradients and moments on the device; the moments are in the backend's state
 * precision (core/backend.ts stateDtype: float64 on the host backends, float32 on a device).
 */
import { Tensor } from '../core/tensor.ts';
import { TensorStorage } from '../core/tensor-storage.ts';
import { kernels, stateDtype } from '../core/backend.ts';

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
  expAvg: TensorStorage[];
  expAvgSq: TensorStorage[];

  constructor(readonly params: Tensor[], opts: AdamOptions) {
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.step = params.map(() => 0);
    // moments never written read as zeros, on the device too, without crossing
    const dtype = (p: Tensor) => (p.dtype === 'float64' ? 'float64' : stateDtype());
    this.expAvg = params.map((p) => new TensorStorage(dtype(p), p.size));
    this.expAvgSq = params.map((p) => new TensorStorage(dtype(p), p.size));
  }

  /** One update of every parameter that has a gradient. */
  update(): void {
    const [beta1, beta2] = this.betas;
    this.params.forEach((p, i) => {
      const g = p.gradStorage;
      if (!g || !p.requiresGrad) return;
      const t = ++this.step[i];
      const step = { beta1, beta2, eps: this.eps, weightDecay: this.weightDecay, stepSize: this.lr / (1 - beta1 ** t), bc2: Math.sqrt(1 - beta2 ** t) };
      kernels.adamUpdate(p.size, step, p.storage, g, this.expAvg[i], this.expAvgSq[i]);
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
