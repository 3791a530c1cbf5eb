/**
 * reid/train/step.ts, one training iteration: on every backend (the finiteness checks, ClusterNCE
 * and the memory update are kernels), a non-finite feature, gradient or parameter is named (the
 * feature's batch row, the tensor's name), before anything it touched is kept: the memory is not
 * updated, and for a feature or a gradient the parameters are not either.
 */
import { expect, it } from 'vitest';
import { kernels } from '../core/backend.ts';
import { record } from '../core/autograd.ts';
import * as F from '../core/ops/index.ts';
import { Rng } from '../core/random.ts';
import { Tensor } from '../core/tensor.ts';
import { ClusterMemory } from '../cluster/memory.ts';
import { Adam } from '../nn/optim.ts';
import { trainingStep, type StepFailure, type StepModel } from '../reid/train/step.ts';
import { describeEachBackend } from './kernels/each-backend.ts';

type Fault = 'none' | 'feature' | 'gradient' | 'parameter';
const B = 4, D = 8, K = 2;

/** A one-parameter model, f = l2norm(x ⊙ w), and one iteration of it with the fault asked for. */
function iteration(fault: Fault): { loss: number | null; failure: StepFailure | null; memoryMoved: boolean; wMoved: boolean } {
  const rng = new Rng(3);
  const w = Tensor.from(Array.from({ length: D }, () => 1 + rng.uniform(0, 1)), [D]);
  w.requiresGrad = true;
  const model: StepModel = {
    featureDim: D,
    forward: (x) => {
      const y = F.l2Normalize(F.mul(x, w));
      // a gradient of w made non-finite (∞ · dy), the forward left as it is
      return fault === 'gradient' ? record(new Tensor(y.storage, y.shape), [w], (dy) => kernels.unary('mulScalar', Infinity, dy, w.gradOf())) : y;
    },
  };
  const x = Array.from({ length: B * D }, () => rng.normal());
  if (fault === 'feature') x[2 * D + 5] = Number.NaN; // batch row 2
  const seed = Float32Array.from({ length: K * D }, () => rng.normal());
  const memory = ClusterMemory.init(seed, K, D, [0, 1], K, { init: 'centroid', mode: 'hard', momentum: 0.1 });
  // a learning rate that throws the parameter past float32's range in one step
  const optimizer = new Adam([w], { lr: fault === 'parameter' ? 1e39 : 1e-3, weightDecay: 0 });
  const memory0 = memory.rows.read().slice(), w0 = w.storage.read().slice();
  let failure: StepFailure | null = null, loss: number | null = null;
  try {
    loss = trainingStep(model, optimizer, memory, 0.05, [['w', w]], Tensor.from(x, [B, D]), Int32Array.of(0, 1, 0, 1), (f) => {
      failure = f;
      return new Error(JSON.stringify(f));
    });
  } catch (e) {
    if (!failure) throw e;
  }
  const moved = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).some((v, i) => !Object.is(v, b[i]));
  return { loss, failure, memoryMoved: moved(memory.rows.read(), memory0), wMoved: moved(w.storage.read(), w0) };
}

describeEachBackend('a training iteration checks what is finite', () => {
  it('a finite iteration returns the loss and updates the parameters and the memory', () => {
    const r = iteration('none');
    expect(r.failure).toBeNull();
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.wMoved && r.memoryMoved).toBe(true);
  });

  it('names a non-finite feature by its batch row; nothing is updated', () => {
    const r = iteration('feature');
    expect(r.failure).toEqual({ what: 'feature', row: 2 });
    expect(r.wMoved || r.memoryMoved).toBe(false);
  });

  it('names a non-finite gradient by its parameter; nothing is updated', () => {
    const r = iteration('gradient');
    expect(r.failure).toEqual({ what: 'gradient', name: 'w' });
    expect(r.wMoved || r.memoryMoved).toBe(false);
  });

  it('names a parameter the update made non-finite; the memory is not updated', () => {
    const r = iteration('parameter');
    expect(r.failure).toEqual({ what: 'parameter', name: 'w' });
    expect(r.memoryMoved).toBe(false);
  });
});
