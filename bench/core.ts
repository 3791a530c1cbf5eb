/**
 * Suite `core`: GEMM and Conv2d forward / backward (dx, dw) at ResNet-50 shapes, in GFLOP/s, for
 * this project's backends (core/backend.ts: `cpu` plain TypeScript, `wasm` WebAssembly SIMD, each on
 * 1 and 2 threads) against TensorFlow.js (tfjs-core with the cpu and wasm backends, one thread) in
 * the same run. Each of our rows also carries the `cpu` backend's value as a peer ('ours cpu ...'),
 * so the wasm/cpu ratio is read off the same run.
 *
 *   GEMM     512³ (every transpose case), 1024³, and the three GEMMs of each conv below for one
 *            image (fwd  W[O, CK]·cols[CK, P],  dw  dY[O, P]·colsᵀ,  dx  Wᵀ·dY), float32
 *   Conv2d   3×3 256→256 on 32×16, batch 16, padding 1   (layer3-like, a 256×128 input)
 *            1×1 1024→256 on 16×8, batch 64                (layer3 bottleneck entry)
 *            FLOP of each pass = 2·N·O·Ho·Wo·C·kh·kw; a training step's conv work = fwd + dx + dw.
 *
 * Operands of the wasm rows: the GEMM's A, B, C and the conv input live in the wasm memory, as a
 * training step's activations do (core/wasm/memory.ts); conv weights do not, as parameters do not;
 * each conv call runs in a recycling scope, as a training step does.
 *
 * How each number is taken (see bench/common.ts):
 * - GEMM: our four variants (cpu, wasm; 1 and 2 threads), tfjs-wasm's matMul and the wasm
 *   multiply-add peak (core/wasm/assembly/peak.ts: the micro-kernel's ceiling here) timed in turns
 *   (timeInterleaved), medians over the turns, so that their ratios see the same stretch of the
 *   machine's time (tfjs-cpu, when asked for, on its own after them); one wasm thread's row also
 *   gives its share of that peak;
 * - the rest: medians of benchmark.js samples;
 * - ours fwd: conv2d with nothing requiring a gradient.
 * - ours step (fwd + dx + dw): one forward recorded on the tape and its backward, timed together.
 * - ours dx: forward + backward with only x requiring a gradient, minus the fwd median;
 *   ours dw: the step minus that (fwd + dx) median; the three timed in turns (timeInterleaved).
 * - tfjs: NHWC tensors; fwd = tf.conv2d, dx = kernel Conv2DBackpropInput, dw = kernel
 *   Conv2DBackpropFilter. tfjs-wasm has no Conv2DBackpropFilter kernel, so its dw is computed the way
 *   a wasm user must: a conv2d of transposed x and dy (checked against tfjs-cpu's kernel first).
 * - Peers whose call at the full batch would take minutes run the same per-image shape at a smaller
 *   batch; the batch used is in the case name. GFLOP/s is per FLOP actually done, so rates compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tensor } from '../core/tensor.ts';
import { Rng } from '../core/random.ts';
import { backward, clearTape } from '../core/autograd.ts';
import { gemm } from '../core/gemm.ts';
import { conv2d } from '../core/ops/conv.ts';
import { useBackend } from '../core/backend.ts';
import { parallelGemm } from '../core/gemm-parallel.ts';
import { limitThreads } from '../core/thread-pool.ts';
import { alloc, recycling } from '../core/tensor.ts';
import { registerWasmBackend } from '../core/wasm/backend.ts';
import { loadWasmKernels, wasmGemm } from '../core/wasm/kernels.ts';
import { allocFloats } from '../core/wasm/memory.ts';
import { gflops, printTable, rowsFor, timeInterleaved, timeMedian, writeResults, type Row, type Variant } from './common.ts';

type Peer = 'tfjs-cpu' | 'tfjs-wasm';
/**
 * tfjs-wasm always; tfjs-cpu (plain JavaScript, 0.01-0.7 GFLOP/s: its conv step alone takes about
 * 20 minutes here) only with BENCH_TFJS_CPU=1.
 */
