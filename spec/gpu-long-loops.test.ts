/**
 * Issue 12, part 1: gpu.js stops every loop whose bound is a kernel argument after
 * `loopMaxIterations` (1000 unless raised), so before gpu/kernel-runner.ts raised it every GEMM with
 * K > 1000 silently summed its first 1000 terms (an all-ones GEMM gave 1000 for K = 1001, 2048 and
 * 8192), and so did every reduction loop in gpu/kernels/*. The property tests in
 * spec/gpu-kernels.test.ts use K <= 24 and never saw it. This file runs the kernels at the lengths
 * the models really use, in every gpu.js mode:
 *
 *   host gemm, all ones        K = 1001, 2048, 8192, each transpose: every entry must be exactly K
 *   host gemm, real shapes     tiny (width 8) conv1 dW at 128x64: 8 x 147, K = 2048;
 *                              ResNet-50 (256x128) layer3 3x3 forward: 256 x 128, K = 2304;
 *                              layer4 3x3 forward (last stride 1, 16x8): 32 of 512 rows x 128, K = 4608;
 *                              conv1 dW: 64 x 147, K = 8192 (= 128 x 64 output positions)
 *   device conv2d              tiny conv1 at 128x64, batch 2: dW and db sum 2 x 2048 positions;
 *                              a 3x3 256-channel conv at 16x8: the forward sums K = 2304
 *   softmax                    rows of 1500 and 8192
 *   pairwise distances         D = 2048 (the ResNet-50 embedding)
 *
 * Tolerance as in gpu-kernels.test.ts: |got - ref| <= 2e-5 * (1 + sum of |terms|) against float64.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gemm } from '../core/gemm.ts';
import { createGpuBackend, type GpuBackend } from '../gpu/backend.ts';
import type { GpuMode } from '../gpu/kernel-runner.ts';
import {
  conv2dBackwardReference, conv2dReference, expectClose, outSize, pairwiseSqDistReference, randoms,
  softmaxReference, type Geo,
} from './gpu-reference.ts';

const HARDWARE = process.env.MLA_GPU_HARDWARE === '1';
const MODES: GpuMode[] = ['webgpu', 'webasm', 'cpu'];

describe.each(MODES)('gpu.js kernels at real lengths (> 1000 terms) in %s mode', (mode) => {
  let be: GpuBackend;
  beforeAll(async () => {
    be = await createGpuBackend(mode, { software: HARDWARE ? 'never' : 'always' });
  });
  afterAll(async () => {
    for (const [name, ran] of be.ranModes) expect(ran, `kernel ${name}`).toBe(mode);
    await be?.destroy();
  });

  it.each([1001, 2048, 8192])('an all-ones gemm sums all K = %i terms, in every transpose', (K) => {
    const [M, N] = [3, 5];
    const A = new Float32Array(M * K).fill(1);
    const B = new Float32Array(K * N).fill(1);
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const C = new Float32Array(M * N);
      be.gemm(tA, tB, M, N, K, 1, A, 0, tA ? M : K, B, 0, tB ? K : N, 0, C, 0, N);
      expect(Array.from(C), `K=${K} transA=${tA} transB=${tB}`).toEqual(new Array(M * N).fill(K));
    }
  });

  const SHAPES: [string, boolean, boolean, number, number, number][] = [
    ['tiny conv1 dW (128x64)', false, true, 8, 147, 2048],
    ['ResNet-50 layer3 3x3 forward', false, false, 256, 128, 2304],
    ['ResNet-50 layer4 3x3 forward, 32 of 512 rows', false, false, 32, 128, 4608],
    ['ResNet-50 conv1 dW (256x128)', false, true, 64, 147, 8192],
  ];
  it.each(SHAPES)('gemm at %s equals core/gemm.ts', (_name, tA, tB, M, N, K) => {
    const A = randoms(M * K, M + K);
    const B = randoms(K * N, N + K);
    const want = new Float64Array(M * N);
    gemm(tA, tB, M, N, K, 1, Float64Array.from(A), 0, tA ? M : K, Float64Array.from(B), 0, tB ? K : N, 0, want, 0, N);
    const got = new Float32Array(M * N);
    be.gemm(tA, tB, M, N, K, 1, A, 0, tA ? M : K, B, 0, tB ? K : N, 0, got, 0, N);
    expectClose(got, want, K, `gemm ${M}x${N}x${K}`);
  });

  it.each<[string, Geo, number]>([
    ['tiny conv1 at 128x64, batch 2', { B: 2, C: 3, H: 128, W: 64, kh: 7, kw: 7, sh: 2, sw: 2, ph: 3, pw: 3 }, 8],
    ['3x3 conv, 256 channels at 16x8', { B: 1, C: 256, H: 16, W: 8, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1 }, 8],
  ])('device conv2d forward and backward at %s equal direct convolution', async (_name, g, Cout) => {
    const { Ho, Wo } = outSize(g);
    const R = g.C * g.kh * g.kw;
    const P = Ho * Wo;
    const x = randoms(g.B * g.C * g.H * g.W, 1);
    const w = randoms(Cout * R, 2);
    const dy = randoms(g.B * Cout * P, 3);
    const [dx0, dw0, ddy] = [await be.upload(x), await be.upload(w), await be.upload(dy)];
    const fwd = await be.conv2dForward(dx0, dw0, null, Cout, g);
    expectClose(await be.read(fwd.y), conv2dReference(x, w, null, Cout, g), R, 'conv2d y');
    const bwd = await be.conv2dBackward(ddy, dw0, fwd.cols, Cout, g);
    const ref = conv2dBackwardReference(x, w, dy, Cout, g);
    expectClose(await be.read(bwd.dw), ref.dw, g.B * P, 'conv2d dW');
    expectClose(await be.read(bwd.db), ref.db, g.B * P, 'conv2d db');
    expectClose(await be.read(bwd.dx), ref.dx, Cout * g.kh * g.kw, 'conv2d dX');
    be.free(dx0, dw0, ddy, fwd.y, fwd.cols, bwd.dx, bwd.dw, bwd.db);
  });

  it.each([1500, 8192])('softmax over rows of %i sums (and normalises) every entry', async (L) => {
    const R = 3;
    // the row maximum sits at the row's end, past the first 1000 entries
    const x = randoms(R * L, L).map((v, i) => (i % L === L - 1 ? 20 : 4 * v));
    const dx = await be.upload(x);
    const y = await be.softmax(dx, R, L);
    const got = await be.read(y);
    expectClose(got, softmaxReference(x, R, L), L, `softmax ${R}x${L}`);
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let l = 0; l < L; l++) s += got[r * L + l];
      expect(Math.abs(s - 1), `row ${r} sums to ${s}`).toBeLessThan(1e-4);
    }
    be.free(dx, y);
  });

  it('pairwise squared distances sum all D = 2048 dimensions', async () => {
    const [n, m, d] = [4, 5, 2048];
    const X = randoms(n * d, 7), Y = randoms(m * d, 8);
    const [dX, dY] = [await be.upload(X), await be.upload(Y)];
    const D = await be.pairwiseSqDist(dX, dY, n, m, d);
    expectClose(await be.read(D), pairwiseSqDistReference(X, Y, n, m, d), 4 * d, `pairwise ${n}x${m}x${d}`);
    be.free(dX, dY, D);
  });
});
