/**
 * `--backend gpu` end to end at the layer level: with the GEMM of every conv, linear and attention
 * product routed to gpu.js in webgpu mode (reid/train/backend.ts), the MLA backbone's embedding and
 * its parameter gradients equal the CPU path's within float32 rounding. On a machine without a GPU
 * this runs on the SwiftShader adapter (fetched by spec/setup/swiftshader.ts) and fails if none answers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/random.ts';
import { Tensor } from '../core/tensor.ts';
import { backward } from '../core/autograd.ts';
import { registerKernel, useBackend } from '../core/backend.ts';
import { RESNET_CPU_TINY, ReIDBackbone, backboneOptions } from '../nn/backbone.ts';
import { createGpuBackend, type GpuBackend } from '../gpu/backend.ts';

/** One training-mode forward and backward of a small MLA backbone (batch 4, 32x16 images). */
function run(dtype: 'float32' | 'float64' = 'float32'): { embedding: Float32Array; grads: Map<string, Float32Array> } {
  const model = new ReIDBackbone(backboneOptions(RESNET_CPU_TINY, { inputSize: [32, 16], mla: { pla: true, hla: true, dla: true } }),
    { dtype, rng: new Rng(3) });
  const rng = new Rng(4);
  const n = 4 * 3 * 32 * 16;
  const x = Tensor.from<['N', 'C', 'H', 'W']>(Array.from({ length: n }, () => rng.normal()), [4, 3, 32, 16], dtype);
  const f = model.forward(x);
  backward(f, Tensor.from(Array.from({ length: f.size }, () => rng.normal()), f.shape, dtype).data);
  const grads = new Map(model.namedParameters().filter(([, p]) => p.grad).map(([n, p]) => [n, Float32Array.from(p.grad!)]));
  return { embedding: Float32Array.from(f.data), grads };
}

const worst = (a: Float32Array, b: Float32Array) => {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / Math.max(m, 1e-6);
};

describe('backbone on the gpu.js webgpu GEMM', () => {
  let gpu: GpuBackend | undefined;
  afterAll(async () => {
    useBackend('cpu');
    await gpu?.destroy();
  });

  // "Within float32 rounding" is measured, not assumed: the float64 CPU run is the truth, and the
  // GPU run may be off by at most 10x what the float32 CPU run is (each GEMM rounds differently).
  it('gives the embedding and gradients of the CPU path within float32 rounding', async () => {
    const truth = run('float64');
    const cpu = run();
    gpu = await createGpuBackend('webgpu', { software: 'fallback' });
    let calls = 0;
    const g = gpu;
    registerKernel({ kernel: 'gemm', backend: 'gpu', fn: (...args) => { calls++; g.gemm(...args); } });
    useBackend('gpu');
    const onGpu = run();
    expect(g.describe()).toMatch(/^webgpu on /);
    // the GEMMs really went to the device: many calls, and float32 device sums differ from the CPU's
    expect(calls).toBeGreaterThan(50);
    expect(Array.from(onGpu.embedding)).not.toEqual(Array.from(cpu.embedding));
    const bound = (got: Float32Array, want: Float32Array, f32: Float32Array) => worst(got, want) <= 10 * worst(f32, want) + 1e-5;
    expect(bound(onGpu.embedding, truth.embedding, cpu.embedding), `embedding: gpu ${worst(onGpu.embedding, truth.embedding)}, cpu f32 ${worst(cpu.embedding, truth.embedding)}`).toBe(true);
    expect(onGpu.grads.size).toBe(truth.grads.size);
    for (const [name, g] of truth.grads) {
      const [gg, gc] = [onGpu.grads.get(name)!, cpu.grads.get(name)!];
      expect(bound(gg, g, gc), `${name}: gpu ${worst(gg, g)}, cpu f32 ${worst(gc, g)}`).toBe(true);
    }
  });
});