const PEERS: Peer[] = process.env.BENCH_TFJS_CPU === '1' ? ['tfjs-cpu', 'tfjs-wasm'] : ['tfjs-wasm'];

interface ConvShape {
  name: string;
  N: number; C: number; O: number; H: number; W: number; k: number; pad: number;
  /** Batch each peer runs for each pass (the per-image shape is unchanged). */
  peerBatch: Record<Peer, { fwd: number; dx: number; dw: number }>;
}

const CONVS: ConvShape[] = [
  {
    name: 'conv3x3 256->256 32x16', N: 16, C: 256, O: 256, H: 32, W: 16, k: 3, pad: 1,
    peerBatch: { 'tfjs-cpu': { fwd: 1, dx: 1, dw: 1 }, 'tfjs-wasm': { fwd: 16, dx: 1, dw: 16 } },
  },
  {
    name: 'conv1x1 1024->256 16x8', N: 64, C: 1024, O: 256, H: 16, W: 8, k: 1, pad: 0,
    peerBatch: { 'tfjs-cpu': { fwd: 8, dx: 8, dw: 1 }, 'tfjs-wasm': { fwd: 64, dx: 8, dw: 64 } },
  },
];

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 3);

/** Our variants, each run in the same process: backend × threads. */
const OURS = [
  { name: 'cpu 1 thread', backend: 'cpu', threads: 1 },
  { name: 'wasm 1 thread', backend: 'wasm', threads: 1 },
  { name: 'cpu 2 threads', backend: 'cpu', threads: 2 },
  { name: 'wasm 2 threads', backend: 'wasm', threads: 2 },
] as const;
type Ours = (typeof OURS)[number];

function activate(o: Ours): void {
  if (o.backend === 'wasm') {
    const failure = registerWasmBackend();
    if (failure) throw new Error(`bench core: the wasm backend did not load: ${failure}`);
  }
  useBackend(o.backend);
  limitThreads(o.threads);
}

/** The GEMM of a variant: the single-thread kernel, or the threaded one (shared operands). */
function gemmOf(o: Ours): typeof gemm {
  if (o.threads === 1) return o.backend === 'wasm' ? wasmGemm : gemm;
  return parallelGemm(o.backend === 'wasm' ? 'wasm' : 'ts');
}

function randomF32(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** For the wasm variants, a copy of `a` where that backend keeps a training step's tensors (its linear memory). */
function placed(a: Float32Array, o: Ours): Float32Array {
  if (o.backend !== 'wasm') return a;
  const r = allocFloats(a.length);
  if (!r) throw new Error('bench core: the wasm memory is full');
  r.set(a);
  return r;
}

async function useTfjs(peer: Peer): Promise<void> {
  if (peer === 'tfjs-wasm') {
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    setThreadsCount(1);
  }
  const ok = await tf.setBackend(peer === 'tfjs-cpu' ? 'cpu' : 'wasm');
  if (!ok) throw new Error(`bench core: TensorFlow.js backend ${peer} failed to initialise`);
  await tf.ready();
}

/** Time one tfjs call (the result is read back, so lazy backends finish the work). */
function timeTf(name: string, make: () => tf.Tensor): number {
  return timeMedian(name, () => {
    const t = make();
    t.dataSync();
    t.dispose();
  }, { samples: SAMPLES });
}

/** dw for stride 1 without Conv2DBackpropFilter: dw[i,j,c,o] = Σ_{n,y,x} xpad[n,y+i,x+j,c] dy[n,y,x,o]. */
function dwByConv(x: tf.Tensor4D, dy: tf.Tensor4D, pad: number): tf.Tensor {
  return tf.tidy(() => {
    const xT = tf.transpose(x, [3, 1, 2, 0]);   // [C, H, W, N]   as a batch of C images with N channels
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, O] as a filter
    // explicit tf.pad + 'valid': tfjs-wasm 4.22's conv2d with a numeric pad and this (large,
    // non-square) filter fails with "memory access out of bounds"
    const xp = pad ? tf.pad(xT, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : xT;
    const r = tf.conv2d(xp as tf.Tensor4D, dyT as tf.Tensor4D, 1, 'valid'); // [C, kh, kw, O]
    return tf.transpose(r, [1, 2, 0, 3]);       // [kh, kw, C, O]
  });
}

function tfConvPasses(s: ConvShape, peer: Peer, rng: Rng): { fwd: number; dx: number; dw: number } {
  const b = s.peerBatch[peer];
  const out: Record<string, number> = {};
  for (const pass of ['fwd', 'dx', 'dw'] as const) {
    const N = b[pass];
    const x = tf.tensor4d(randomF32(N * s.H * s.W * s.C, rng), [N, s.H, s.W, s.C]);
    const w = tf.tensor4d(randomF32(s.k * s.k * s.C * s.O, rng), [s.k, s.k, s.C, s.O]);
    const dy = tf.tensor4d(randomF32(N * s.H * s.W * s.O, rng), [N, s.H, s.W, s.O]);
    const attrs = { strides: [1, 1], pad: s.pad, dataFormat: 'NHWC' };
    const label = `${s.name} ${pass} ${peer}`;
    let secs: number;
    if (pass === 'fwd') secs = timeTf(label, () => tf.conv2d(x, w, 1, s.pad));
    else if (pass === 'dx') secs = timeTf(label, () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [N, s.H, s.W, s.C] }) as tf.Tensor);
    else if (peer === 'tfjs-wasm') secs = timeTf(label, () => dwByConv(x, dy, s.pad));
    else secs = timeTf(label, () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [s.k, s.k, s.C, s.O] }) as tf.Tensor);
    out[pass] = secs / N; // seconds per image
    tf.dispose([x, w, dy]);
  }
  return out as { fwd: number; dx: number; dw: number };
}

