/**
 * Checks every device backend must pass (spec/device-residency.test.ts on the simulated device,
 * spec/gpu-device-store.test.ts on WebGPU), run with that backend active.
 */
import { expect } from 'vitest';
import { Tensor } from '../core/tensor.ts';
import { resetTransfers, transfers } from '../core/tensor-storage.ts';
import * as F from '../core/ops/index.ts';
import type { StepsRun } from './backbone-steps.ts';

/** relu → add → relu on 5000 values: 2 uploads (the inputs), nothing down until the host reads the result, then 1. */
export function checkChainStaysOnDevice(): void {
  const n = 5000;
  const x = Tensor.from(Array.from({ length: n }, (_, i) => Math.sin(i)), [n]);
  const b = Tensor.from(Array.from({ length: n }, (_, i) => Math.cos(i)), [n]);
  resetTransfers();
  const h = F.relu(F.add(F.relu(x), b));
  expect(h.storage.where).toBe('device');
  expect(transfers).toMatchObject({ uploads: 2, uploadBytes: 2 * 4 * n, downloads: 0 });
  const want = Array.from({ length: n }, (_, i) => Math.max(0, Math.fround(Math.max(0, Math.fround(Math.sin(i))) + Math.fround(Math.cos(i)))));
  expect(Array.from(h.storage.read())).toEqual(want);
  expect(transfers).toMatchObject({ downloads: 1, downloadBytes: 4 * n });
}

/**
 * What three training steps at batch 2, 128x64, move (`transfers` since they began), when every
 * kernel of the step runs on the device (Adam and BatchNorm's per-channel arithmetic too): up, only
 * what the steps start from on the host (parameters, running statistics, the input, the backward
 * seeds), once; down, only what the test itself reads (step 1's gradients, the final parameters, the
 * embedding). Nothing else crosses: no activation, gradient, moment or per-channel value.
 */
export function checkStepTransfers(label: string, run: StepsRun): void {
  const paramValues = [...run.params.values()].reduce((s, p) => s + p.length, 0);
  const gradValues = [...run.grads.values()].reduce((s, g) => s + g.length, 0);
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(`${label}, tiny MLA backbone, batch 2, 128x64, 3 steps: ${transfers.uploads} uploads (${mb(transfers.uploadBytes)} MiB), ` +
    `${transfers.downloads} downloads (${mb(transfers.downloadBytes)} MiB); parameters ${mb(4 * paramValues)} MiB`);
  expect(transfers.uploadBytes).toBeLessThanOrEqual(4 * run.hostValues);
  expect(transfers.downloadBytes).toBeLessThanOrEqual(4 * (gradValues + paramValues + run.embedding.length));
}
