/**
 * The `webgpu` device backend (gpu/device-store/): tensors in GPU buffers of a worker's WebGPU
 * device, kernels dispatched there in order, a host read the only wait. On SwiftShader here (the
 * hardware adapter under MLA_GPU_HARDWARE=1, gpu/device/run-on-gpu.sh):
 *
 * - values survive upload and download exactly, past 2^24 values (the index limit of gpu.js);
 * - the elementwise kernels equal their cpu definitions bit for bit at the models' real sizes;
 * - a chain of device kernels keeps its intermediates on the device (2 uploads, 1 download);
 * - three training steps of the MLA backbone equal the cpu backend's (relu and add on the device:
 *   one float32 operation per value, so bit for bit), other kernels running on the host;
 * - a failure in the worker comes back as an error naming the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernels, useBackend } from '../core/backend.ts';
import { Tensor } from '../core/tensor.ts';
import { TensorStorage, resetTransfers, transfers } from '../core/tensor-storage.ts';
import * as F from '../core/ops/index.ts';
import { Rng } from '../core/random.ts';
import { registerWebGpuBackend, startWebGpuStore, type WebGpuStore } from '../gpu/device-store/store.ts';
import { threeTrainingSteps } from './backbone-steps.ts';

let store: WebGpuStore;

beforeAll(async () => {
  store = await startWebGpuStore(process.env.MLA_GPU_HARDWARE === '1' ? 'never' : 'always');
  registerWebGpuBackend(store);
});
afterAll(async () => {
  useBackend('cpu');
  await store.close();
});

const random = (n: number, rng: Rng) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = i % 97 === 0 ? 0 : i % 89 === 0 ? -0 : rng.normal();
  return a;
};

describe('webgpu device store', () => {
  it('upload, download and clear are exact, past 2^24 values', () => {
    const n = 2 ** 24 + 3;
    const host = new Float32Array(n); // a pattern that tells positions apart, every value exact in float32
    for (let i = 0; i < n; i++) host[i] = (i * 2654435761) % 2 ** 24;
    const s = new TensorStorage(host.slice());
    s.writeOn(store); // the device copy is now the current one
    s.overwrite().fill(-1);
    s.readOn(store); // the host's -1s go up
    const again = new TensorStorage(host.slice());
    again.writeOn(store);
    const back = again.read();
    let wrong = 0;
    for (let i = 0; i < n; i++) if (back[i] !== host[i]) wrong++;
    expect(wrong).toBe(0);
    const z = new TensorStorage('float32', 1000);
    z.readOn(store); // never written: cleared on the device
    z.writeOn(store);
    expect(z.read().every((v) => v === 0)).toBe(true);
  });

  it('relu, reluBackward, add, addInto equal the cpu kernels bit for bit at the real sizes', () => {
    useBackend('webgpu', store.describe());
    try {
      for (const n of [32 * 32 * 32 * 16, 4099, 37]) {
        const rng = new Rng(n);
        const x = random(n, rng), b = random(n, rng), dy = random(n, rng), dx0 = random(n, rng);
        const run = (k: 'relu' | 'add', ...a: Float32Array[]) => {
          const y = new Float32Array(n).fill(Number.NaN);
          (kernels[k] as (...v: Float32Array[]) => void)(...a, y);
          return y;
        };
        const want = { relu: new Float32Array(n), add: new Float32Array(n), reluBackward: dx0.slice(), addInto: dx0.slice() };
        useBackend('cpu');
        kernels.relu(x, want.relu);
        kernels.add(x, b, want.add);
        kernels.reluBackward(x, dy, want.reluBackward);
        kernels.addInto(want.addInto, b);
        useBackend('webgpu');
        expect(run('relu', x)).toEqual(want.relu);
        expect(run('add', x, b)).toEqual(want.add);
        const dx = dx0.slice();
        kernels.reluBackward(x, dy, dx);
        expect(dx).toEqual(want.reluBackward);
        const acc = dx0.slice();
        kernels.addInto(acc, b);
        expect(acc).toEqual(want.addInto);
      }
    } finally {
      useBackend('cpu');
    }
  });

  it('a chain of device kernels keeps its intermediates on the device', () => {
    useBackend('webgpu');
    try {
      const n = 5000;
      const x = Tensor.from(Array.from({ length: n }, (_, i) => Math.sin(i)), [n]);
      const b = Tensor.from(Array.from({ length: n }, (_, i) => Math.cos(i)), [n]);
      resetTransfers();
      const h = F.relu(F.add(F.relu(x), b));
      expect(h.storage.where).toBe('device');
      expect(transfers).toMatchObject({ uploads: 2, downloads: 0 });
      const want = Array.from({ length: n }, (_, i) => Math.max(0, Math.fround(Math.max(0, Math.fround(Math.sin(i))) + Math.fround(Math.cos(i)))));
      expect(Array.from(h.storage.read())).toEqual(want);
      expect(transfers.downloads).toBe(1);
    } finally {
      useBackend('cpu');
    }
  });

  it('three training steps of the MLA backbone equal the cpu backend bit for bit', () => {
    const cpu = threeTrainingSteps(2);
    useBackend('webgpu');
    try {
      resetTransfers();
      const dev = threeTrainingSteps(2);
      expect(transfers.uploads).toBeGreaterThan(0);
      expect(Array.from(dev.embedding)).toEqual(Array.from(cpu.embedding));
      for (const [name, g] of cpu.grads) expect(Array.from(dev.grads.get(name)!), `d/d ${name}`).toEqual(Array.from(g));
      for (const [name, p] of cpu.params) expect(Array.from(dev.params.get(name)!), name).toEqual(Array.from(p));
    } finally {
      useBackend('cpu');
    }
  });

  it('a failure in the worker comes back naming the kernel', () => {
    const s = new TensorStorage(Float32Array.of(1, 2, 3));
    const d = s.writeOn(store);
    store.run('addInto', [d, d], 3); // written and read through one buffer: not allowed
    expect(() => s.read()).toThrow(/webgpu run: .*addInto: operand 0 is written and also read as operand 0|webgpu addInto/);
  });
});