/** Check the wasm dw route against tfjs-cpu's Conv2DBackpropFilter on a small shape. */
async function checkDwByConv(): Promise<void> {
  const rng = new Rng(7);
  const [N, H, W, C, O, k, pad] = [2, 5, 4, 3, 4, 3, 1];
  const xs = randomF32(N * H * W * C, rng), dys = randomF32(N * H * W * O, rng);
  const results: Float32Array[] = [];
  for (const peer of ['tfjs-cpu', 'tfjs-wasm'] as const) {
    await useTfjs(peer);
    const x = tf.tensor4d(xs, [N, H, W, C]), dy = tf.tensor4d(dys, [N, H, W, O]);
    const r = peer === 'tfjs-cpu'
      ? tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad, dataFormat: 'NHWC', filterShape: [k, k, C, O] }) as tf.Tensor
      : dwByConv(x, dy, pad);
    results.push(r.dataSync() as Float32Array);
  }
  const worst = results[0].reduce((m, v, i) => Math.max(m, Math.abs(v - results[1][i])), 0);
  if (!(worst < 1e-4)) throw new Error(`bench core: the wasm dw route differs from Conv2DBackpropFilter by ${worst}`);
}

function oursConv(s: ConvShape, rng: Rng, o: Ours): { fwd: number; dx: number; dw: number; step: number } {
  activate(o);
  // x as an activation of a training step (in the backend's memory), w as a parameter (outside it)
  const x = new Tensor(placed(randomF32(s.N * s.C * s.H * s.W, rng), o), [s.N, s.C, s.H, s.W]);
  const w = new Tensor(randomF32(s.O * s.C * s.k * s.k, rng), [s.O, s.C, s.k, s.k]);
  const attrs = { stride: [1, 1] as [number, number], padding: [s.pad, s.pad] as [number, number] };
  const seed = randomF32(s.N * s.O * s.H * s.W, rng);
  // one recycling scope per call, as the training loop runs a step: outputs and gradients are reused
  const run = (gradX: boolean, gradW: boolean) => () => recycling(() => {
    x.requiresGrad = gradX;
    w.requiresGrad = gradW;
    x.grad = w.grad = null;
    clearTape();
    const y = conv2d(x, w, null, attrs);
    if (gradX || gradW) backward(y, seed);
    x.grad = w.grad = null;
  });
  // in turns, so that dx and dw, differences of these medians, are taken over the same stretches of the machine's time
  const [fwd, fwdDx, step] = timeInterleaved([
    { name: `${s.name} fwd ours ${o.name}`, fn: run(false, false) },
    { name: `${s.name} fwd+dx ours ${o.name}`, fn: run(true, false) },
    { name: `${s.name} step ours ${o.name}`, fn: run(true, true) },
  ], o.backend === 'cpu' ? SAMPLES : Math.max(SAMPLES, 5));
  return { fwd, dx: fwdDx - fwd, dw: step - fwdDx, step };
}

