/**
 * The conv2d kernels (forward, dW, dX) of every backend at the real shapes of the models, against
 * the definition of a convolution evaluated in float64 at sampled elements (the six-loop reference
 * of spec/reference/core.ts, run on random small shapes in spec/core-ops.test.ts, would take
 * minutes here). And the wasm kernels' thread split: any split of the images (forward, dX) or of
 * im2col's rows (dW) gives the same numbers, bit for bit.
 */
import { expect, it, describe } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { convOutputSize, type ConvGeometry } from '../../core/kernels/conv.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { convRanges, registerWasmBackend } from '../../core/wasm/backend.ts';
import { describeEachBackend } from './each-backend.ts';

function geometry(N: number, C: number, H: number, W: number, O: number, k: number, s: number, p: number): ConvGeometry {
  return { N, C, H, W, O, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, Ho: convOutputSize(H, k, s, p), Wo: convOutputSize(W, k, s, p) };
}

const REAL: [string, ConvGeometry][] = [
  ['tiny stem 7x7/2, 128x64 input', geometry(4, 3, 128, 64, 8, 7, 2, 3)],
  ['tiny layer4 3x3 (MLA off)', geometry(3, 64, 8, 4, 64, 3, 1, 1)],
  ['ResNet-50 stem 7x7/2, 256x128 input', geometry(1, 3, 256, 128, 64, 7, 2, 3)],
  ['ResNet-50 layer2 3x3/2', geometry(2, 128, 64, 32, 128, 3, 2, 1)],
  ['ResNet-50 layer3 3x3', geometry(2, 256, 16, 8, 256, 3, 1, 1)],
  ['ResNet-50 layer1 1x1 64->256', geometry(2, 64, 64, 32, 256, 1, 1, 0)],
  ['ResNet-50 layer3 downsample 1x1/2', geometry(2, 512, 32, 16, 1024, 1, 2, 0)],
];

function random(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

const xAt = (x: Float32Array, g: ConvGeometry, n: number, c: number, y: number, xx: number) =>
  y < 0 || y >= g.H || xx < 0 || xx >= g.W ? 0 : x[((n * g.C + c) * g.H + y) * g.W + xx];

function expectNear(got: number, want: number, terms: number, what: string): void {
  // float32 rounding of a sum of `terms` products of values in [-1, 1]
  expect(Math.abs(got - want), what).toBeLessThanOrEqual(4e-7 * Math.sqrt(terms) * Math.max(1, Math.sqrt(terms) / 4));
}

describeEachBackend('conv2d kernels at the real shapes of the models', () => {
  for (const [name, g] of REAL) {
    it(name, () => {
      const rng = new Rng(g.C * 131 + g.H);
      const { N, C, O, kh, kw, Ho, Wo } = g;
      const x = random(N * C * g.H * g.W, rng), w = random(O * C * kh * kw, rng), b = random(O, rng), dy = random(N * O * Ho * Wo, rng);
      const y = alloc('float32', N * O * Ho * Wo) as Float32Array;
      const dw0 = random(O * C * kh * kw, rng), dx0 = random(N * C * g.H * g.W, rng);
      const dw = dw0.slice(), dx = dx0.slice();
      kernels.conv2d(g, x, w, b, y);
      kernels.conv2dBackpropFilter(g, x, dy, dw);
      kernels.conv2dBackpropInput(g, w, dy, dx);
      const pick = (n: number) => Math.floor(rng.uniform(0, n));
      for (let t = 0; t < 300; t++) {
        // y[n, o, oy, ox] = b[o] + Σ_{c,i,j} w[o, c, i, j] x[n, c, oy·s − p + i, ox·s − p + j]
        const n = pick(N), o = pick(O), oy = pick(Ho), ox = pick(Wo);
        let s = b[o];
        for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++)
          s += w[((o * C + c) * kh + i) * kw + j] * xAt(x, g, n, c, oy * g.sh - g.ph + i, ox * g.sw - g.pw + j);
        expectNear(y[((n * O + o) * Ho + oy) * Wo + ox], s, C * kh * kw, `${name}: y`);
      }
      for (let t = 0; t < 100; t++) {
        // dw[o, c, i, j] += Σ_{n, oy, ox} dy[n, o, oy, ox] x[n, c, oy·s − p + i, ox·s − p + j]
        const o = pick(O), c = pick(C), i = pick(kh), j = pick(kw);
        const wi = ((o * C + c) * kh + i) * kw + j;
        let s = dw0[wi];
        for (let n = 0; n < N; n++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++)
          s += dy[((n * O + o) * Ho + oy) * Wo + ox] * xAt(x, g, n, c, oy * g.sh - g.ph + i, ox * g.sw - g.pw + j);
        expectNear(dw[wi], s, N * Ho * Wo, `${name}: dw`);
      }
      for (let t = 0; t < 100; t++) {
        // dx[n, c, yy, xx] += Σ over the (o, i, j) whose window reads (yy, xx) of dy · w
        const n = pick(N), c = pick(C), yy = pick(g.H), xx = pick(g.W);
        const xi = ((n * C + c) * g.H + yy) * g.W + xx;
        let s = dx0[xi];
        for (let o = 0; o < O; o++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
          const oyS = yy + g.ph - i, oxS = xx + g.pw - j;
          if (oyS % g.sh || oxS % g.sw) continue;
          const oy = oyS / g.sh, ox = oxS / g.sw;
          if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
          s += dy[((n * O + o) * Ho + oy) * Wo + ox] * w[((o * C + c) * kh + i) * kw + j];
        }
        expectNear(dx[xi], s, O * kh * kw, `${name}: dx`);
      }
    });
  }
});

