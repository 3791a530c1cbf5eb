/**
 * Benchmark suite `gpu`: gpu.js GEMM vs core/gemm.ts at ResNet-50 shapes (256x128 input, one image).
 *
 * Rows (bench/results/gpu.json, {case, metric, value, unit, peer, ratio, machine}):
 *   gemm <shape> on <backend>   GFLOP/s of the host-array gemm (upload + kernel + readback), peer core/gemm.ts
 *   matmul-resident <shape>     GFLOP/s of the device-resident matmul (operands already on the device,
 *                               timed through the readback that proves completion), webgpu only
 * Backends: webgpu on whatever adapter exists (a real GPU if present, else SwiftShader, named in the
 * row), and gpu.js cpu mode. Median of `reps` runs after one warm-up.
 * Run: `npm run bench -- gpu` or `npx tsx bench/gpu.ts`.
 */
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gemm } from '../core/gemm.ts';
import { writeFileAtomic } from '../core/safetensors.ts';
import { createGpuBackend, type GpuBackend } from '../gpu/backend.ts';

interface Row { case: string; metric: string; value: number; unit: string; peer: string; ratio: number; machine: string }

/**
 * [name, M, N, K]: conv as GEMM, M = Cout, N = Ho*Wo, K = Cin*kh*kw (ResNet-50, 256x128 input).
 * The K = 2304 row sums all 2304 terms only since issue 12's fix (gpu/kernel-runner.ts raises gpu.js's
 * loopMaxIterations): before it the kernel stopped after 1000 terms while the row counted 2*M*N*K
 * flops, so every gpu.js K = 2304 number measured earlier overstated throughput about 2.3x.
 * spec/gpu-long-loops.test.ts checks this shape's result against core/gemm.ts.
 */
const SHAPES: [string, number, number, number][] = [
  ['layer1 1x1 64->256 @64x32', 256, 2048, 64],
  ['layer3 3x3 256->256 @16x8', 256, 128, 2304],
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
  try {
    backends.push(await createGpuBackend('webgpu', { software: 'fallback' }));
  } catch (e) {
    console.log(`webgpu unavailable: ${(e as Error).message}`);
  }
  backends.push(await createGpuBackend('cpu'));
  for (const [name, M, N, K] of SHAPES) {
    const A = rand(M * K), B = rand(K * N), C = new Float32Array(M * N);
    const flop = 2 * M * N * K;
    const peerS = await timeIt(3, () => gemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N));
    const peer = flop / peerS / 1e9;
    rows.push({ case: `gemm ${name} core/gemm.ts`, metric: 'throughput', value: peer, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: 1, machine });
    for (const be of backends) {
      const first = rows.length;
      const soft = be.mode === 'webgpu' && be.install?.software;
      const reps = soft ? 1 : 3;
      const s = await timeIt(reps, () => be.gemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N));
      const v = flop / s / 1e9;
      rows.push({ case: `gemm ${name} ${be.describe()}`, metric: 'throughput', value: v, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: v / peer, machine });
      if (be.mode === 'webgpu') {
        const dA = await be.upload(A), dB = await be.upload(B);
        const t = await timeIt(reps, async () => {
          const out = await be.matmul(dA, dB, M, N, K);
          await be.read(out);
          be.free(out);
        });
        const vr = flop / t / 1e9;
        rows.push({ case: `matmul-resident ${name} ${be.describe()}`, metric: 'throughput', value: vr, unit: 'GFLOP/s', peer: 'core/gemm.ts', ratio: vr / peer, machine });
        be.free(dA, dB);
      }
      console.log(rows.slice(first).map((r) => `${r.case}: ${r.value.toFixed(3)} ${r.unit} (x${r.ratio.toFixed(3)})`).join('\n'));
    }
  }
  for (const be of backends) await be.destroy();
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'gpu.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
