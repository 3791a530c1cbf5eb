/**
 * The wasm backend's storage (core/wasm/memory.ts): a recycling scope's float32 buffers live in the
 * shared linear memory and go back to it when a scope leaves them unused; every wasm kernel gives
 * the same numbers, bit for bit, whether its operands live there (used in place, on 1 and 2 threads)
 * or not (copied in and out), and never writes an input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernels, useBackend } from '../core/backend.ts';
import { convOutputSize, type ConvGeometry } from '../core/kernels/conv.ts';
import { Rng } from '../core/random.ts';
import { alloc, allocUnzeroed, recycling, setRecycling } from '../core/tensor.ts';
import { limitThreads, threadsAvailable } from '../core/thread-pool.ts';
import { addressOf, allocFloats } from '../core/wasm/memory.ts';
import { activate } from './kernels/each-backend.ts';

const rng = new Rng(5);

function plain(n: number): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(n * 4));
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** A copy of `a` in the wasm memory. */
function resident(a: Float32Array): Float32Array {
  const r = allocFloats(a.length)!;
  r.set(a);
  return r;
}

beforeAll(() => activate('wasm'));
afterAll(() => {
  useBackend('cpu');
  limitThreads(Infinity);
});

describe('wasm storage', () => {
  it('holds a recycling scope\'s large float32 buffers, zeroed by alloc, and takes back what the next scope leaves unused', () => {
    const kept = recycling(() => {
      const a = alloc('float32', 5000), b = allocUnzeroed('float32', 6000), small = alloc('float32', 100), f64 = alloc('float64', 5000);
      expect(addressOf(a)).toBeGreaterThan(0);
      expect(addressOf(b)).toBeGreaterThan(0);
      expect(addressOf(small)).toBe(-1);
      expect(addressOf(f64)).toBe(-1);
      expect(a.every((v) => v === 0)).toBe(true);
      a.fill(7);
      b.fill(9);
      return { a: addressOf(a), b: addressOf(b) };
    });
    // the next scope reuses a (same length) and leaves b unused: b's block goes back to the memory
    recycling(() => expect(addressOf(alloc('float32', 5000))).toBe(kept.a));
    const again = recycling(() => allocUnzeroed('float32', 6000));
    expect(addressOf(again)).toBe(kept.b);
    // outside a scope nothing lives in the memory
    expect(addressOf(alloc('float32', 5000))).toBe(-1);
  });

  it('in poisoned mode hands out NaN and never the same buffer twice in a row', () => {
    setRecycling('poison');
    try {
      const first = recycling(() => { const a = allocUnzeroed('float32', 5000); expect(Number.isNaN(a[0])).toBe(true); return a; });
      expect(Number.isNaN(first[4999])).toBe(true);
    } finally {
      setRecycling('on');
    }
  });
});

function geometry(N: number, C: number, H: number, W: number, O: number, k: number, s: number, p: number): ConvGeometry {
  return { N, C, H, W, O, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, Ho: convOutputSize(H, k, s, p), Wo: convOutputSize(W, k, s, p) };
}

/** Runs `call` on plain operands and on resident copies; outputs must agree bit for bit, inputs stay unchanged. */
function expectSameInPlace(what: string, operands: Float32Array[], outputs: number[], call: (ops: Float32Array[]) => void): void {
  const copies = operands.map((a) => a.slice());
  const mine = operands.map(resident);
  call(copies);
  call(mine);
  operands.forEach((a, i) => {
    if (outputs.includes(i)) expect(firstDifference(mine[i], copies[i]), `${what}: output ${i}, first differing index`).toBe(-1);
    else {
      expect(firstDifference(copies[i], a), `${what}: input ${i} (copied), first changed index`).toBe(-1);
      expect(firstDifference(mine[i], a), `${what}: input ${i} (in place), first changed index`).toBe(-1);
    }
  });
}

