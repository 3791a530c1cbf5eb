/**
 * Storage owned by a backend (core/tensor-storage.ts): where a tensor's values live, what crosses
 * between host and device and when, on the simulated device of spec/device-sim.ts.
 *
 * - The storage's copies: each move happens once, only when the other side is stale, and is
 *   counted in `transfers`.
 * - A chain of device kernels keeps its intermediates on the device: only the inputs go up and only
 *   what the host reads comes down.
 * - Three training steps of the MLA backbone on the device give the cpu backend's numbers bit for
 *   bit (the device runs the cpu kernels, so every difference would be an operand moved wrongly),
 *   and the bytes that cross are what the steps start from and what the test reads, nothing else.
 * - The training loop's iteration (reid/train/step.ts: ClusterNCE, backward, Adam, the finiteness
 *   checks, the memory update) equals the cpu backend's bit for bit, and moves per iteration only
 *   the batch and its cluster ids up, and the per-row losses and two flags down: no feature,
 *   gradient or memory row crosses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernels, setStateDtype, useBackend } from '../core/backend.ts';
import { TensorStorage, resetTransfers, transfers } from '../core/tensor-storage.ts';
import { SimBuffer, registerDeviceSim, simStore } from './device-sim.ts';
import { recycling } from '../core/tensor.ts';
import { threeTrainingSteps } from './backbone-steps.ts';
import { checkChainStaysOnDevice, checkStepTransfers } from './device-checks.ts';
import { Rng } from '../core/random.ts';
import { Tensor } from '../core/tensor.ts';
import { RESNET_CPU_TINY, ReIDBackbone, backboneOptions, trainableParameters } from '../nn/backbone.ts';
import { Adam } from '../nn/optim.ts';
import { ClusterMemory } from '../cluster/memory.ts';
import { trainingStep } from '../reid/train/step.ts';
import { knn } from '../cluster/knn.ts';
import { blockPairs } from '../cluster/knn-block.ts';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('TensorStorage: host and device copies', () => {
  it('moves values only when the other side is stale, and counts each move', () => {
    resetTransfers();
    const s = new TensorStorage(f32(1, -2, 3));
    expect(s.where).toBe('host');
    const d = s.readOn(simStore);
    expect(s.where).toBe('both');
    expect(transfers).toMatchObject({ uploads: 1, uploadBytes: 12, downloads: 0 });
    expect(s.readOn(simStore)).toBe(d); // current: no second upload
    expect(transfers.uploads).toBe(1);
    // a device kernel writes it: the host copy is stale and comes back once, on the first read
    s.writeOn(simStore);
    expect(s.where).toBe('device');
    expect(Array.from(s.read())).toEqual([1, -2, 3]);
    expect(s.where).toBe('both');
    s.read();
    expect(transfers).toMatchObject({ uploads: 1, downloads: 1, downloadBytes: 12 });
    // a host write makes the device copy stale: the next device read uploads again
    s.write()[0] = 5;
    expect(s.where).toBe('host');
    s.readOn(simStore);
    expect(transfers.uploads).toBe(2);
    // overwrite(): no download of what is about to be replaced
    s.writeOn(simStore);
    s.overwrite();
    expect(transfers.downloads).toBe(1);
  });

  it('an output never written reads as zeros; an overwritten one takes no upload', () => {
    resetTransfers();
    const s = new TensorStorage('float32', 4);
    expect(s.where).toBe('none');
    s.overwriteOn(simStore);
    expect(transfers.uploads).toBe(0);
    expect(new TensorStorage('float32', 2).read()).toEqual(f32(0, 0));
  });

  it('float64 stays on the host, a storage stays with one device, both said plainly', () => {
    expect(() => new TensorStorage(Float64Array.of(1)).readOn(simStore)).toThrow(/float64 tensor cannot go to the device/);
    const other = { ...simStore, name: 'other-device' };
    const s = new TensorStorage(f32(1));
    s.readOn(simStore);
    expect(() => s.readOn(other)).toThrow(/other-device: this tensor already lives on device-sim/);
  });
});

describe('ops on the simulated device', () => {
  beforeAll(() => {
    registerDeviceSim();
    useBackend('device-sim');
  });
  afterAll(() => useBackend('cpu'));

  it('a chain of device kernels keeps its intermediates on the device', checkChainStaysOnDevice);

  it('a recycling scope gives back the device buffers of the tensors made in it, not of those made before', () => {
    const released: SimBuffer[] = [];
    const release = simStore.release!;
    simStore.release = (b) => { released.push(b as SimBuffer); release(b); };
    try {
      const w = new TensorStorage(f32(1, 2, 3)); // made outside: a parameter
      const kept = recycling(() => {
        const y = new TensorStorage('float32', 3);
        kernels.relu(w, y);
        return Array.from(y.read());
      });
      expect(kept).toEqual([1, 2, 3]);
      expect(released).toHaveLength(1);
      expect(released[0].values.every(Number.isNaN)).toBe(true);
      expect(Array.from(w.read())).toEqual([1, 2, 3]);
      resetTransfers();
      w.readOn(simStore);
      expect(transfers.uploads).toBe(0); // w's device copy is still current
    } finally {
      simStore.release = release;
    }
  });

  it('a host array given to a device kernel travels there and, if written, back', () => {
    const y = new Float32Array(4).fill(1);
    resetTransfers();
    kernels.addInto(y, f32(1, 2, 3, 4));
    expect(Array.from(y)).toEqual([2, 3, 4, 5]);
    expect(transfers).toMatchObject({ uploads: 2, downloads: 1 });
  });

  it('three training steps of the MLA backbone equal the cpu backend bit for bit; no activation crosses', () => {
    // the cpu reference in the device's state precision (float32 BatchNorm statistics and Adam moments)
    useBackend('cpu');
    setStateDtype('float32');
    const cpu = threeTrainingSteps(2);
    setStateDtype(null);
    useBackend('device-sim');
    resetTransfers();
    const dev = threeTrainingSteps(2);
    expect(transfers.uploads).toBeGreaterThan(0); // the device really held operands
    expect(Array.from(dev.embedding)).toEqual(Array.from(cpu.embedding));
    expect([...dev.grads.keys()]).toEqual([...cpu.grads.keys()]);
    for (const [name, g] of cpu.grads) expect(Array.from(dev.grads.get(name)!), `d/d ${name}`).toEqual(Array.from(g));
    for (const [name, p] of cpu.params) expect(Array.from(dev.params.get(name)!), name).toEqual(Array.from(p));
    checkStepTransfers('device-sim', dev);
  });

  it('the training loop\'s iteration equals the cpu backend bit for bit and moves only the batch, its cluster ids, the per-row losses and flags', () => {
    const B = 8, K = 4;
    const iterations = () => {
      const model = new ReIDBackbone(backboneOptions(RESNET_CPU_TINY, { mla: { pla: true, hla: true, dla: true } }), { dtype: 'float32', rng: new Rng(5) });
      model.train();
      const named = model.namedParameters().filter(([, p]) => p.requiresGrad);
      const optimizer = new Adam(trainableParameters(model), { lr: 1e-3, weightDecay: 5e-4 });
      const rng = new Rng(6);
      const D = model.featureDim;
      const seed = Float32Array.from({ length: K * D }, () => rng.normal());
      const memory = ClusterMemory.init(seed, K, D, [0, 1, 2, 3], K, { init: 'centroid', mode: 'hard', momentum: 0.1 });
      const targets = Int32Array.from({ length: B }, (_, i) => i % K);
      const batch = () => Tensor.from(Array.from({ length: B * 3 * 128 * 64 }, () => rng.normal()), [B, 3, 128, 64]);
      const fail = (f: unknown) => new Error(`not finite: ${JSON.stringify(f)}`);
      const losses = [recycling(() => trainingStep(model, optimizer, memory, 0.05, named, batch(), targets, fail))];
      const x = batch();
      resetTransfers(); // the second iteration: parameters and moments are on the device already
      losses.push(recycling(() => trainingStep(model, optimizer, memory, 0.05, named, x, targets, fail)));
      const moved = { ...transfers };
      return { losses, moved, memory: Float32Array.from(memory.rows.read()), params: named.map(([, p]) => Float32Array.from(p.storage.read())), named, D };
    };
    useBackend('cpu');
    setStateDtype('float32');
    const cpu = iterations();
    setStateDtype(null);
    useBackend('device-sim');
    const dev = iterations();
    expect(dev.losses).toEqual(cpu.losses);
    expect(dev.memory).toEqual(cpu.memory);
    dev.params.forEach((p, i) => expect(p, dev.named[i][0]).toEqual(cpu.params[i]));
    const f = 4 * B * dev.D, mb = (b: number) => (b / 2 ** 20).toFixed(3);
    console.log(`device-sim, one training iteration (tiny MLA, batch ${B}, 128x64): ${dev.moved.uploads} uploads (${mb(dev.moved.uploadBytes)} MiB), ` +
      `${dev.moved.downloads} downloads (${mb(dev.moved.downloadBytes)} MiB); batch ${mb(4 * B * 3 * 128 * 64)} MiB, features ${mb(f)} MiB, ${dev.named.length} parameters`);
    // up: the batch and its B cluster ids; down: the B per-row losses, one flag for the features and the gradients, one for the parameters
    expect(dev.moved.uploads).toBe(2);
    expect(dev.moved.uploadBytes).toBe(4 * B * 3 * 128 * 64 + 4 * B);
    expect(dev.moved.downloads).toBe(3);
    expect(dev.moved.downloadBytes).toBe(4 * B + 4 + 4);
  });

  it('exact k-NN takes its features to the device once for all its blocks, and equals the cpu backend', () => {
    const N = 600, D = 64, block = 256;
    const rng = new Rng(8);
    const X = Float32Array.from({ length: N * D }, () => rng.normal());
    useBackend('cpu');
    const want = knn(X, N, D, 10, { block });
    useBackend('device-sim');
    resetTransfers();
    const got = knn(X, N, D, 10, { block });
    expect(Array.from(got.index)).toEqual(Array.from(want.index));
    expect(Array.from(got.dist)).toEqual(Array.from(want.dist));
    // X once, and nothing else: each block's product (a GEMM with beta = 0 that covers its C) only comes back
    expect(transfers.uploads).toBe(1);
    expect(transfers.uploadBytes).toBe(4 * N * D);
    expect(transfers.downloads).toBe(blockPairs(N, block).length);
  });
});