describe('wasm conv kernels: any thread split gives the same bits', () => {
  it('forward and dX split by images, dW by im2col rows', () => {
    expect(registerWasmBackend()).toBeNull();
    const { convForwardRange, convBackpropFilterRange, convBackpropInputRange } = convRanges;
    for (const g of [geometry(5, 6, 11, 9, 7, 3, 2, 1), geometry(4, 16, 8, 6, 24, 1, 1, 0), geometry(3, 5, 13, 7, 9, 5, 1, 2)]) {
      const rng = new Rng(g.N * 7 + g.C);
      const CK = g.C * g.kh * g.kw;
      const x = random(g.N * g.C * g.H * g.W, rng), w = random(g.O * CK, rng), b = random(g.O, rng);
      const dy = random(g.N * g.O * g.Ho * g.Wo, rng), dw0 = random(g.O * CK, rng), dx0 = random(x.length, rng);
      const whole = { y: new Float32Array(dy.length), dw: dw0.slice(), dx: dx0.slice() };
      convForwardRange(g, x, w, b, whole.y, 0, g.N);
      convBackpropFilterRange(g, x, dy, whole.dw, 0, CK);
      convBackpropInputRange(g, w, dy, whole.dx, 0, g.N);
      for (const cut of [1, 2, g.N - 1]) {
        const parts = { y: new Float32Array(dy.length), dw: dw0.slice(), dx: dx0.slice() };
        convForwardRange(g, x, w, b, parts.y, 0, cut);
        convForwardRange(g, x, w, b, parts.y, cut, g.N);
        const r = Math.max(1, Math.floor((CK * cut) / g.N));
        convBackpropFilterRange(g, x, dy, parts.dw, 0, r);
        convBackpropFilterRange(g, x, dy, parts.dw, r, CK);
        convBackpropInputRange(g, w, dy, parts.dx, 0, cut);
        convBackpropInputRange(g, w, dy, parts.dx, cut, g.N);
        expect(parts.y).toEqual(whole.y);
        expect(parts.dw).toEqual(whole.dw);
        expect(parts.dx).toEqual(whole.dx);
      }
    }
  });
});