/** The first index where a and b differ (Object.is: NaN equals NaN, 0 differs from -0), or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe.each([1, 2])('wasm kernels on operands in the wasm memory equal the copying path, %i thread(s)', (threads) => {
  beforeAll(() => {
    limitThreads(threads);
    expect(threadsAvailable()).toBe(Math.min(threads, threadsAvailable()));
  });

  it('gemm, every transpose case, beta 0 and 1, at a conv shape of the tiny model and a ResNet-50 one (K = 2304)', () => {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]]) {
      for (const [beta, M, N, K] of [[0, 64, 512, 72], [1, 64, 512, 72], [0, 64, 128, 2304], [1, 64, 128, 2304]]) {
        expectSameInPlace(`gemm ${tA} ${tB} beta ${beta}`, [plain(M * K), plain(K * N), plain(M * N)], [2],
          ([A, B, C]) => kernels.gemm(tA, tB, M, N, K, 1, A, 0, tA ? M : K, B, 0, tB ? K : N, beta, C, 0, N));
      }
    }
  });

  it('conv forward, dW and dX at the tiny model\'s shapes (3x3 stride 1, 3x3 stride 2, 1x1)', () => {
    for (const g of [geometry(8, 16, 32, 16, 16, 3, 1, 1), geometry(8, 8, 32, 16, 16, 3, 2, 1), geometry(8, 32, 16, 8, 64, 1, 1, 0)]) {
      const xs = g.N * g.C * g.H * g.W, ys = g.N * g.O * g.Ho * g.Wo, ws = g.O * g.C * g.kh * g.kw;
      expectSameInPlace('conv2d', [plain(xs), plain(ws), plain(g.O), plain(ys)], [3], ([x, w, b, y]) => kernels.conv2d(g, x, w, b, y));
      expectSameInPlace('conv2dBackpropFilter', [plain(xs), plain(ys), plain(ws)], [2], ([x, dy, dw]) => kernels.conv2dBackpropFilter(g, x, dy, dw));
      expectSameInPlace('conv2dBackpropInput', [plain(ws), plain(ys), plain(xs)], [2], ([w, dy, dx]) => kernels.conv2dBackpropInput(g, w, dy, dx));
    }
  });

  it('add past 2^24 elements, in place', () => {
    const n = 2 ** 24 + 20;
    const a = plain(n), b = plain(n);
    const y = allocFloats(n)!;
    kernels.add(resident(a), resident(b), y);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (!Object.is(y[i], Math.fround(a[i] + b[i]))) bad = i;
    expect(bad, 'first wrong index').toBe(-1);
  });

  it('relu, reluBackward, add, addInto, BatchNorm and max-pooling', () => {
    const n = 8 * 16 * 32 * 16;
    expectSameInPlace('relu', [plain(n), plain(n)], [1], ([x, y]) => kernels.relu(x, y));
    expectSameInPlace('reluBackward', [plain(n), plain(n), plain(n)], [2], ([x, dy, dx]) => kernels.reluBackward(x, dy, dx));
    expectSameInPlace('add', [plain(n), plain(n), plain(n)], [2], ([a, b, y]) => kernels.add(a, b, y));
    expectSameInPlace('addInto', [plain(n), plain(n)], [0], ([y, x]) => kernels.addInto(y, x));
    const l = { N: 8, C: 16, S: 32 * 16 };
    const stats = () => [new Float64Array(l.C), new Float64Array(l.C)];
    const [m1, v1] = stats(), [m2, v2] = stats();
    let first = true;
    expectSameInPlace('batchNormStatistics', [plain(n)], [], ([x]) => kernels.batchNormStatistics(l, x, ...(first ? (first = false, [m1, v1]) : [m2, v2]) as [Float64Array, Float64Array]));
    expect(m2).toEqual(m1);
    expect(v2).toEqual(v1);
    const scale = Float64Array.from(m1, (v) => v + 1), shift = Float64Array.from(v1);
    expectSameInPlace('batchNormNormalize', [plain(n), plain(n)], [1], ([x, y]) => kernels.batchNormNormalize(l, x, scale, shift, y));
    const [dGamma1, dBeta1] = stats(), [dGamma2, dBeta2] = stats();
    first = true;
    expectSameInPlace('batchNormBackward', [plain(n), plain(n), plain(n)], [2],
      ([x, dy, dx]) => kernels.batchNormBackward(l, x, dy, m1, scale, shift, true, dx, ...(first ? (first = false, [dGamma1, dBeta1]) : [dGamma2, dBeta2]) as [Float64Array, Float64Array]));
    expect(dGamma2).toEqual(dGamma1);
    expect(dBeta2).toEqual(dBeta1);
    const pg = { planes: 8 * 16, H: 32, W: 16, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, Ho: 16, Wo: 8 };
    const a1 = new Float32Array(pg.planes * 128), a2 = new Float32Array(pg.planes * 128);
    first = true;
    expectSameInPlace('maxPool2d', [plain(n), plain(pg.planes * 128)], [1], ([x, y]) => kernels.maxPool2d(pg, x, y, first ? (first = false, a1) : a2));
    expect(a2).toEqual(a1);
  });
});
