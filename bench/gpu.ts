/**
 * Benchmark suite `gpu`: the tiled WGSL GEMM (gpu/wgsl/gemm.ts) beside gpu.js's naive GEMM at the same
 * shapes in one run, and both vs core/gemm.ts, at ResNet-50 shapes (256x128 input, one image) and the
 * tiny model's conv1 weight gradient.
 *
 * Rows (bench/results/gpu.json, {case, metric, value, unit, peer, ratio, machine}):
 *   gemm <shape> <engine> on <backend>   GFLOP/s of the host-array gemm (the synchronous face training
 *                                        uses: upload + kernel + readback through the sync-gemm worker),
 *                                        peer core/gemm.ts
 *   matmul-resident <shape> <engine> ... GFLOP/s of the device-resident matmul (operands already on the
 *                                        device, timed through the readback that proves completion)
 *   wgsl/gpu.js <face> <shape>           speedup: WGSL's GFLOP/s over gpu.js's at the same shape and
 *                                        face (value and ratio), peer gpu.js webgpu
 * Backends: webgpu on whatever adapter exists (a real GPU if present, else SwiftShader, named in the
 * row) with gemm 'wgsl' and with gemm 'gpujs', and gpu.js cpu mode (BENCH_GPUJS_CPU=1; slow).
 * Median of 3 runs after one warm-up. On a hardware adapter two larger products are added
 * (HARDWARE_SHAPES). About 3-4 minutes on SwiftShader (gpu.js's GEMM is the slow part).
 * Run: `npm run bench -- gpu` or `npx tsx bench/gpu.ts`.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemm } from '../core/gemm.ts';
import { writeFileAtomic } from '../core/safetensors.ts';
import { createGpuBackend, type GpuBackend } from '../gpu/backend.ts';

type Shape = [name: string, transA: boolean, transB: boolean, M: number, N: number, K: number];

interface Row { case: string; metric: string; value: number; unit: string; peer: string; ratio: number; machine: string }

/**
 * [name, transA, transB, M, N, K]: conv as GEMM, M = Cout, N = Ho*Wo, K = Cin*kh*kw (ResNet-50,
 * 256x128 input; the tiny model's conv1 weight gradient dy x cols^T at 128x64, K = Ho*Wo).
 * The K = 2304 row sums all 2304 terms only since issue 12's fix (gpu/kernel-runner.ts raises gpu.js's
 * loopMaxIterations): before it the kernel stopped after 1000 terms while the row counted 2*M*N*K
 * flops, so every gpu.js K = 2304 number measured earlier overstated throughput about 2.3x.
 * spec/gpu-long-loops.test.ts checks this shape's result against core/gemm.ts.
 */
const SHAPES: Shape[] = [
  ['layer1 1x1 64->256 @64x32', false, false, 256, 2048, 64],
  ['layer3 3x3 256->256 @16x8', false, false, 256, 128, 2304],
  ['tiny conv1 dW @128x64', false, true, 8, 147, 2048],
];

/**
 * Hardware adapters only (minutes on SwiftShader): a batch-level product, the layer3 3x3 forward over
 * 32 images as one GEMM (what a device-resident backend would issue; 32 keeps B under 2^24, the
 * limit matmul still shares with gpu.js), and a square one.
 */
const HARDWARE_SHAPES: Shape[] = [
  ['layer3 3x3 256->256 @16x8, batch 32', false, false, 256, 4096, 2304],
  ['square 2048', false, false, 2048, 2048, 2048],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(reps: number, f: () => unknown): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f();
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
}

export async function run(): Promise<void> {
  const machine = `${cpus().length}x ${cpus()[0]?.model ?? 'cpu'}`;
  const rows: Row[] = [];
  const backends: GpuBackend[] = [];
  for (const engine of ['wgsl', 'gpujs'] as const) {
    try {
      backends.push(await createGpuBackend('webgpu', { software: 'fallback', gemm: engine }));
    } catch (e) {
      console.log(`webgpu (${engine}) unavailable: ${(e as Error).message}`);
    }
  }
  if (process.env.BENCH_GPUJS_CPU === '1') backends.push(await createGpuBackend('cpu'));
  const label = (be: GpuBackend) => `${be.mode === 'webgpu' ? be.gemmEngine : 'gpujs'} on ${be.describe()}`;
  const hardware = backends.some((b) => b.mode === 'webgpu' && !b.install?.software);
  for (const [name, tA, tB, M, N, K] of hardware ? [...SHAPES, ...HARDWARE_SHAPES] : SHAPES) {
    const A = rand(M * K), B = rand(K * N), C = new Float32Array(M * N);
    const [lda, ldb] = [tA ? M : K, tB ? K : N];
    const flop = 2 * M * N * K;
    const peerS = await timeIt(3, () => gemm(tA, tB, M, N, K, 1, A, 0, lda, B, 0, ldb, 0, C, 0, N));
    const peer = flop / peerS / 1e9;
    rows.push({ case: `gemm ${name} core/gemm.ts`, metric: 'throughput', value: peer, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: 1, machine });
    const speed = new Map<string, number>(); // `${face} ${engine}` -> GFLOP/s (webgpu only)
    for (const be of backends) {
      const first = rows.length;
      const reps = 3;
      const s = await timeIt(reps, () => be.gemm(tA, tB, M, N, K, 1, A, 0, lda, B, 0, ldb, 0, C, 0, N));
      const v = flop / s / 1e9;
      rows.push({ case: `gemm ${name} ${label(be)}`, metric: 'throughput', value: v, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: v / peer, machine });
      if (be.mode === 'webgpu') {
        speed.set(`gemm ${be.gemmEngine}`, v);
        const dA = await be.upload(A), dB = await be.upload(B);
        const t = await timeIt(reps, async () => {
          const out = await be.matmul(dA, dB, M, N, K, { transA: tA, transB: tB });
          await be.read(out);
          be.free(out);
        });
        const vr = flop / t / 1e9;
        speed.set(`matmul-resident ${be.gemmEngine}`, vr);
        rows.push({ case: `matmul-resident ${name} ${label(be)}`, metric: 'throughput', value: vr, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: vr / peer, machine });
        be.free(dA, dB);
      }
      console.log(rows.slice(first).map((r) => `${r.case}: ${r.value.toFixed(3)} ${r.unit} (x${r.ratio.toFixed(3)} core/gemm.ts)`).join('\n'));
    }
    for (const face of ['gemm', 'matmul-resident']) {
      const w = speed.get(`${face} wgsl`), g = speed.get(`${face} gpujs`);
      if (w === undefined || g === undefined) continue;
      const adapter = backends.find((b) => b.mode === 'webgpu')!.describe();
      rows.push({ case: `wgsl/gpu.js ${face} ${name} on ${adapter}`, metric: 'speedup', value: w / g, unit: 'x', peer: 'gpu.js webgpu', ratio: w / g, machine });
      console.log(`wgsl/gpu.js ${face} ${name}: x${(w / g).toFixed(2)} (${w.toFixed(3)} vs ${g.toFixed(3)} GFLOP/s)`);
    }
  }
  for (const be of backends) await be.destroy();
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'gpu.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
