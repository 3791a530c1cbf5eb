/**
 * The whole MLA backbone on the wasm backend equals the cpu reference within float32 rounding, at
 * the default profile's real input size (128x64): one training-mode forward and backward, then
 * three Adam steps. "Within float32 rounding" is measured, not assumed: the float64 cpu run is the
 * truth, and the wasm run may be off by at most 10x what the float32 cpu run is (the two round
 * differently: relaxed-SIMD multiply-add fuses, and the kernels sum in other orders).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../core/backend.ts';
import { threeTrainingSteps, worst } from '../backbone-steps.ts';
import { activate, type CpuBackend } from './each-backend.ts';

/** The three steps at batch 4 on `backend`. */
function run(backend: CpuBackend, dtype: 'float32' | 'float64' = 'float32') {
  activate(backend);
  return threeTrainingSteps(4, dtype);
}

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
