/**
 * ResNet suite: images/s of the re-ID backbone (nn/backbone.ts) for
 *   - feature extraction: eval mode, no tape, batch 32 (the per-epoch feature pass),
 *   - a training step: train mode, forward + backward + Adam (nn/optim.ts), batch 16
 *     (stand-in loss: −mean ⟨embedding, fixed random unit target⟩),
 * for ResNet-50 at 256×128 (last stride 1) and for the CPU presets (RESNET_CPU, RESNET_CPU_TINY;
 * 128×64, batch 32 for both metrics), each as the baseline and with all of MLA (PLA → HLA → DLA in every layer4 block).
 *
 * Ours runs on the `wasm` backend and, for the CPU presets, also on the `cpu` reference backend
 * (a ResNet-50 step on `cpu` takes minutes: RESNET_BENCH_CPU_BACKEND=1 adds it). When Debian's
 * python3-torch (+ python3-torchvision) is installed, bench/resnet_peer.py times the same models in
 * PyTorch with torch.set_num_threads(1) and (2), in the same run; ratio = our images/s ÷ the peer's
 * (below 1: we are slower). The wasm rows also carry the cpu backend as a peer ('ours cpu').
 *
 * Rows (bench/results/resnet.json): {case, metric, value, unit, peer, peerValue, ratio, machine}.
 * Env: RESNET_BENCH_ITERS (timed iterations, default 1 for ResNet-50 and 3 for the CPU preset),
 * RESNET_BENCH_ONLY=cpu|resnet50 to run one model size. `npm run bench -- resnet` or `npx tsx bench/resnet.ts`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Tensor, recycling } from '../core/tensor.ts';
import { backward, noGrad } from '../core/autograd.ts';
import * as F from '../core/ops/index.ts';
import { Rng } from '../core/random.ts';
import { defaultInit } from '../nn/module.ts';
import { Adam } from '../nn/optim.ts';
import { ReIDBackbone, RESNET50, RESNET_CPU, RESNET_CPU_TINY, backboneOptions, trainableParameters, type BackboneOptions } from '../nn/backbone.ts';
import { useBackend } from '../core/backend.ts';
import { registerWasmBackend } from '../core/wasm/backend.ts';
import { mergeResults } from './common.ts';

const PYTHON = '/usr/bin/python3';
const here = dirname(fileURLToPath(import.meta.url));

interface Row { case: string; metric: string; value: number; unit: string; peer: string | null; peerValue: number | null; ratio: number | null; machine: string }

interface Setup { name: string; opts: BackboneOptions; extractBatch: number; trainBatch: number; iters: number }

function setups(): Setup[] {
  const itersEnv = Number(process.env.RESNET_BENCH_ITERS) || 0;
  const only = process.env.RESNET_BENCH_ONLY;
  const all = { pla: true, hla: true, dla: true };
  const out: Setup[] = [];
  if (only !== 'resnet50') {
    out.push({ name: 'cpu-preset 128x64 baseline', opts: RESNET_CPU, extractBatch: 32, trainBatch: 32, iters: itersEnv || 3 });
    out.push({ name: 'cpu-preset 128x64 all-MLA', opts: backboneOptions(RESNET_CPU, { mla: all }), extractBatch: 32, trainBatch: 32, iters: itersEnv || 3 });
    out.push({ name: 'cpu-tiny 128x64 baseline', opts: RESNET_CPU_TINY, extractBatch: 32, trainBatch: 32, iters: itersEnv || 3 });
    out.push({ name: 'cpu-tiny 128x64 all-MLA', opts: backboneOptions(RESNET_CPU_TINY, { mla: all }), extractBatch: 32, trainBatch: 32, iters: itersEnv || 3 });
  }
  if (only !== 'cpu') {
    out.push({ name: 'resnet50 256x128 baseline', opts: RESNET50, extractBatch: 32, trainBatch: 16, iters: itersEnv || 1 });
    out.push({ name: 'resnet50 256x128 all-MLA', opts: backboneOptions(RESNET50, { mla: all }), extractBatch: 32, trainBatch: 16, iters: itersEnv || 1 });
  }
  return out;
}

function images(n: number, [h, w]: [number, number], rng: Rng): Tensor<['N', 'C', 'H', 'W']> {
  const t = Tensor.zeros<['N', 'C', 'H', 'W']>([n, 3, h, w]);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

function timeIt(iters: number, warmup: boolean, fn: () => void): number {
  if (warmup) fn();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) fn();
  return (performance.now() - t0) / 1000 / iters;
}

function measureOurs(s: Setup, backend: 'cpu' | 'wasm'): { extract: number; train: number } {
  if (backend === 'wasm' && registerWasmBackend()) throw new Error('bench resnet: the wasm backend did not load');
  useBackend(backend);
  process.stderr.write(`  ${s.name} on ${backend}\n`);
  const rng = new Rng(1);
  const model = new ReIDBackbone(s.opts, defaultInit(0));
  const xe = images(s.extractBatch, s.opts.inputSize, rng);
  const xt = images(s.trainBatch, s.opts.inputSize, rng);
  const warm = s.iters > 1; // ResNet-50 steps take minutes here: no separate warm-up there
  model.eval();
  const tExtract = timeIt(s.iters, warm, () => { recycling(() => noGrad(() => model.forward(xe))); });
  model.train();
  const opt = new Adam(trainableParameters(model), { lr: 1.6e-4, weightDecay: 5e-4 });
  const D = model.featureDim;
  const target = noGrad(() => F.l2Normalize(Tensor.from(Array.from({ length: s.trainBatch * D }, () => rng.normal()), [s.trainBatch, D])));
  // as in the training loop (reid/train/loop.ts): each step recycles the last one's storage
  const tTrain = timeIt(s.iters, warm, () => recycling(() => {
    const e = model.forward(xt);
    // stand-in loss: −mean_n ⟨e_n, target_n⟩ (the ClusterNCE pieces cost nothing next to the backbone)
    backward(F.mulScalar(F.mean(F.mul(e, target)), -D));
    opt.update();
    opt.zeroGrad();
  }));
  return { extract: s.extractBatch / tExtract, train: s.trainBatch / tTrain };
}

function measurePeer(s: Setup, threads: number): { extract: number; train: number } | null {
  if (!existsSync(PYTHON)) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const cfg = { depths: s.opts.depths, width: s.opts.baseWidth, size: s.opts.inputSize, mla: s.opts.mla.hla,
    extract_batch: s.extractBatch, train_batch: s.trainBatch, iters: Math.max(s.iters, 2) };
  const r = spawnSync(PYTHON, [join(here, 'resnet_peer.py'), String(threads), JSON.stringify(cfg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/resnet_peer.py failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const get = (m: string) => { const l = lines.find((x) => x.metric === m); return l.images / l.seconds; };
  return { extract: get('extract'), train: get('train') };
}

export async function run(): Promise<void> {
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
  const rows: Row[] = [];
  for (const s of setups()) {
    const withCpu = !s.name.startsWith('resnet50') || process.env.RESNET_BENCH_CPU_BACKEND === '1';
    const wasm = measureOurs(s, 'wasm');
    const cpu = withCpu ? measureOurs(s, 'cpu') : null;
    const peers = [1, 2].map((t) => ({ t, r: measurePeer(s, t) }));
    for (const [backend, ours] of [['wasm', wasm], ['cpu', cpu]] as const) {
      if (!ours) continue;
      const name = `${s.name} [${backend}]`;
      for (const metric of ['extract', 'train'] as const) {
        const batch = metric === 'extract' ? s.extractBatch : s.trainBatch;
        const label = metric === 'extract' ? `feature extraction (eval, batch ${batch})` : `training step (fwd+bwd+Adam, batch ${batch})`;
        const others: [string, number][] = peers.filter(({ r }) => r).map(({ t, r }) => [`pytorch ${t} thread${t > 1 ? 's' : ''}`, r![metric]]);
        if (backend === 'wasm' && cpu) others.unshift(['ours cpu', cpu[metric]]);
        for (const [peer, v] of others) rows.push({ case: name, metric: label, value: ours[metric], unit: 'images/s', peer, peerValue: v, ratio: ours[metric] / v, machine });
        if (!others.length) rows.push({ case: name, metric: label, value: ours[metric], unit: 'images/s', peer: null, peerValue: null, ratio: null, machine });
        console.log(`${name.padEnd(34)} ${label.padEnd(42)} ${ours[metric].toFixed(2).padStart(8)} img/s` +
          others.map(([peer, v]) => `  | ${peer}: ${v.toFixed(2)} img/s, ratio ${(ours[metric] / v).toFixed(3)}`).join(''));
      }
    }
  }
  useBackend('cpu');
  // a partial run (RESNET_BENCH_ONLY) keeps the other model size's rows from the last run
  const file = join(here, 'results', 'resnet.json');
  mergeResults(file, rows);
  console.log(`wrote ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run();
