/**
 * Issue 12, part 2: gpu.js computes index arithmetic in float32 (WGSL in webgpu mode, and its
 * WebAssembly), exact only for integers up to 2^24. Before gpu/kernel-runner.ts enforced the limit,
 * a gemm whose B held 16.8 M elements addressed 46 of its 33,600 outputs wrongly, silently.
 *
 * Both sides of the limit (the exact sides in the float32-index modes webgpu and webasm, the refusal
 * in every mode):
 *   - host gemm (the face `--backend gpu` trains with) past 2^24: an operand of 16.8 M elements and an
 *     output of 2^24 + 4096 elements are computed in blocks, exactly (small integers, exact sums);
 *   - device kernels exactly at 2^24 (an operand of 2^24 elements, last index 2^24 - 1) are exact;
 *   - device kernels past 2^24 are refused before they run, naming the kernel and the size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpuBackend, type GpuBackend, type DeviceArray } from '../gpu/backend.ts';
import type { GpuMode } from '../gpu/kernel-runner.ts';

/** gpu/kernel-runner.ts's MAX_INDEX, written out so this file also runs against code without it. */
const MAX_INDEX = 2 ** 24;

const HARDWARE = process.env.MLA_GPU_HARDWARE === '1';
const MODES: GpuMode[] = ['webgpu', 'webasm', 'cpu'];

/** Small integers (-3..3, -2..2) so float32 sums of up to 1000 products are exact. */
function ints(n: number, mod: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (i % mod) - (mod >> 1);
  return out;
}

/** Exact C = op(A) op(B) in float64 for row-major operands (transB: B stored [N, K]). */
function exact(A: Float32Array, B: Float32Array, M: number, N: number, K: number, transB: boolean): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k] * (transB ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = s;
    }
  }
  return C;
}

function countWrong(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad++;
  return bad;
}

describe.each(MODES)('gpu.js index limit (2^24) in %s mode', (mode) => {
  let be: GpuBackend;
  beforeAll(async () => {
    be = await createGpuBackend(mode, { software: HARDWARE ? 'never' : 'always' });
  });
  afterAll(async () => {
    await be?.destroy();
  });

  // float32 indices: webgpu and webasm (cpu mode indexes in float64 but runs the same host blocking
  // and is held to the same refusal)
  const f32Index = mode !== 'cpu';

  it.runIf(f32Index)('host gemm with an operand of 16.8 M elements (> 2^24) is exact', () => {
    const [M, N, K] = [2, 16800, 1000]; // B stored [N, K]: 16,800,000 elements
    const A = ints(M * K, 7), B = ints(N * K, 5);
    const C = new Float32Array(M * N);
    be.gemm(false, true, M, N, K, 1, A, 0, K, B, 0, K, 0, C, 0, N);
    expect(countWrong(C, exact(A, B, M, N, K, true)), `wrong outputs of ${M * N}`).toBe(0);
  });

  // the blocking is the same host code in every mode: webgpu alone keeps the test time down
  it.runIf(mode === 'webgpu')('host gemm with an output of 2^24 + 4096 elements, beta = 1, is exact', () => {
    const [M, N, K] = [4097, 4096, 2];
    const A = ints(M * K, 7), B = ints(K * N, 5);
    const C = new Float32Array(M * N);
    for (let i = 0; i < C.length; i++) C[i] = i % 3;
    const want = exact(A, B, M, N, K, false);
    for (let i = 0; i < want.length; i++) want[i] += i % 3;
    be.gemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 1, C, 0, N);
    expect(countWrong(C, want), `wrong outputs of ${M * N}`).toBe(0);
  });

  it.runIf(f32Index)('a device matmul whose operand has exactly 2^24 elements is exact', async () => {
    const [M, N, K] = [1, 32768, 512]; // B stored [N, K]: 2^24 elements, last index 2^24 - 1
    const A = ints(M * K, 7), B = ints(N * K, 5);
    const [dA, dB] = [await be.upload(A), await be.upload(B)];
    expect(dB.length).toBe(MAX_INDEX);
    const out = await be.matmul(dA, dB, M, N, K, { transB: true });
    expect(countWrong(await be.read(out), exact(A, B, M, N, K, true)), `wrong outputs of ${N}`).toBe(0);
    be.free(dA, dB, out);
  });

  it('a device kernel past 2^24 is refused before it runs, naming the kernel and the size', async () => {
    await expect(be.upload(new Float32Array(MAX_INDEX + 1))).rejects.toThrow(
      /^gpu copy: output of 16777217 elements is more than 2\^24 = 16777216.*refused before running/,
    );
    const A = ints(1024, 7);
    const dA = await be.upload(A);
    // an operand of 2^24 + 1024 elements, made without upload (which refuses it): the bmm check must fire
    const big: DeviceArray = mode === 'webgpu'
      ? { length: MAX_INDEX + 1024, handle: { output: [MAX_INDEX + 1024] } }
      : { length: MAX_INDEX + 1024, handle: new Float32Array(MAX_INDEX + 1024) };
    await expect(be.matmul(dA, big, 1, 16385, 1024, { transB: true })).rejects.toThrow(
      /^gpu bmm: B of 16778240 elements is more than 2\^24/,
    );
    be.free(dA);
  });
});
