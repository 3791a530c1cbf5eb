/**
 * The wasm conv kernels' own code paths (the forward's implicit GEMM over stride-phase planes, SIMD
 * im2col at stride 2 with its scalar edges, weights packed once per call, direct 1x1) against the
 * cpu conv kernels of core/kernels/conv.ts run with the wasm GEMM: the same algorithm and summation
 * order, so the numbers must agree bit for bit, on random geometries (kernel 1..7, stride 1..3,
 * padding 0..3, any channel counts, widths around the 4- and 8-wide vector loops), at the tiny
 * model's real shapes and past the GEMM's row blocks and K-slices. (spec/kernels/conv.test.ts checks
 * both against the definition of a convolution, spec/kernels/gemm*.test.ts the GEMM.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import * as cpuConv from '../../core/kernels/conv.ts';
import { convOutputSize, type ConvGeometry } from '../../core/kernels/conv.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { convRanges } from '../../core/wasm/backend.ts';
import { activate } from './each-backend.ts';

function geometry(N: number, C: number, H: number, W: number, O: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): ConvGeometry {
  return { N, C, H, W, O, kh, kw, sh, sw, ph, pw, Ho: convOutputSize(H, kh, sh, ph), Wo: convOutputSize(W, kw, sw, pw) };
}

function random(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

function expectSame(g: ConvGeometry, rng: Rng, what: string): void {
  const CK = g.C * g.kh * g.kw;
  const x = random(g.N * g.C * g.H * g.W, rng), w = random(g.O * CK, rng), b = rng.uniform(0, 1) < 0.5 ? random(g.O, rng) : null;
  const dy = random(g.N * g.O * g.Ho * g.Wo, rng), dw0 = random(g.O * CK, rng), dx0 = random(x.length, rng);
  const y = alloc('float32', dy.length) as Float32Array, yRef = y.slice();
  const dw = dw0.slice(), dwRef = dw0.slice(), dx = dx0.slice(), dxRef = dx0.slice();
  kernels.conv2d(g, x, w, b, y);
  cpuConv.conv2d(g, x, w, b, yRef);
  kernels.conv2dBackpropFilter(g, x, dy, dw);
  cpuConv.conv2dBackpropFilter(g, x, dy, dwRef);
  kernels.conv2dBackpropInput(g, w, dy, dx);
  cpuConv.conv2dBackpropInput(g, w, dy, dxRef);
  const at = `${what}: ${JSON.stringify(g)}`;
  expect(y, `${at} y`).toEqual(yRef);
  expect(dw, `${at} dw`).toEqual(dwRef);
  expect(dx, `${at} dx`).toEqual(dxRef);
}

describe('wasm conv kernels equal the cpu conv algorithm on the wasm GEMM, bit for bit', () => {
  beforeAll(() => activate('wasm'));

  it('on random geometries', () => {
    const rng = new Rng(21);
    const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
    for (let t = 0; t < 120; t++) {
      const kh = int(1, 7), kw = t % 3 ? kh : int(1, 7), sh = int(1, 3), sw = t % 4 ? 2 : int(1, 3);
      const ph = int(0, 3), pw = int(0, 3);
      const H = int(Math.max(1, kh - 2 * ph), 24), W = int(Math.max(1, kw - 2 * pw), 40);
      expectSame(geometry(int(1, 3), int(1, 9), H, W, int(1, 17), kh, kw, sh, sw, ph, pw), rng, `case ${t}`);
    }
  });

  it('at the tiny model\'s shapes (2 images)', () => {
    const rng = new Rng(22);
    const real: [number, number, number, number, number, number, number][] = [
      // C, H, W, O, k, s, p
      [3, 128, 64, 8, 7, 2, 3], [8, 32, 16, 8, 3, 1, 1], [8, 32, 16, 32, 1, 1, 0], [16, 32, 16, 16, 3, 2, 1],
      [32, 16, 8, 64, 1, 2, 0], [64, 8, 4, 64, 3, 1, 1], [128, 8, 4, 256, 1, 1, 0],
    ];
    for (const [C, H, W, O, k, s, p] of real) expectSame(geometry(2, C, H, W, O, k, k, s, s, p, p), rng, 'tiny');
  });

  it('dW over any split of the im2col rows (implicit and im2col paths alike) and the forward over any split of the images', () => {
    const rng = new Rng(24);
    const { convForwardRange, convBackpropFilterRange } = convRanges;
    for (const g of [geometry(3, 3, 40, 34, 8, 7, 7, 2, 2, 3, 3), geometry(2, 5, 12, 19, 13, 3, 3, 1, 1, 1, 1), geometry(2, 4, 14, 30, 9, 3, 2, 3, 2, 0, 1)]) {
      const CK = g.C * g.kh * g.kw;
      const x = random(g.N * g.C * g.H * g.W, rng), w = random(g.O * CK, rng), dy = random(g.N * g.O * g.Ho * g.Wo, rng), dw0 = random(g.O * CK, rng);
      const whole = dw0.slice(), y = new Float32Array(dy.length);
      convBackpropFilterRange(g, x, dy, whole, 0, CK);
      convForwardRange(g, x, w, null, y, 0, g.N);
      for (const cut of [1, 5, 6, 7, 13, CK - 1]) {
        const parts = dw0.slice();
        convBackpropFilterRange(g, x, dy, parts, 0, cut);
        convBackpropFilterRange(g, x, dy, parts, cut, CK);
        expect(parts, `${JSON.stringify(g)} rows split at ${cut}`).toEqual(whole);
      }
      const yParts = new Float32Array(dy.length);
      convForwardRange(g, x, w, null, yParts, 0, 1);
      convForwardRange(g, x, w, null, yParts, 1, g.N);
      expect(yParts).toEqual(y);
    }
  });

  it('with more than 72 output channels, more than 256 im2col rows (several row blocks and K-slices), 4-wide outputs of odd height', () => {
    const rng = new Rng(23);
    for (const [C, H, W, O, k, s, p] of [[30, 12, 20, 77, 3, 1, 1], [29, 9, 37, 150, 3, 2, 1], [6, 10, 27, 73, 7, 2, 3], [7, 7, 4, 77, 3, 1, 1], [9, 13, 8, 10, 3, 2, 1]]) {
      expectSame(geometry(2, C, H, W, O, k, k, s, s, p, p), rng, 'wide');
    }
  });
});
