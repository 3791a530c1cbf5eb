/**
 * Shared by the backend-equivalence tests (spec/kernels/backbone-backends.test.ts,
 * spec/gpu-training.test.ts): one training-mode forward and backward of the tiny MLA backbone at the
 * default profile's input size (128x64), then three Adam steps, on whatever backend is active; and
 * the relative error the bounds are stated in.
 */
import { Rng } from '../core/random.ts';
import { Tensor } from '../core/tensor.ts';
import { backward } from '../core/autograd.ts';
import { RESNET_CPU_TINY, ReIDBackbone, backboneOptions, trainableParameters } from '../nn/backbone.ts';
import { Adam } from '../nn/optim.ts';

export interface StepsRun {
  embedding: Float32Array; grads: Map<string, Float32Array>; params: Map<string, Float32Array>;
  /** Values the steps start from on the host: the model's state (parameters and running statistics), the input, the three backward seeds. */
  hostValues: number;
}

export const STEPS_LR = 1e-3;

/** The embedding and gradients of step 1, and the parameters after three Adam steps (lr STEPS_LR). */
export function threeTrainingSteps(batch: number, dtype: 'float32' | 'float64' = 'float32'): StepsRun {
  const model = new ReIDBackbone(backboneOptions(RESNET_CPU_TINY, { mla: { pla: true, hla: true, dla: true } }), { dtype, rng: new Rng(3) });
  model.train();
  const rng = new Rng(4);
  const x = Tensor.from<['N', 'C', 'H', 'W']>(Array.from({ length: batch * 3 * 128 * 64 }, () => rng.normal()), [batch, 3, 128, 64], dtype);
  const seed = Array.from({ length: batch * model.featureDim }, () => rng.normal());
  const step = () => {
    const f = model.forward(x);
    backward(f, Tensor.from(seed, f.shape, dtype).data);
    return f;
  };
  const f = step();
  const grads = new Map(model.namedParameters().filter(([, p]) => p.gradStorage).map(([n, p]) => [n, Float32Array.from(p.gradStorage!.read())]));
  const opt = new Adam(trainableParameters(model), { lr: STEPS_LR, weightDecay: 5e-4 });
  opt.update();
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    step();
    opt.update();
  }
  const params = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data)]));
  const state = [...model.stateDict().values()].reduce((n, t) => n + t.size, 0);
  return { embedding: Float32Array.from(f.data), grads, params, hostValues: state + x.size + 3 * seed.length };
}

/** max|a − b| / max|b|. */
export function worst(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-6);
}
