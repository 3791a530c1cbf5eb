/**
 * Every gpu.js kernel in gpu/ equals its CPU reference (core/gemm.ts or spec/gpu-reference.ts) on
 * random small shapes, in each gpu.js mode: 'webgpu' (on the SwiftShader software adapter when the
 * machine has no GPU -- the test FAILS if no adapter answers), 'webasm' and 'cpu'. After each
 * property the test asserts the kernels really ran in the requested mode (no silent cpu fallback).
 * MLA_GPU_HARDWARE=1 (gpu/device/run-on-gpu.sh) runs webgpu on the hardware adapter with no software
 * fallback, and fails if the adapter it got is a software one.
 * Tolerance: float32 kernels vs float64 references, |got - ref| <= 2e-5 * (1 + sum of |terms|).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gemm } from '../core/gemm.ts';
import { createGpuBackend, type GpuBackend, type DeviceArray } from '../gpu/backend.ts';
import type { GpuMode } from '../gpu/kernel-runner.ts';
import {
  bmmReference, col2imReference, conv2dBackwardReference, conv2dReference, im2colReference, outSize,
  pairwiseSqDistReference, softmaxBackwardReference, softmaxReference, type Geo, expectClose, randoms,
} from './gpu-reference.ts';

const HARDWARE = process.env.MLA_GPU_HARDWARE === '1';

const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });

const MODES: { mode: GpuMode; runs: number }[] = [
  { mode: 'webgpu', runs: 12 },
  { mode: 'webasm', runs: 15 },
  { mode: 'cpu', runs: 15 },
];

describe.each(MODES)('gpu.js kernels in $mode mode', ({ mode, runs }) => {
  let be: GpuBackend;
  const ran = new Set<string>();
  const up = async (a: Float32Array): Promise<DeviceArray> => be.upload(a);
  const read = async (a: DeviceArray): Promise<Float32Array> => be.read(a);

  beforeAll(async () => {
    // Fails (never skips) when no WebGPU adapter can be found, software fallback included.
    be = await createGpuBackend(mode, { software: HARDWARE ? 'never' : 'always' });
  });
  afterAll(async () => {
    // Everything the properties launched must have run in the requested mode.
    for (const name of ran) expect(be.ranModes.get(name), `kernel ${name}`).toBe(mode);
    await be?.destroy();
  });

  function ranIn(...names: string[]): void {
    for (const n of names) {
      expect(be.ranModes.get(n), `kernel ${n} ran in`).toBe(mode);
      ran.add(n);
    }
  }

  it('reports its backend', () => {
    const d = be.describe();
    expect(d.startsWith(mode)).toBe(true);
    if (mode === 'webgpu') {
      expect(be.install?.adapter.vendor.length).toBeGreaterThan(0);
      expect(d).toContain(be.install!.label);
      if (HARDWARE) expect(be.install!.software, `adapter ${d} is a software one`).toBe(false);
    }
  });

  it('gemm (host arrays) equals core/gemm.ts with transposes, offsets, strides, alpha, beta', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          M: fc.integer({ min: 1, max: 9 }), N: fc.integer({ min: 1, max: 9 }), K: fc.integer({ min: 1, max: 17 }),
          tA: fc.boolean(), tB: fc.boolean(), pad: fc.integer({ min: 0, max: 3 }), off: fc.integer({ min: 0, max: 5 }),
          alpha: fc.constantFrom(1, -0.5, 2), beta: fc.constantFrom(0, 1, 0.25), seed,
        }),
        async ({ M, N, K, tA, tB, pad, off, alpha, beta, seed }) => {
          const lda = (tA ? M : K) + pad;
          const ldb = (tB ? K : N) + pad;
          const ldc = N + pad;
          const A = randoms(off + (tA ? K : M) * lda, seed);
          const B = randoms(off + (tB ? N : K) * ldb, seed + 1);
          const C0 = randoms(off + M * ldc, seed + 2);
          if (beta === 0) C0[off] = NaN; // beta = 0 must overwrite without reading C
          const want = Float64Array.from(C0);
          gemm(tA, tB, M, N, K, alpha, Float64Array.from(A), off, lda, Float64Array.from(B), off, ldb, beta, want, off, ldc);
          const got = C0.slice();
          be.gemm(tA, tB, M, N, K, alpha, A, off, lda, B, off, ldb, beta, got, off, ldc);
          expectClose(got, want, K * Math.abs(alpha) + Math.abs(beta), `gemm ${M}x${N}x${K} tA=${tA} tB=${tB}`);
        },
      ),
      { numRuns: runs + 2 },
    );
  });

  it('bmm and bmmSumBatch equal the batched triple loop (incl. broadcast A)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }), M: fc.integer({ min: 1, max: 6 }), N: fc.integer({ min: 1, max: 6 }),
          K: fc.integer({ min: 1, max: 12 }), tA: fc.boolean(), tB: fc.boolean(), broadcastA: fc.boolean(), seed,
        }),
        async ({ batch, M, N, K, tA, tB, broadcastA, seed }) => {
          const sA = broadcastA ? 0 : M * K;
          const A = randoms(broadcastA ? M * K : batch * M * K, seed);
          const B = randoms(batch * K * N, seed + 1);
          const [dA, dB] = [await up(A), await up(B)];
          const out = await be.bmm(dA, dB, batch, M, N, K, { transA: tA, transB: tB, strideA: sA, alpha: 0.5 });
          const ref = bmmReference(A, B, batch, M, N, K, sA, K * N, tA, tB, 0.5);
          expectClose(await read(out), ref, K, `bmm b=${batch} ${M}x${N}x${K}`);
          const sum = await be.bmmSumBatch(dA, dB, batch, M, N, K, { transA: tA, transB: tB, strideA: sA, alpha: 0.5 });
          const refSum = new Float64Array(M * N);
          for (let b = 0; b < batch; b++) for (let i = 0; i < M * N; i++) refSum[i] += ref[b * M * N + i];
          expectClose(await read(sum), refSum, batch * K, `bmmSumBatch b=${batch}`);
          be.free(dA, dB, out, sum);
          ranIn('bmm', 'bmmSumBatch', 'copy');
        },
      ),
      { numRuns: runs },
    );
  });

  const geo = fc.record({
    B: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 7 }), W: fc.integer({ min: 3, max: 7 }),
    k: fc.constantFrom(1, 3), s: fc.constantFrom(1, 2), Cout: fc.integer({ min: 1, max: 4 }), seed,
  }).map(({ B, C, H, W, k, s, Cout, seed }) => ({
    g: { B, C, H, W, kh: k, kw: k, sh: s, sw: s, ph: k === 3 ? 1 : 0, pw: k === 3 ? 1 : 0 } as Geo, Cout, seed,
  }));

  it('im2col and col2im equal their loops; conv2d forward/backward equal direct convolution', async () => {
    await fc.assert(
      fc.asyncProperty(geo, async ({ g, Cout, seed }) => {
        const { Ho, Wo } = outSize(g);
        const R = g.C * g.kh * g.kw;
        const x = randoms(g.B * g.C * g.H * g.W, seed);
        const w = randoms(Cout * R, seed + 1);
        const bias = randoms(Cout, seed + 2);
        const dy = randoms(g.B * Cout * Ho * Wo, seed + 3);
        const cols = randoms(g.B * R * Ho * Wo, seed + 4);
        const [dx0, dw0, db0, ddy, dcols] = [await up(x), await up(w), await up(bias), await up(dy), await up(cols)];
        const im = await be.im2col(dx0, g);
        expectClose(await read(im), im2colReference(x, g), 0, 'im2col');
        const ci = await be.col2im(dcols, g);
        expectClose(await read(ci), col2imReference(cols, g), g.kh * g.kw, 'col2im');
        const fwd = await be.conv2dForward(dx0, dw0, db0, Cout, g);
        expectClose(await read(fwd.y), conv2dReference(x, w, bias, Cout, g), R + 1, `conv2d ${JSON.stringify(g)} Cout=${Cout}`);
        const bwd = await be.conv2dBackward(ddy, dw0, fwd.cols, Cout, g);
        const ref = conv2dBackwardReference(x, w, dy, Cout, g);
        expectClose(await read(bwd.dx), ref.dx, Cout * g.kh * g.kw, 'conv2d dX');
        expectClose(await read(bwd.dw), ref.dw, g.B * Ho * Wo, 'conv2d dW');
        expectClose(await read(bwd.db), ref.db, g.B * Ho * Wo, 'conv2d db');
        be.free(dx0, dw0, db0, ddy, dcols, im, ci, fwd.y, fwd.cols, bwd.dx, bwd.dw, bwd.db);
        ranIn('im2col', 'col2im', 'bmm', 'bmmSumBatch', 'addChannelBias', 'sumChannels');
      }),
      { numRuns: runs },
    );
  });

  it('softmax over the last axis and its backward equal the full-Jacobian reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ R: fc.integer({ min: 1, max: 6 }), L: fc.integer({ min: 1, max: 20 }), spread: fc.constantFrom(1, 30), seed }),
        async ({ R, L, spread, seed }) => {
          const x = randoms(R * L, seed).map((v) => v * spread);
          const dy = randoms(R * L, seed + 1);
          const [dx, ddy] = [await up(x), await up(dy)];
          const y = await be.softmax(dx, R, L);
          const yRef = softmaxReference(x, R, L);
          expectClose(await read(y), yRef, L, `softmax ${R}x${L}`);
          const g = await be.softmaxBackward(y, ddy, R, L);
          expectClose(await read(g), softmaxBackwardReference(yRef, dy, R, L), L, `softmax backward ${R}x${L}`);
          be.free(dx, ddy, y, g);
          ranIn('rowMax', 'rowSumExp', 'softmaxNormalize', 'rowDot', 'softmaxBackward');
        },
      ),
      { numRuns: runs },
    );
  });

  it('pairwise squared distances equal the loop, and are exactly 0 on the diagonal of X vs X', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ n: fc.integer({ min: 1, max: 9 }), m: fc.integer({ min: 1, max: 9 }), d: fc.integer({ min: 1, max: 24 }), seed }),
        async ({ n, m, d, seed }) => {
          const X = randoms(n * d, seed);
          const Y = randoms(m * d, seed + 1);
          const [dX, dY] = [await up(X), await up(Y)];
          const D = await be.pairwiseSqDist(dX, dY, n, m, d);
          expectClose(await read(D), pairwiseSqDistReference(X, Y, n, m, d), 4 * d, `pairwise ${n}x${m}x${d}`);
          const S = await read(await be.pairwiseSqDist(dX, dX, n, n, d));
          for (let i = 0; i < n; i++) expect(S[i * n + i]).toBe(0);
          be.free(dX, dY, D);
          ranIn('pairwiseSqDist');
        },
      ),
      { numRuns: runs },
    );
  });

  it('elementwise ops and their backward equal the formulas; results of two calls do not alias', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ n: fc.integer({ min: 1, max: 300 }), seed }), async ({ n, seed }) => {
        const a = randoms(n, seed).map((v) => v * 8);
        const b = randoms(n, seed + 1);
        const [da, db] = [await up(a), await up(b)];
        const sig = Float64Array.from(a, (v) => 1 / (1 + Math.exp(-v)));
        const cases: [string, Promise<DeviceArray>, (i: number) => number][] = [
          ['add', be.add(da, db), (i) => a[i] + b[i]],
          ['mul', be.mul(da, db), (i) => a[i] * b[i]],
          ['relu', be.relu(da), (i) => Math.max(a[i], 0)],
          ['reluBackward', be.reluBackward(da, db), (i) => (a[i] > 0 ? b[i] : 0)],
          ['sigmoid', be.sigmoid(da), (i) => sig[i]],
        ];
        const outs: DeviceArray[] = [];
        for (const [name, p, f] of cases) {
          const o = await p;
          outs.push(o);
          expectClose(await read(o), Float64Array.from({ length: n }, (_, i) => f(i)), 64, name);
        }
        const ys = await up(Float32Array.from(sig));
        const gs = await be.sigmoidBackward(ys, db);
        expectClose(await read(gs), Float64Array.from({ length: n }, (_, i) => b[i] * sig[i] * (1 - sig[i])), 1, 'sigmoidBackward');
        // add's first result must survive a second add (immutable pipeline outputs).
        expectClose(await read(outs[0]), Float64Array.from({ length: n }, (_, i) => a[i] + b[i]), 16, 'add result after later calls');
        be.free(da, db, ys, gs, ...outs);
        ranIn('add', 'mul', 'relu', 'reluBackward', 'sigmoid', 'sigmoidBackward', 'copy');
      }),
      { numRuns: runs },
    );
  });
});
