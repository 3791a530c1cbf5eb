/**
 * One ResNet-50 + MLA (PLA, HLA, DLA) training iteration on `--backend gpu` -- every GEMM on the
 * gpu.js webgpu backend, everything else on the host, as `npm run train -- --backend gpu` runs it --
 * or, with MLA_STEP_BACKEND=webgpu, on the device-resident `webgpu` backend (gpu/device-store/:
 * tensors stay on the device; the line also gives the bytes that crossed) -- at the paper's size:
 * batch 64 (MLA_STEP_BATCH: 16 pseudo-identities x 4), 256x128, float32. One iteration is the
 * training loop's (reid/train/step.ts): forward, ClusterNCE against a memory of 500 clusters,
 * backward, Adam, the finiteness checks and the batch-hard memory update; its time ends with a read
 * that waits for all of it on the device. Then feature extraction (eval mode, no tape) of
 * MLA_STEP_BATCH images with the features read back, timed the same way, and the time it implies
 * for Market-1501's 12,936 images. Run by gpu/device/run-on-gpu.sh beside gpu/device/torch-step.py
 * (PyTorch on the same card, the same iteration).
 *
 * Prints one JSON line per step: {case, step, seconds, ...}, then one for extraction (MLA_STEP_EXTRACT=0: none). Step 1
 * includes building the kernels; MLA_STEP_ITERS (default 2) steps in all. Exits 1 with the reason on
 * any error.
 * MLA_STEP_MODEL=tiny swaps in the default profile's tiny backbone at 128x64 (a smoke test of this
 * script on SwiftShader: `MLA_STEP_MODEL=tiny MLA_STEP_BATCH=2 MLA_STEP_ITERS=1 npx tsx gpu/device/resnet-step.ts`).
 */
import { Tensor } from '../../core/tensor.ts';
import { TensorStorage } from '../../core/tensor-storage.ts';
import { noGrad } from '../../core/autograd.ts';
import * as F from '../../core/ops/index.ts';
import { Rng } from '../../core/random.ts';
import { ClusterMemory } from '../../cluster/memory.ts';
import { trainingStep } from '../../reid/train/step.ts';
import { defaultInit } from '../../nn/module.ts';
import { Adam } from '../../nn/optim.ts';
import { ReIDBackbone, RESNET50, RESNET_CPU_TINY, backboneOptions, trainableParameters } from '../../nn/backbone.ts';
import { kernels, registerKernel, useBackend } from '../../core/backend.ts';
import { resetTransfers, transfers } from '../../core/tensor-storage.ts';
import { createGpuBackend } from '../backend.ts';
import { registerWebGpuBackend, startWebGpuStore } from '../device-store/store.ts';

const batch = Number(process.env.MLA_STEP_BATCH ?? 64);
const iters = Number(process.env.MLA_STEP_ITERS ?? 2);
const software = process.env.MLA_GPU_HARDWARE === '1' ? 'never' : 'fallback';

const resident = process.env.MLA_STEP_BACKEND === 'webgpu';

try {
  let gemmCalls = 0;
  let describe: string;
  let close: () => Promise<void>;
  if (resident) {
    const store = await startWebGpuStore(software);
    registerWebGpuBackend(store);
    useBackend('webgpu', store.describe());
    describe = store.describe();
    close = () => store.close();
  } else {
    const gpu = await createGpuBackend('webgpu', { software });
    registerKernel({ kernel: 'gemm', backend: 'gpu', fn: (...a) => { gemmCalls++; gpu.gemm(...a); } });
    useBackend('gpu', `gpu.js ${gpu.describe()}`);
    describe = gpu.describe();
    close = () => gpu.destroy();
  }
  const tiny = process.env.MLA_STEP_MODEL === 'tiny';
  const opts = backboneOptions(tiny ? RESNET_CPU_TINY : RESNET50, { mla: { pla: true, hla: true, dla: true } });
  const [H, W] = opts.inputSize;
  const model = new ReIDBackbone(opts, defaultInit(0));
  model.train();
  const rng = new Rng(1);
  /** A new batch on the host each time, as the loader gives one: its upload is part of what is timed. */
  const images = () => Tensor.from<['N', 'C', 'H', 'W']>(Array.from({ length: batch * 3 * H * W }, () => rng.normal()), [batch, 3, H, W]);
  const D = model.featureDim;
  const clusters = 500;
  const seed = noGrad(() => F.l2Normalize(Tensor.from(Array.from({ length: clusters * D }, () => rng.normal()), [clusters, D])));
  const memory = ClusterMemory.init(seed.storage.read(), clusters, D, Array.from({ length: clusters }, (_, i) => i), clusters,
    { init: 'centroid', mode: 'hard', momentum: 0.1 });
  const targets = Int32Array.from({ length: batch }, (_, i) => (7 * Math.floor(i / 4)) % clusters);
  const opt = new Adam(trainableParameters(model), { lr: 1.6e-4, weightDecay: 5e-4 });
  const named = model.namedParameters().filter(([, p]) => p.requiresGrad);
  const fail = (f: unknown) => new Error(`not finite: ${JSON.stringify(f)}`);
  /** Waits for everything queued on the device: one flag of the memory's finiteness (4 bytes) read back. */
  const settle = () => {
    const flag = new TensorStorage('float32', 1);
    kernels.nonFinite(memory.rows.length, memory.rows, flag, 0);
    if (flag.read()[0] !== 0) throw new Error('the memory is not finite');
  };
  const name = `${tiny ? 'tiny' : 'ResNet-50'} + MLA`;
  for (let step = 1; step <= iters; step++) {
    gemmCalls = 0;
    const x = images();
    resetTransfers();
    const t0 = performance.now();
    const loss = trainingStep(model, opt, memory, 0.05, named, x, targets, fail);
    settle();
    const seconds = (performance.now() - t0) / 1000;
    const crossed = resident ? { uploadMiB: transfers.uploadBytes / 2 ** 20, downloadMiB: transfers.downloadBytes / 2 ** 20 } : { gemmCalls };
    console.log(JSON.stringify({
      case: `${name} training iteration ${batch}x3x${H}x${W} (${resident ? 'webgpu, device-resident' : '--backend gpu'})`,
      step, seconds, loss, ...crossed, backend: describe,
    }));
  }
  if (process.env.MLA_STEP_EXTRACT === '0') {
    await close();
    process.exit(0);
  }
  model.eval();
  const extract = (x: ReturnType<typeof images>) => noGrad(() => model.forward(x).storage.read());
  extract(images()); // eval mode's first pass builds what it needs
  const x = images();
  const t0 = performance.now();
  extract(x);
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({
    case: `${name} feature extraction ${batch}x3x${H}x${W}, features read back`, seconds, imagesPerSecond: batch / seconds,
    market1501Seconds: 12936 / (batch / seconds), backend: describe,
  }));
  await close();
  process.exit(0);
} catch (e) {
  console.error(`resnet-step: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
}
