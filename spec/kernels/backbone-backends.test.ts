/**
 * The whole MLA backbone on the wasm backend equals the cpu reference within float32 rounding, at
 * the default profile's real input size (128x64): one training-mode forward and backward, then
 * three Adam steps. "Within float32 rounding" is measured, not assumed: the float64 cpu run is the
 * truth, and the wasm run may be off by at most 10x what the float32 cpu run is (the two round
 * differently: relaxed-SIMD multiply-add fuses, and the kernels sum in other orders).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../core/random.ts';
import { Tensor } from '../../core/tensor.ts';
import { backward } from '../../core/autograd.ts';
import { useBackend } from '../../core/backend.ts';
import { RESNET_CPU_TINY, ReIDBackbone, backboneOptions, trainableParameters } from '../../nn/backbone.ts';
import { Adam } from '../../nn/optim.ts';
import { activate, type CpuBackend } from './each-backend.ts';

interface Run { embedding: Float32Array; grads: Map<string, Float32Array>; params: Map<string, Float32Array> }

/** Forward + backward of the tiny MLA backbone (batch 4, 128x64), then three Adam steps. */
function run(backend: CpuBackend, dtype: 'float32' | 'float64' = 'float32'): Run {
  activate(backend);
  const model = new ReIDBackbone(backboneOptions(RESNET_CPU_TINY, { mla: { pla: true, hla: true, dla: true } }), { dtype, rng: new Rng(3) });
  model.train();
  const rng = new Rng(4);
  const shape = [4, 3, 128, 64];
  const x = Tensor.from<['N', 'C', 'H', 'W']>(Array.from({ length: 4 * 3 * 128 * 64 }, () => rng.normal()), shape, dtype);
  const seed = Array.from({ length: 4 * model.featureDim }, () => rng.normal());
  const step = () => {
    const f = model.forward(x);
    backward(f, Tensor.from(seed, f.shape, dtype).data);
    return f;
  };
  const f = step();
  const grads = new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n, Float32Array.from(p.grad!)]));
  const opt = new Adam(trainableParameters(model), { lr: 1e-3, weightDecay: 5e-4 });
  opt.update();
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    step();
    opt.update();
  }
  const params = new Map(model.namedParameters().map(([n, p]) => [n, Float32Array.from(p.data)]));
  return { embedding: Float32Array.from(f.data), grads, params };
}

/** max|a − b| / max|b|. */
const worst = (a: Float32Array, b: Float32Array) => {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-6);
};

describe('backbone on the wasm backend', () => {
  afterAll(() => useBackend('cpu'));

  it.each([0])('gives the embedding, every gradient and the parameters after 3 Adam steps of the cpu backend within float32 rounding', () => {
    const truth = run('cpu', 'float64');
    const cpu = run('cpu');
    const wasm = run('wasm');
    // the wasm kernels really ran: float32 sums in another order differ from the cpu's
    expect(Array.from(wasm.embedding)).not.toEqual(Array.from(cpu.embedding));
    const within = (what: string, got: Float32Array, want: Float32Array, f32: Float32Array) =>
      expect(worst(got, want), `${what}: wasm ${worst(got, want)}, cpu float32 ${worst(f32, want)}`).toBeLessThanOrEqual(10 * worst(f32, want) + 1e-6);
    within('embedding', wasm.embedding, truth.embedding, cpu.embedding);
    expect(wasm.grads.size).toBe(truth.grads.size);
    for (const [name, g] of truth.grads) within(`d/d ${name}`, wasm.grads.get(name)!, g, cpu.grads.get(name)!);
    // Adam divides by √v: a gradient near 0 turns rounding into a step of ±lr, so parameters are held to lr-sized bounds
    for (const [name, p] of truth.params) {
      const [pw, pc] = [wasm.params.get(name)!, cpu.params.get(name)!];
      expect(worst(pw, p), `${name} after 3 steps`).toBeLessThanOrEqual(Math.max(10 * worst(pc, p), 3e-3));
    }
  });
});
