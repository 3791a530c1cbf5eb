/**
 * The `webgpu` device backend (gpu/device-store/): tensors in GPU buffers of a worker's WebGPU
 * device, kernels dispatched there in order, a host read the only wait. On SwiftShader here (the
 * hardware adapter under MLA_GPU_HARDWARE=1, gpu/device/run-on-gpu.sh):
 *
 * - values survive upload and download exactly, past 2^24 values (the index limit of gpu.js);
 * - the elementwise kernels equal their cpu definitions bit for bit at the models' real sizes, relu
 *   also past 2^24 values;
 * - the GEMM (the tiled WGSL shader of gpu/wgsl/) with offsets, leading dimensions and C updated in
 *   place, every transpose case, K up to 8192, within float32 rounding of the float64 reference;
 * - conv2d forward, dW, dX and the bias gradient (im2col / col2im and the batched GEMM on the device)
 *   at the tiny model's conv shapes, within float32 rounding;
 * - BatchNorm's statistics, running statistics, scale and shift, normalisation and backward (a
 *   workgroup per channel), and Adam, within float32 rounding of the float64 definitions; the
 *   statistics and normalisation also past 2^24 values;
 * - softmax, row L2 normalisation, the scalar unary ops, sums over an axis and mean pooling, forward
 *   and backward, within float32 rounding; the finiteness flag exactly;
 * - the broadcasting binary ops and both gradients (gathered per gradient value) at the attention
 *   shapes, within float32 rounding;
 * - max-pooling and its backward (gathered per input value) equal the cpu kernels exactly;
 * - a chain of device kernels keeps its intermediates on the device (2 uploads, 1 download);
 * - three training steps of the MLA backbone equal the cpu backend's within float32 rounding (the
 *   device sums in another order, and in float32), the kernels it lacks running on the host, and no
 *   activation crosses (the bound of spec/device-residency.test.ts);
 * - a failure in the worker comes back as an error naming the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernels, useBackend } from '../core/backend.ts';
import { Tensor } from '../core/tensor.ts';
import { TensorStorage, resetTransfers, transfers } from '../core/tensor-storage.ts';
import * as F from '../core/ops/index.ts';
import { backward } from '../core/autograd.ts';
import { Rng } from '../core/random.ts';
import { registerWebGpuBackend, startWebGpuStore, type WebGpuStore } from '../gpu/device-store/store.ts';
import { STEPS_LR, threeTrainingSteps, worst } from './backbone-steps.ts';
import { checkChainStaysOnDevice, checkStepTransfers } from './device-checks.ts';
import { gemmReference } from './reference/core.ts';
import { checkCrossEntropy, checkMemoryUpdate } from './kernels/cluster-nce-checks.ts';
import type { ConvGeometry } from '../core/kernels/conv.ts';

let store: WebGpuStore;

/** fn's result with the webgpu backend active, then the cpu backend again. */
function onWebGpu<T>(fn: () => T): T {
  useBackend('webgpu');
  try {
    return fn();
  } finally {
    useBackend('cpu');
  }
}

beforeAll(async () => {
  store = await startWebGpuStore(process.env.MLA_GPU_HARDWARE === '1' ? 'never' : 'always');
  registerWebGpuBackend(store);
});
afterAll(async () => {
  useBackend('cpu');
  await store.close();
});

const random = (n: number, rng: Rng) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = i % 97 === 0 ? 0 : i % 89 === 0 ? -0 : rng.normal();
  return a;
};

