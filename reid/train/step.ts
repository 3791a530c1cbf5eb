/**
 * One training iteration, step 4 of the loop (./loop.ts):
 *
 *   f = model(x)  →  L = ClusterNCE(f, M, t)  (eq. 1)  →  backward  →  Adam  →  memory update (§3, cluster/memory.ts)
 *
 * A non-finite feature, loss, gradient or parameter throws (`fail`, naming it) before anything it
 * touched is kept: the gradients are checked before the update, the parameters after it. The checks
 * are kernels (`nonFinite`: one flag for the features and every gradient, one for every parameter;
 * which tensor, only on the way to a failure), as are ClusterNCE and the memory update, so on a
 * device backend what crosses per iteration is the batch and its B cluster ids (up), and the B
 * per-row losses and the two flags (down); features, memory, parameters, gradients, activations
 * and Adam's moments stay on the device (spec/device-residency.test.ts counts it).
 */
import { backward } from '../../core/autograd.ts';
import { kernels } from '../../core/backend.ts';
import { Tensor } from '../../core/tensor.ts';
import { TensorStorage } from '../../core/tensor-storage.ts';
import { clusterNceLoss } from '../../cluster/cluster-nce.ts';
import { clusterIds } from '../../cluster/cluster-ids.ts';
import type { ClusterMemory } from '../../cluster/memory.ts';
import type { Adam } from '../../nn/optim.ts';

export interface StepModel {
  forward(x: Tensor): Tensor;
  readonly featureDim: number;
}

/** Failures a step reports: what is not finite; for a feature, the batch row it belongs to. */
export type StepFailure = { what: 'feature'; row: number } | { what: 'loss'; value: number } | { what: 'gradient' | 'parameter'; name: string };

/** Whether any of the storages holds a non-finite value: one flag for them all, checked on the active backend, one 4-byte read. */
function anyNonFinite(storages: (TensorStorage | null)[]): boolean {
  const flag = new TensorStorage('float32', 1);
  for (const s of storages) if (s) kernels.nonFinite(s.length, s, flag, 0);
  return flag.read()[0] !== 0;
}

/** The index of the first storage holding a non-finite value (a flag each: only on the way to a failure), or −1. */
function firstNonFinite(storages: (TensorStorage | null)[]): number {
  const flags = new TensorStorage('float32', storages.length);
  storages.forEach((s, i) => s && kernels.nonFinite(s.length, s, flags, i));
  return Array.from(flags.read()).findIndex((v) => v !== 0);
}

/** The batch row of the first non-finite feature, if any (read on the host: only on the way to a failure). */
function nonFiniteRow(f: Tensor, D: number): number | null {
  const i = f.storage.read().findIndex((v) => !Number.isFinite(v));
  return i >= 0 ? Math.floor(i / D) : null;
}

/** One iteration on batch x with cluster ids `targets`; returns the loss, or throws fail(…). */
export function trainingStep(model: StepModel, optimizer: Adam, memory: ClusterMemory, tau: number, named: [string, Tensor][],
  x: Tensor, targets: Int32Array, fail: (f: StepFailure) => Error): number {
  const f = model.forward(x);
  const t = clusterIds(targets, targets.length, memory.K, 'trainingStep'); // up once, for ClusterNCE and the memory update
  // eq. (1): ClusterNCE against the memory dictionary, and its gradient with respect to f
  const lossT = clusterNceLoss(f, memory.rows, memory.K, t, tau);
  const loss = lossT.data[0];
  if (!Number.isFinite(loss)) {
    const row = nonFiniteRow(f, model.featureDim);
    throw fail(row === null ? { what: 'loss', value: loss } : { what: 'feature', row });
  }
  backward(lossT);
  // the features (a device may not carry a NaN into the loss) and every gradient, one flag for all
  const checked = [f.storage, ...named.map(([, p]) => p.gradStorage)];
  if (anyNonFinite(checked)) {
    const bad = firstNonFinite(checked);
    throw fail(bad === 0 ? { what: 'feature', row: nonFiniteRow(f, model.featureDim)! } : { what: 'gradient', name: named[bad - 1][0] });
  }
  optimizer.update();
  const parameters = named.map(([, p]) => p.storage);
  if (anyNonFinite(parameters)) throw fail({ what: 'parameter', name: named[firstNonFinite(parameters)][0] });
  optimizer.zeroGrad();
  // the memory update: its own step, after the parameter update
  memory.update(f.storage, t);
  return loss;
}
