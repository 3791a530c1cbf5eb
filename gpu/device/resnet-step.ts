/**
 * One ResNet-50 + MLA (PLA, HLA, DLA) training step on `--backend gpu` -- every GEMM on the gpu.js
 * webgpu backend, everything else on the host, as `npm run train -- --backend gpu` runs it -- or, with
 * MLA_STEP_BACKEND=webgpu, on the device-resident `webgpu` backend (gpu/device-store/: tensors stay
 * on the device; the line also gives the bytes that crossed) -- at the paper's size: batch 64 (MLA_STEP_BATCH), 256x128, float32. One step = forward + backward + Adam,
 * with bench/resnet.ts's stand-in loss (-mean <e_n, target_n>; ClusterNCE costs nothing beside it).
 * Run by gpu/device/run-on-gpu.sh beside gpu/device/torch-step.py (PyTorch on the same card).
 *
 * Prints one JSON line per step: {case, step, seconds, gemmCalls, backend}. Step 1 includes building
 * the kernels; MLA_STEP_ITERS (default 2) steps in all. Exits 1 with the reason on any error.
 * MLA_STEP_MODEL=tiny swaps in the default profile's tiny backbone at 128x64 (a smoke test of this
 * script on SwiftShader: `MLA_STEP_MODEL=tiny MLA_STEP_BATCH=2 MLA_STEP_ITERS=1 npx tsx gpu/device/resnet-step.ts`).
 */
import { Tensor } from '../../core/tensor.ts';
import { backward, noGrad } from '../../core/autograd.ts';
import * as F from '../../core/ops/index.ts';
import { Rng } from '../../core/random.ts';
import { defaultInit } from '../../nn/module.ts';
import { Adam } from '../../nn/optim.ts';
import { ReIDBackbone, RESNET50, RESNET_CPU_TINY, backboneOptions, trainableParameters } from '../../nn/backbone.ts';
import { registerKernel, useBackend } from '../../core/backend.ts';
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
  const x = Tensor.from<['N', 'C', 'H', 'W']>(Array.from({ length: batch * 3 * H * W }, () => rng.normal()), [batch, 3, H, W]);
  const D = model.featureDim;
  const target = noGrad(() => F.l2Normalize(Tensor.from(Array.from({ length: batch * D }, () => rng.normal()), [batch, D])));
  const opt = new Adam(trainableParameters(model), { lr: 1.6e-4, weightDecay: 5e-4 });
  for (let step = 1; step <= iters; step++) {
    gemmCalls = 0;
    resetTransfers();
    const t0 = performance.now();
    opt.zeroGrad();
    const e = model.forward(x);
    const loss = F.mulScalar(F.mean(F.mul(e, target)), -D);
    backward(loss);
    opt.update();
    const seconds = (performance.now() - t0) / 1000;
    if (!Number.isFinite(loss.data[0])) throw new Error(`step ${step}: loss is ${loss.data[0]}`);
    const crossed = resident ? { uploadMiB: transfers.uploadBytes / 2 ** 20, downloadMiB: transfers.downloadBytes / 2 ** 20 } : { gemmCalls };
    console.log(JSON.stringify({
      case: `${tiny ? 'tiny' : 'ResNet-50'} + MLA train step ${batch}x3x${H}x${W} (${resident ? 'webgpu, device-resident' : '--backend gpu'})`,
      step, seconds, ...crossed, backend: describe,
    }));
  }
  await close();
  process.exit(0);
} catch (e) {
  console.error(`resnet-step: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
}