describe('webgpu device store', () => {
  it('upload, download and clear are exact, past 2^24 values', () => {
    const n = 2 ** 24 + 3;
    const host = new Float32Array(n); // a pattern that tells positions apart, every value exact in float32
    for (let i = 0; i < n; i++) host[i] = (i * 2654435761) % 2 ** 24;
    const s = new TensorStorage(host.slice());
    s.writeOn(store); // the device copy is now the current one
    s.overwrite().fill(-1);
    s.readOn(store); // the host's -1s go up
    const again = new TensorStorage(host.slice());
    again.writeOn(store);
    const back = again.read();
    let wrong = 0;
    for (let i = 0; i < n; i++) if (back[i] !== host[i]) wrong++;
    expect(wrong).toBe(0);
    const z = new TensorStorage('float32', 1000);
    z.readOn(store); // never written: cleared on the device
    z.writeOn(store);
    expect(z.read().every((v) => v === 0)).toBe(true);
  });

  it('relu, reluBackward, add, addInto equal the cpu kernels bit for bit at the real sizes, relu past 2^24 values', () => {
    useBackend('webgpu', store.describe());
    try {
      for (const n of [32 * 32 * 32 * 16, 4099, 37]) {
        const rng = new Rng(n);
        const x = random(n, rng), b = random(n, rng), dy = random(n, rng), dx0 = random(n, rng);
        const run = (k: 'relu' | 'add', ...a: Float32Array[]) => {
          const y = new Float32Array(n).fill(Number.NaN);
          (kernels[k] as (...v: Float32Array[]) => void)(...a, y);
          return y;
        };
        const want = { relu: new Float32Array(n), add: new Float32Array(n), reluBackward: dx0.slice(), addInto: dx0.slice() };
        useBackend('cpu');
        kernels.relu(x, want.relu);
        kernels.add(x, b, want.add);
        kernels.reluBackward(x, dy, want.reluBackward);
        kernels.addInto(want.addInto, b);
        useBackend('webgpu');
        expect(run('relu', x)).toEqual(want.relu);
        expect(run('add', x, b)).toEqual(want.add);
        const dx = dx0.slice();
        kernels.reluBackward(x, dy, dx);
        expect(dx).toEqual(want.reluBackward);
        const acc = dx0.slice();
        kernels.addInto(acc, b);
        expect(acc).toEqual(want.addInto);
      }
      // 2^24 + 3 values: past f32-exact indices, on a dispatch grid of two dimensions
      const n = 2 ** 24 + 3;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = (i % 7) - 3 + i * 2 ** -26;
      const y = new Float32Array(n).fill(Number.NaN);
      kernels.relu(x, y);
      let wrong = 0;
      for (let i = 0; i < n; i++) if (y[i] !== (x[i] > 0 ? x[i] : 0)) wrong++;
      expect(wrong, `relu of ${n} values`).toBe(0);
    } finally {
      useBackend('cpu');
    }
  });

  it('the GEMM: offsets, leading dimensions, C in place, every transpose case, within float32 rounding', () => {
    useBackend('webgpu');
    try {
      const rng = new Rng(7);
      for (const [M, N, K, transA, transB, beta] of [
        [37, 53, 70, false, false, 0], [64, 96, 2304, false, true, 1], [8, 256, 147, true, false, 0.5], [130, 17, 9, true, true, -2],
        [16, 24, 8192, true, false, 1], // K = 8192: a dot product far past gpu.js's 1000-term loop cap
      ] as const) {
        const aOff = 3, bOff = 5, cOff = 7, lda = (transA ? M : K) + 2, ldb = (transB ? K : N) + 1, ldc = N + 4;
        const A = random(aOff + (transA ? K : M) * lda, rng), B = random(bOff + (transB ? N : K) * ldb, rng);
        const C0 = random(cOff + M * ldc, rng);
        const C = C0.slice();
        kernels.gemm(transA, transB, M, N, K, 1.5, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
        const want = gemmReference(transA, transB, M, N, K, 1.5, A, aOff, lda, B, bOff, ldb, beta, C0, cOff, ldc);
        const size = gemmReference(transA, transB, M, N, K, 1.5, A.map(Math.abs), aOff, lda, B.map(Math.abs), bOff, ldb, Math.abs(beta), C0.map(Math.abs), cOff, ldc);
        let bad = 0;
        for (let i = 0; i < C.length; i++) if (Math.abs(C[i] - want[i]) > 2 * (K + 3) * 2 ** -24 * size[i]) bad++;
        expect(bad, `${M}x${N}x${K} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} beta ${beta}`).toBe(0);
      }
    } finally {
      useBackend('cpu');
    }
  });

  it('conv2d forward, dW, dX and the bias gradient within float32 rounding, at the models\' shapes', () => {
    const shapes: ConvGeometry[] = [
      { N: 2, C: 3, H: 128, W: 64, O: 16, kh: 7, kw: 7, sh: 2, sw: 2, ph: 3, pw: 3, Ho: 64, Wo: 32 }, // tiny conv1
      { N: 3, C: 16, H: 32, W: 16, O: 16, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, Ho: 32, Wo: 16 }, // 3x3 in a bottleneck
      { N: 3, C: 32, H: 16, W: 8, O: 64, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, Ho: 16, Wo: 8 }, // 1x1, no im2col
      { N: 2, C: 16, H: 32, W: 16, O: 32, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0, Ho: 16, Wo: 8 }, // strided downsample
    ];
    const rng = new Rng(11);
    for (const g of shapes) {
      const P = g.Ho * g.Wo;
      const x = random(g.N * g.C * g.H * g.W, rng), w = random(g.O * g.C * g.kh * g.kw, rng), b = random(g.O, rng);
      const dy = random(g.N * g.O * P, rng), dw0 = random(w.length, rng), dx0 = random(x.length, rng), db0 = random(g.O, rng);
      // float32 sums of K terms are within 2(K+3)·2^-24·Σ|term| of the exact value (as in the GEMM test):
      // the float64 run is the value, the float64 run on absolute values gives Σ|term|
      const run = (f64: boolean, abs = false) => {
        const cast = (a: Float32Array) => (f64 ? Float64Array.from(a, abs ? Math.abs : (v) => v) : a.slice());
        const y = f64 ? new Float64Array(g.N * g.O * P) : new Float32Array(g.N * g.O * P);
        const dw = cast(dw0), dx = cast(dx0), db = cast(db0);
        kernels.conv2d(g, cast(x), cast(w), cast(b), y);
        kernels.conv2dBackpropFilter(g, cast(x), cast(dy), dw);
        kernels.conv2dBackpropInput(g, cast(w), cast(dy), dx);
        kernels.biasGradient(g.N, g.O, P, cast(dy), db);
        return { y, dw, dx, db };
      };
      const truth = run(true), size = run(true, true);
      const dev = onWebGpu(() => run(false));
      const terms = { y: g.C * g.kh * g.kw + 1, dw: g.N * P + 1, dx: g.O * g.kh * g.kw + 1, db: g.N * P + 1 };
      for (const k of ['y', 'dw', 'dx', 'db'] as const) {
        let bad = 0;
        dev[k].forEach((v, i) => { if (Math.abs(v - truth[k][i]) > 2 * (terms[k] + 3) * 2 ** -24 * size[k][i]) bad++; });
        expect(bad, `${k} at ${g.kh}x${g.kw}/${g.sh} ${g.C}->${g.O}`).toBe(0);
      }
    }
  });

  it('BatchNorm statistics, running statistics, scale and shift, normalisation and backward (training and eval) within float32 rounding', () => {
    // the device sums a channel's n values in 256 strided float32 shares and a tree of 8 levels, so
    // each sum is within about (n/256 + 8) ulps: at n = 8192 a relative 1e-5 holds with room
    const rng = new Rng(13);
    for (const [N, C, S] of [[4, 16, 2048], [32, 64, 32], [32, 256, 1]]) {
      const l = { N, C, S };
      const x = random(N * C * S, rng), dy = random(N * C * S, rng), dx0 = random(N * C * S, rng);
      const gamma = random(C, rng), beta = random(C, rng), running = random(2 * C, rng).map(Math.abs);
      const run = (f64: boolean, training: boolean) => {
        const cast = (a: Float32Array) => (f64 ? Float64Array.from(a) : a.slice());
        const perChannel = () => (f64 ? new Float64Array(C) : new Float32Array(C));
        const [mean, variance, invStd, scale, shift] = Array.from({ length: 5 }, perChannel);
        const runningMean = cast(running.subarray(0, C)), runningVar = cast(running.subarray(C));
        if (training) kernels.batchNormStatistics(l, cast(x), mean, variance);
        kernels.batchNormScaleShift(C, { training, momentum: 0.1, eps: 1e-5, n: N * S }, cast(gamma), cast(beta), runningMean, runningVar,
          mean, variance, invStd, scale, shift);
        const y = f64 ? new Float64Array(x.length) : new Float32Array(x.length);
        kernels.batchNormNormalize(l, cast(x), scale, shift, y);
        const dx = cast(dx0), dGamma = cast(gamma), dBeta = cast(beta);
        kernels.batchNormBackward(l, cast(x), cast(dy), mean, invStd, scale, training, dx, dGamma, dBeta);
        const onlyGamma = perChannel();
        kernels.batchNormBackward(l, cast(x), cast(dy), mean, invStd, scale, training, null, onlyGamma, null);
        const f = (a: Float32Array | Float64Array) => Float32Array.from(a);
        return { mean: f(mean), variance: f(variance), runningMean: f(runningMean), runningVar: f(runningVar), invStd: f(invStd),
          scale: f(scale), shift: f(shift), y: f(y), dx: f(dx), dGamma: f(dGamma), dBeta: f(dBeta), onlyGamma: f(onlyGamma) };
      };
      for (const training of [true, false]) {
        const truth = run(true, training);
        const dev = onWebGpu(() => run(false, training));
        for (const k of Object.keys(truth) as (keyof typeof truth)[]) {
          expect(worst(dev[k], truth[k]), `${k} of [${N}, ${C}, ${S}]${training ? '' : ', eval'}`).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('BatchNorm statistics and normalisation past 2^24 values (ResNet-50 layer1 at batch 65, 256x128: [65, 64, 64, 32])', () => {
    // a tensor past f32-exact indices on the 2-D dispatch grid; the per-channel sums over 133,120 values
    const [N, C, S] = [65, 64, 64 * 32];
    const n = N * C * S;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = ((i * 2654435761) % 1000) / 250 + (Math.floor(i / S) % C) / 8;
    const mean = new Float32Array(C), variance = new Float32Array(C);
    const scale = Float32Array.from({ length: C }, (_, c) => 1 + c / C), shift = Float32Array.from({ length: C }, (_, c) => -c / 10);
    const y = new Float32Array(n).fill(Number.NaN);
    onWebGpu(() => {
      kernels.batchNormStatistics({ N, C, S }, x, mean, variance);
      kernels.batchNormNormalize({ N, C, S }, x, scale, shift, y);
    });
    const sum = new Float64Array(C), squares = new Float64Array(C);
    for (let i = 0; i < n; i++) sum[Math.floor(i / S) % C] += x[i];
    for (let i = 0; i < n; i++) { const c = Math.floor(i / S) % C; squares[c] += (x[i] - sum[c] / (N * S)) ** 2; }
    for (let c = 0; c < C; c++) {
      expect(Math.abs(mean[c] - sum[c] / (N * S)) / (sum[c] / (N * S)), `mean[${c}]`).toBeLessThan(1e-5);
      expect(Math.abs(variance[c] - squares[c] / (N * S)) / (squares[c] / (N * S)), `variance[${c}]`).toBeLessThan(1e-5);
    }
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / S) % C, want = x[i] * scale[c] + shift[c];
      if (!(Math.abs(y[i] - want) <= 4 * 2 ** -24 * (Math.abs(x[i] * scale[c]) + Math.abs(shift[c])))) wrong++;
    }
    expect(wrong, `values of y [${N}, ${C}, ${S}] off x · scale + shift`).toBe(0);
  });

  it('Adam within float32 rounding of its float64 definition, at a layer4 conv\'s size', () => {
    // each value is a handful of float32 operations on float32 moments: a relative 1e-5 of the
    // largest value holds with room, over three steps
    const rng = new Rng(19);
    const n = 256 * 256 * 9 + 5;
    // parameters of the size of a step (3 · lr), so that the update, not θ's own rounding, is what is compared
    const theta0 = random(n, rng).map((v) => v * 1e-3), grads = [random(n, rng), random(n, rng), random(n, rng)];
    const run = (f64: boolean) => {
      const cast = (a: Float32Array) => (f64 ? Float64Array.from(a) : a.slice());
      const theta = cast(theta0), m = f64 ? new Float64Array(n) : new Float32Array(n), v = f64 ? new Float64Array(n) : new Float32Array(n);
      grads.forEach((g, t) => kernels.adamUpdate(n, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4,
        stepSize: 1e-3 / (1 - 0.9 ** (t + 1)), bc2: Math.sqrt(1 - 0.999 ** (t + 1)) }, theta, cast(g), m, v));
      return { theta: Float32Array.from(theta), m: Float32Array.from(m), v: Float32Array.from(v) };
    };
    const truth = run(true);
    const dev = onWebGpu(() => run(false));
    for (const k of ['theta', 'm', 'v'] as const) expect(worst(dev[k], truth[k]), k).toBeLessThan(1e-5);
  });

  it('ClusterNCE\'s softmax cross-entropy, its backward and the memory update (both modes) within float32 rounding, at the real shapes', () => {
    onWebGpu(() => {
      checkCrossEntropy(64, 700, 1);
      checkCrossEntropy(8, 7, 2);
      checkMemoryUpdate(700, 2048, 64, true, 3);
      checkMemoryUpdate(700, 2048, 64, false, 4);
      // few clusters: many samples of each, every one a candidate (hard) or a step (momentum)
      checkMemoryUpdate(3, 300, 40, true, 5);
      checkMemoryUpdate(3, 300, 40, false, 6);
    });
  });

  it('softmax, row L2 normalisation, the scalar unary ops, sums over an axis, mean pooling and the finiteness flag within float32 rounding', () => {
    // each value is one float32 operation or a float32 sum of at most n/256 + 8 terms (tree) or n1
    // terms (sumAxis, meanPool); WGSL's exp is within 3 + 2|x| ulps: a relative 1e-5 holds with room
    const rng = new Rng(17);
    const cases: [string, (k: typeof kernels, f64: boolean) => (Float32Array | Float64Array)[]][] = [];
    const cast = (a: Float32Array, f64: boolean) => (f64 ? Float64Array.from(a) : a.slice());
    const out = (n: number, f64: boolean) => (f64 ? new Float64Array(n) : new Float32Array(n));
    for (const [rows, n] of [[256, 32], [3, 1500], [2, 8192]]) {
      const x = random(rows * n, rng), dy = random(rows * n, rng), dx0 = random(rows * n, rng);
      cases.push([`softmax ${rows}x${n}`, (k, f64) => {
        const y = out(rows * n, f64), dx = cast(dx0, f64);
        k.softmax(rows, n, cast(x, f64), y);
        k.softmaxBackward(rows, n, y, cast(dy, f64), dx);
        return [y, dx];
      }]);
      cases.push([`l2Normalize ${rows}x${n}, row 0 zeros`, (k, f64) => {
        const y = out(rows * n, f64), norms = out(rows, f64), dx = cast(dx0, f64), xz = cast(x, f64).fill(0, 0, n);
        k.l2Normalize(rows, n, 1e-12, xz, y, norms);
        k.l2NormalizeBackward(rows, n, 1e-12, y, norms, cast(dy, f64), dx);
        // the clamped row's gradient is dy / 1e-12: compared apart from the others, whose scale it would swamp
        return [y, norms, dx.subarray(n), dx.subarray(0, n)];
      }]);
    }
    const n = 70000, x = random(n, rng), dy = random(n, rng), dx0 = random(n, rng);
    for (const op of ['sigmoid', 'addScalar', 'mulScalar'] as const) {
      cases.push([op, (k, f64) => {
        const y = out(n, f64), dx = cast(dx0, f64);
        k.unary(op, 0.75, cast(x, f64), y);
        k.unaryBackward(op, 0.75, cast(x, f64), y, cast(dy, f64), dx);
        return [y, dx];
      }]);
    }
    cases.push(['sumAxis [32, 4, 64] and meanPool [64, 2048]', (k, f64) => {
      const s = out(32 * 64, f64), ds = cast(dx0.subarray(0, 32 * 4 * 64), f64), m = out(64, f64), dm = cast(dx0.subarray(0, 64 * 1000), f64);
      k.sumAxis(32, 4, 64, cast(x.subarray(0, 32 * 4 * 64), f64), s);
      k.sumAxisBackward(32, 4, 64, cast(dy.subarray(0, 32 * 64), f64), ds);
      k.meanPool(64, 1000, cast(x.subarray(0, 64 * 1000), f64), m);
      k.meanPoolBackward(64, 1000, cast(dy.subarray(0, 64), f64), dm);
      return [s, ds, m, dm];
    }]);
    cases.push(['nonFinite: finite, then NaN, +∞, −∞ as the last of 70000 values; a finite one leaves a set slot set', (k, f64) => {
      const flags = out(5, f64).fill(0);
      k.nonFinite(n, cast(x, f64), flags, 0);
      [Number.NaN, Infinity, -Infinity].forEach((bad, j) => {
        const y = cast(x, f64);
        y[n - 1] = bad;
        k.nonFinite(n, y, flags, j + 1);
      });
      k.nonFinite(n, cast(x, f64), flags, 1);
      return [flags];
    }]);
    for (const [what, run] of cases) {
      const truth = run(kernels, true).map((a) => Float32Array.from(a));
      const got = onWebGpu(() => run(kernels, false).map((a) => Float32Array.from(a)));
      got.forEach((g, i) => expect(worst(g, truth[i]), `${what}, output ${i}`).toBeLessThan(1e-5));
    }
  });

  it('broadcasting add, sub, mul, div and both gradients, at the attention shapes, within float32 rounding', () => {
    // forward: one float32 operation per value; a gradient value sums its terms in output order, each
    // term one or two float32 operations (the cpu rounds once per term): a relative 1e-6 holds
    const shapes: [number[], number[]][] = [[[32, 64, 32], [32, 1, 32]], [[32, 4, 16, 32], [4, 16, 32]], [[2, 3, 4], [1]], [[5, 1, 7], [1, 6, 1]]];
    for (const [sa, sb] of shapes) {
      for (const op of ['add', 'sub', 'mul', 'div'] as const) {
        const fn = { add: F.add, sub: F.sub, mul: F.mul, div: F.div }[op];
        const run = () => {
          const r = new Rng(sa.length * 10 + sb.length);
          const t = (s: number[]) => new Tensor(Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => r.uniform(0.5, 2) * (r.next() < 0.5 ? -1 : 1)), s, true);
          const a = t(sa), b = t(sb);
          const y = fn(a, b);
          backward(y, Float32Array.from({ length: y.size }, () => r.normal()));
          return [y.storage.read(), a.grad!, b.grad!].map((v) => Float32Array.from(v));
        };
        const want = run();
        const got = onWebGpu(() => run());
        got.forEach((g, i) => expect(worst(g, want[i]), `${op} [${sa}] [${sb}], ${['y', 'da', 'db'][i]}`).toBeLessThan(1e-6));
      }
    }
  });

  it('max-pooling and its backward equal the cpu kernels exactly, at the stems\' shapes', () => {
    const rng = new Rng(23);
    for (const g of [
      { planes: 32 * 8, H: 64, W: 32, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, Ho: 32, Wo: 16 },
      { planes: 6 * 7, H: 17, W: 11, kh: 2, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, Ho: 18, Wo: 6 },
    ]) {
      const x = new Float32Array(g.planes * g.H * g.W).map(() => Math.round(rng.normal() * 3) / 4); // ties
      const n = g.planes * g.Ho * g.Wo;
      const dy = random(n, rng), dx0 = random(x.length, rng);
      const run = () => {
        const y = new Float32Array(n), argmax = new Float32Array(n), dx = dx0.slice();
        kernels.maxPool2d(g, x, y, argmax);
        kernels.maxPool2dBackward(g, dy, argmax, dx);
        return [y, argmax, dx];
      };
      const want = run();
      const got = onWebGpu(() => run());
      got.forEach((v, i) => expect(v, `${['y', 'argmax', 'dx'][i]} of ${JSON.stringify(g)}`).toEqual(want[i]));
    }
  });

  it('a chain of device kernels keeps its intermediates on the device', () => onWebGpu(checkChainStaysOnDevice));

  it('three training steps of the MLA backbone equal the cpu backend within float32 rounding', () => {
    // as spec/kernels/backbone-backends.test.ts: the float64 cpu run is the truth, and the device run may be
    // off by at most 10x what the float32 cpu run is
    const truth = threeTrainingSteps(2, 'float64');
    const cpu = threeTrainingSteps(2);
    useBackend('webgpu');
    try {
      resetTransfers();
      const dev = threeTrainingSteps(2);
      expect(transfers.uploads).toBeGreaterThan(0);
      checkStepTransfers('webgpu', dev);
      const within = (what: string, got: Float32Array, want: Float32Array, f32: Float32Array) =>
        expect(worst(got, want), `${what}: webgpu ${worst(got, want)}, cpu float32 ${worst(f32, want)}`).toBeLessThanOrEqual(10 * worst(f32, want) + 1e-6);
      within('embedding', dev.embedding, truth.embedding, cpu.embedding);
      // a gradient is held to 10x the float32 cpu run's error, plus 1e-5 of the step's largest gradient:
      // a gradient that cancels to 0 in exact arithmetic (a bias followed by BatchNorm) keeps the
      // rounding of the terms it sums, which the device adds in float32 and the cpu in float64
      const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const scale = Math.max(...[...truth.grads.values()].map(maxAbs));
      for (const [name, g] of truth.grads) {
        const d = dev.grads.get(name)!, c = cpu.grads.get(name)!;
        let ed = 0, ec = 0;
        g.forEach((v, i) => { ed = Math.max(ed, Math.abs(d[i] - v)); ec = Math.max(ec, Math.abs(c[i] - v)); });
        expect(ed, `d/d ${name}: webgpu ${ed}, cpu float32 ${ec}, largest gradient ${scale}`).toBeLessThanOrEqual(10 * ec + 1e-5 * scale);
      }
      // Adam moves a parameter by at most about 3.2 lr per step (|m̂| / √v̂ ≤ (1 − β1) / √(1 − β2)), so
      // where rounding flips a near-zero gradient the two runs part by at most 2 · 3 · 3.2 lr
      for (const [name, p] of truth.params) {
        const d = dev.params.get(name)!;
        let far = 0;
        p.forEach((v, i) => { far = Math.max(far, Math.abs(d[i] - v)); });
        expect(far, `${name} after 3 steps`).toBeLessThanOrEqual(2 * 3 * 3.2 * STEPS_LR);
      }
    } finally {
      useBackend('cpu');
    }
  });

  it('a failure in the worker comes back naming the kernel', () => {
    const s = new TensorStorage(Float32Array.of(1, 2, 3));
    const d = s.writeOn(store);
    store.run('addInto', [d, d], 3); // written and read through one buffer: not allowed
    expect(() => s.read()).toThrow(/webgpu run: .*addInto: operand 0 is written and also read as operand 0|webgpu addInto/);
  });
});
