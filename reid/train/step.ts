/**
 * One training iteration, step 4 of the loop (./loop.ts):
 *
 *   f = model(x)  →  L = ClusterNCE(f, M, t)  (eq. 1)  →  backward  →  Adam  →  memory update (§3, cluster/memory.ts)
 *
 * A non-finite feature, loss, gradient or parameter throws (`fail`, naming it) before anything it
 * touched is kept: the gradients are checked before the update, the parameters after it. The checks
 * are kernels (`nonFinite`, one flag per tensor), so on a device backend what crosses per iteration
 * is the batch (up), the features (down: ClusterNCE and the memory run on the host), their gradient
 * (up), and one flag per parameter, twice; parameters, gradients, activations and Adam's moments stay
 * on the device (spec/device-residency.test.ts counts it).
 */
import { backward } from '../../core/autograd.ts';
import { kernels } from '../../core/backend.ts';
import { Tensor } from '../../core/tensor.ts';
import { TensorStorage } from '../../core/tensor-storage.ts';
import { clusterNceLoss } from '../../cluster/cluster-nce.ts';
import type { ClusterMemory } from '../../cluster/memory.ts';
import type { Adam } from '../../nn/optim.ts';

export interface StepModel {
  forward(x: Tensor): Tensor;
  readonly featureDim: number;
}

/** Failures a step reports: what is not finite; for a feature, the batch row it belongs to. */
export type StepFailure = { what: 'feature'; row: number } | { what: 'loss'; value: number } | { what: 'gradient' | 'parameter'; name: string };

/** The first tensor of `named` (by `of`) with a non-finite value, checked on the active backend: one flag each, read at once. */
function firstNonFinite(named: [string, Tensor][], of: (p: Tensor) => TensorStorage | null): string | null {
  const flags = new TensorStorage('float32', named.length);
  named.forEach(([, p], i) => {
    const s = of(p);
    if (s) kernels.nonFinite(p.size, s, flags, i);
  });
  const bad = Array.from(flags.read()).findIndex((v) => v !== 0);
  return bad >= 0 ? named[bad][0] : null;
}

/** One iteration on batch x with cluster ids `targets`; returns the loss, or throws fail(…). */
export function trainingStep(model: StepModel, optimizer: Adam, memory: ClusterMemory, tau: number, named: [string, Tensor][],
  x: Tensor, targets: Int32Array, fail: (f: StepFailure) => Error): number {
  const f = model.forward(x);
  const features = f.storage.read(); // read, not f.data (a host write that would leave the device copy stale)
  for (let i = 0; i < features.length; i++) if (!Number.isFinite(features[i])) throw fail({ what: 'feature', row: Math.floor(i / model.featureDim) });
  // eq. (1): ClusterNCE against the memory dictionary, and its gradient with respect to f
  const lossT = clusterNceLoss(f, memory.rows, memory.K, targets, tau);
  const loss = lossT.data[0];
  if (!Number.isFinite(loss)) throw fail({ what: 'loss', value: loss });
  backward(lossT);
  const badGradient = firstNonFinite(named, (p) => p.gradStorage);
  if (badGradient) throw fail({ what: 'gradient', name: badGradient });
  optimizer.update();
  const badParameter = firstNonFinite(named, (p) => p.storage);
  if (badParameter) throw fail({ what: 'parameter', name: badParameter });
  optimizer.zeroGrad();
  // the memory update: its own step, after the parameter update
  memory.update(features, targets);
  return loss;
}