interface GemmCase { name: string; tA: boolean; tB: boolean; M: number; N: number; K: number }

const GEMMS: GemmCase[] = [
  { name: 'gemm 512x512x512 NN', tA: false, tB: false, M: 512, N: 512, K: 512 },
  { name: 'gemm 512x512x512 NT', tA: false, tB: true, M: 512, N: 512, K: 512 },
  { name: 'gemm 512x512x512 TN', tA: true, tB: false, M: 512, N: 512, K: 512 },
  { name: 'gemm 1024x1024x1024 NN', tA: false, tB: false, M: 1024, N: 1024, K: 1024 },
  { name: 'gemm conv3x3 fwd W.cols 256x512x2304 NN', tA: false, tB: false, M: 256, N: 512, K: 2304 },
  { name: 'gemm conv3x3 dw dY.colsT 256x2304x512 NT', tA: false, tB: true, M: 256, N: 2304, K: 512 },
  { name: 'gemm conv3x3 dx WT.dY 2304x512x256 TN', tA: true, tB: false, M: 2304, N: 512, K: 256 },
  { name: 'gemm conv1x1 fwd W.x 256x128x1024 NN', tA: false, tB: false, M: 256, N: 128, K: 1024 },
  { name: 'gemm conv1x1 dw dY.xT 256x1024x128 NT', tA: false, tB: true, M: 256, N: 1024, K: 128 },
  { name: 'gemm conv1x1 dx WT.dY 1024x128x256 TN', tA: true, tB: false, M: 1024, N: 128, K: 256 },
];

async function gemmRows(rng: Rng): Promise<Row[]> {
  const data = GEMMS.map((g) => ({
    a: randomF32(g.M * g.K, rng), b: randomF32(g.K * g.N, rng), c: alloc('float32', g.M * g.N) as Float32Array,
  }));
  // our four variants of each product and tfjs-wasm's matMul timed in turns (timeInterleaved), so
  // that their ratios (wasm ÷ cpu, 2 threads ÷ 1, ours ÷ tfjs-wasm) are not skewed by the machine's
  // drifting speed; tfjs and this project keep separate backends, so switching ours leaves tfjs's alone
  await useTfjs('tfjs-wasm');
  // the micro-kernel's ceiling on this machine, in the same turns: register-only multiply-adds
  const peakIterations = 2_000_000;
  const peak: Variant = { name: 'wasm multiply-add peak (1 thread, no memory)', fn: () => loadWasmKernels()!.multiplyAddPeak(peakIterations) };
  const byCase = GEMMS.map((g, i) => {
    const a = tf.tensor2d(data[i].a, g.tA ? [g.K, g.M] : [g.M, g.K]);
    const b = tf.tensor2d(data[i].b, g.tB ? [g.N, g.K] : [g.K, g.N]);
    const times = timeInterleaved([...OURS.map((o) => {
      const [a, b, c] = [data[i].a, data[i].b, data[i].c].map((v) => placed(v, o));
      const lda = g.tA ? g.M : g.K, ldb = g.tB ? g.K : g.N;
      const f = gemmOf(o);
      return { name: `${g.name} ours ${o.name}`, setup: () => activate(o), fn: () => f(g.tA, g.tB, g.M, g.N, g.K, 1, a, 0, lda, b, 0, ldb, 0, c, 0, g.N) };
    }), { name: `${g.name} tfjs-wasm`, fn: () => { const t = tf.matMul(a, b, g.tA, g.tB); t.dataSync(); t.dispose(); } }, peak], Math.max(SAMPLES, 5));
    tf.dispose([a, b]);
    return times;
  });
  const ours = OURS.map((_, v) => byCase.map((t) => t[v]));
  const peers: Record<Peer, number[]> = { 'tfjs-cpu': [], 'tfjs-wasm': byCase.map((t) => t[OURS.length]) };
  const peakGflops = byCase.map((t) => gflops(96 * peakIterations, t[OURS.length + 1]));
  if (PEERS.includes('tfjs-cpu')) {
    await useTfjs('tfjs-cpu');
    GEMMS.forEach((g, i) => {
      const a = tf.tensor2d(data[i].a, g.tA ? [g.K, g.M] : [g.M, g.K]);
      const b = tf.tensor2d(data[i].b, g.tB ? [g.N, g.K] : [g.K, g.N]);
      peers['tfjs-cpu'].push(timeTf(`${g.name} tfjs-cpu`, () => tf.matMul(a, b, g.tA, g.tB)));
      tf.dispose([a, b]);
    });
  }
  return GEMMS.flatMap((g, i) => {
    const flop = 2 * g.M * g.N * g.K;
    return OURS.flatMap((o, v) => {
      const cpuSame = OURS.findIndex((x) => x.backend === 'cpu' && x.threads === o.threads);
      const vsCpu: [string, number][] = o.backend === 'cpu' ? [] : [[`ours ${OURS[cpuSame].name}`, gflops(flop, ours[cpuSame][i])]];
      // one wasm thread against the multiply-add peak of the same turns: the ratio is the share of it reached
      const vsPeak: [string, number][] = o.name === 'wasm 1 thread' ? [[peak.name, peakGflops[i]]] : [];
      return rowsFor(`${g.name} [${o.name}]`, 'throughput', 'GFLOP/s', gflops(flop, ours[v][i]),
        [...vsCpu, ...PEERS.map((p): [string, number] => [p, gflops(flop, peers[p][i])]), ...vsPeak]);
    });
  });
}

