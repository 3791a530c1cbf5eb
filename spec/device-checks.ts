/**
 * Checks every device backend must pass (spec/device-residency.test.ts on the simulated device,
 * spec/gpu-device-store.test.ts on WebGPU), run with that backend active.
 */
import { expect } from 'vitest';
import { Tensor } from '../core/tensor.ts';
import { resetTransfers, transfers } from '../core/tensor-storage.ts';
import * as F from '../core/ops/index.ts';

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
 * The bound on what three training steps at batch 2, 128x64, move (`transfers` since they began):
 * Adam runs on the host, so each step uploads every parameter and downloads every gradient; the
 * input batch goes up; what the device backend still runs on the host (and BatchNorm's per-channel
 * values) moves a quarter of that at most; the test's own final reads of gradients and parameters
 * come down. No activation crosses.
 */
export function checkStepTransfers(label: string, params: Map<string, Float32Array>): void {
  const paramBytes = 4 * [...params.values()].reduce((s, p) => s + p.length, 0);
  const inputBytes = 4 * 2 * 3 * 128 * 64;
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(`${label}, tiny MLA backbone, batch 2, 128x64, 3 steps: ${transfers.uploads} uploads (${mb(transfers.uploadBytes)} MiB), ` +
    `${transfers.downloads} downloads (${mb(transfers.downloadBytes)} MiB); parameters ${mb(paramBytes)} MiB, input ${mb(inputBytes)} MiB`);
  expect(transfers.uploadBytes).toBeLessThanOrEqual(1.25 * 3 * (paramBytes + inputBytes));
  expect(transfers.downloadBytes).toBeLessThanOrEqual(1.25 * 5 * paramBytes);
}
