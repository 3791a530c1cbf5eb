/**
 * Tensors past 2^24 elements (where float32 index arithmetic breaks and where batch-level tensors
 * of ResNet-50 at 256x128 live), on every CPU backend: a GEMM whose output, and a conv whose
 * im2col matrix, hold more than 2^24 values, ReLU and sigmoid over 2^24 + 5 values, softmax over
 * 4097 rows of 4096 and a broadcast product of that size with its gradient summed over 4097 rows,
 * checked against the definitions at sampled elements (the last ones included). And the wasm backend's refusal of a
 * call past its 2 GiB addressing, naming the kernel and the size.
 */
import { expect, it, describe } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { convOutputSize, type ConvGeometry } from '../../core/kernels/conv.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { Arena, MAX_BYTES, loadWasmKernels } from '../../core/wasm/kernels.ts';
import { describeEachBackend } from './each-backend.ts';

const BIG = 2 ** 24;

function random(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

describeEachBackend('kernels on tensors past 2^24 elements', () => {
  it('gemm with a 4100 x 4100 output', () => {
    const rng = new Rng(1);
    const M = 4100, N = 4100, K = 3;
    expect(M * N).toBeGreaterThan(BIG);
    const A = random(M * K, rng), B = random(K * N, rng), C = alloc('float32', M * N) as Float32Array;
    kernels.gemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N);
    const picks: [number, number][] = [[M - 1, N - 1], [M - 1, N - 2], [M - 2, N - 1], [0, 0]];
    for (let t = 0; t < 400; t++) picks.push([Math.floor(rng.uniform(0, M)), Math.floor(rng.uniform(0, N))]);
    for (const [i, j] of picks) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
      expect(Math.abs(C[i * N + j] - s), `C[${i}, ${j}]`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('conv2d 3x3 whose im2col matrix holds 81 x 512 x 512 values: forward, dW, dX', () => {
    const rng = new Rng(2);
    const g: ConvGeometry = { N: 1, C: 9, H: 512, W: 512, O: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1,
      Ho: convOutputSize(512, 3, 1, 1), Wo: convOutputSize(512, 3, 1, 1) };
    expect(g.C * 9 * g.Ho * g.Wo).toBeGreaterThan(BIG);
    const x = random(g.C * g.H * g.W, rng), w = random(g.O * g.C * 9, rng), dy = random(g.O * g.Ho * g.Wo, rng);
    const y = alloc('float32', dy.length) as Float32Array, dw = alloc('float32', w.length) as Float32Array, dx = alloc('float32', x.length) as Float32Array;
    kernels.conv2d(g, x, w, null, y);
    kernels.conv2dBackpropFilter(g, x, dy, dw);
    kernels.conv2dBackpropInput(g, w, dy, dx);
    const xAt = (c: number, yy: number, xx: number) => (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W ? 0 : x[(c * g.H + yy) * g.W + xx]);
    const last = (n: number) => n - 1;
    for (const [o, oy, ox] of [[last(g.O), last(g.Ho), last(g.Wo)], [0, 0, 0], [2, 300, 511], [1, 511, 7]]) {
      let s = 0;
      for (let c = 0; c < g.C; c++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += w[((o * g.C + c) * 3 + i) * 3 + j] * xAt(c, oy - 1 + i, ox - 1 + j);
      expect(Math.abs(y[(o * g.Ho + oy) * g.Wo + ox] - s), `y[${o}, ${oy}, ${ox}]`).toBeLessThanOrEqual(1e-5);
    }
    for (const [o, c, i, j] of [[last(g.O), last(g.C), 2, 2], [0, 0, 0, 0]]) {
      let s = 0;
      for (let oy = 0; oy < g.Ho; oy++) for (let ox = 0; ox < g.Wo; ox++) s += dy[(o * g.Ho + oy) * g.Wo + ox] * xAt(c, oy - 1 + i, ox - 1 + j);
      expect(Math.abs(dw[((o * g.C + c) * 3 + i) * 3 + j] - s), `dw[${o}, ${c}, ${i}, ${j}]`).toBeLessThanOrEqual(2e-3);
    }
    for (const [c, yy, xx] of [[last(g.C), 511, 511], [0, 0, 0], [4, 256, 100]]) {
      let s = 0;
      for (let o = 0; o < g.O; o++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        const oy = yy + 1 - i, ox = xx + 1 - j;
        if (oy >= 0 && oy < g.Ho && ox >= 0 && ox < g.Wo) s += dy[(o * g.Ho + oy) * g.Wo + ox] * w[((o * g.C + c) * 3 + i) * 3 + j];
      }
      expect(Math.abs(dx[(c * g.H + yy) * g.W + xx] - s), `dx[${c}, ${yy}, ${xx}]`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('relu over 2^24 + 5 values, exactly', () => {
    const n = BIG + 5;
    const x = alloc('float32', n) as Float32Array;
    for (let i = 0; i < n; i++) x[i] = (i % 7) - 3;
    const y = alloc('float32', n) as Float32Array;
    kernels.relu(x, y);
    for (const i of [0, 1, 3, 4, BIG - 1, BIG, n - 3, n - 2, n - 1]) expect(y[i], `y[${i}]`).toBe(Math.max(x[i], 0));
  });

  it('softmax over 4097 rows of 4096, and sigmoid over 2^24 + 5 values, exactly their definitions at the last rows and values', () => {
    const rng = new Rng(3);
    const rows = 4097, n = 4096;
    expect(rows * n).toBeGreaterThan(BIG);
    const x = random(rows * n, rng), y = alloc('float32', rows * n) as Float32Array;
    kernels.softmax(rows, n, x, y);
    for (const r of [0, BIG / n - 1, BIG / n, rows - 1]) {
      let max = -Infinity, sum = 0;
      for (let j = 0; j < n; j++) max = Math.max(max, x[r * n + j]);
      const e = Array.from({ length: n }, (_, j) => Math.fround(Math.exp(x[r * n + j] - max)));
      for (let j = 0; j < n; j++) sum += Math.exp(x[r * n + j] - max);
      for (const j of [0, 1, n - 1]) expect(y[r * n + j], `softmax y[${r}, ${j}]`).toBe(Math.fround(e[j] / sum));
    }
    const m = BIG + 5, s = alloc('float32', m) as Float32Array;
    kernels.unary('sigmoid', 0, x.subarray(0, m), s);
    for (const i of [0, BIG - 1, BIG, m - 1]) expect(s[i], `sigmoid y[${i}]`).toBe(Math.fround(1 / (1 + Math.exp(-x[i]))));
  });

  it('a broadcast product [4097, 4096] · [4096] and the gradient of the row, summed over 4097 rows, exactly', () => {
    const rng = new Rng(4);
    const rows = 4097, n = 4096;
    const a = random(rows * n, rng), b = random(n, rng), y = alloc('float32', rows * n) as Float32Array;
    const nest = { dims: [rows, n], sa: [n, 1], sb: [0, 1] };
    kernels.broadcastBinary('mul', nest, a, b, y);
    for (const i of [0, BIG - 1, BIG, rows * n - 1]) expect(y[i], `y[${i}]`).toBe(Math.fround(a[i] * b[i % n]));
    const dy = random(rows * n, rng), db = alloc('float32', n) as Float32Array;
    kernels.broadcastBinaryBackward('mul', 'b', nest, dy, a, b, db);
    for (const j of [0, n - 1]) {
      let want = 0;
      for (let r = 0; r < rows; r++) want = Math.fround(want + dy[r * n + j] * a[r * n + j]);
      expect(db[j], `db[${j}]`).toBe(want);
    }
  });
});

describe('wasm linear memory', () => {
  it('refuses a call past its 2 GiB addressing, naming the kernel and the size, before growing', () => {
    const w = loadWasmKernels();
    expect(w).not.toBeNull();
    const arena = new Arena(w!);
    arena.reset('conv2d');
    const before = w!.memory.buffer.byteLength;
    expect(() => arena.take(MAX_BYTES / 4 + 1)).toThrow(/wasm conv2d: needs \d+ MiB of linear memory/);
    expect(w!.memory.buffer.byteLength).toBe(before);
  });
});