export async function run(): Promise<void> {
  const rng = new Rng(2024);
  const rows: Row[] = [];
  rows.push(...await gemmRows(rng));
  await checkDwByConv();
  for (const s of CONVS) {
    const flopPerImage = 2 * s.O * s.H * s.W * s.C * s.k * s.k;
    const flop = flopPerImage * s.N;
    const ours = OURS.map((o) => oursConv(s, rng, o));
    const peer: Record<Peer, { fwd: number; dx: number; dw: number }> = {} as never;
    for (const p of PEERS) {
      await useTfjs(p);
      peer[p] = tfConvPasses(s, p, rng);
    }
    OURS.forEach((o, v) => {
      const cpuSame = OURS.findIndex((x) => x.backend === 'cpu' && x.threads === o.threads);
      const vsCpu = (value: (r: (typeof ours)[number]) => number): [string, number][] =>
        o.backend === 'cpu' ? [] : [[`ours ${OURS[cpuSame].name}`, value(ours[cpuSame])]];
      for (const pass of ['fwd', 'dx', 'dw'] as const) {
        const name = `${s.name} N${s.N} ${pass} [${o.name}]`;
        const mine = rowsFor(name, 'throughput', 'GFLOP/s', gflops(flop, ours[v][pass]), vsCpu((r) => gflops(flop, r[pass])));
        const theirs = PEERS.map((p): Row => {
          const value = gflops(flopPerImage, peer[p][pass]);
          const batch = s.peerBatch[p][pass];
          return { ...mine[0], case: batch === s.N ? name : `${name} (peer at batch ${batch})`, value, peer: p, ratio: mine[0].value / value };
        });
        rows.push(...mine, ...theirs);
      }
      // A whole training step's conv work: forward, dx and dw of this layer.
      const stepName = `${s.name} N${s.N} step fwd+dx+dw [${o.name}]`;
      const peerStep = (p: Peer) => gflops(3 * flopPerImage, peer[p].fwd + peer[p].dx + peer[p].dw);
      rows.push(...rowsFor(stepName, 'throughput', 'GFLOP/s', gflops(3 * flop, ours[v].step),
        [...vsCpu((r) => gflops(3 * flop, r.step)), ...PEERS.map((p): [string, number] => [p, peerStep(p)])]));
    });
  }
  limitThreads(Infinity);
  useBackend('cpu');
  printTable(rows);
  console.log(`written: ${writeResults('core', rows)}`);
}
