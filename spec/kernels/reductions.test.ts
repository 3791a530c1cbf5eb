/**
 * The row-wise kernels of every backend, float32, against float64 definitions: softmax and its
 * backward (spec/reference/core.ts) at the attention maps' real row lengths (32 positions of the
 * tiny model's 8x4 layer4, 128 of ResNet-50's 16x8) and at long rows (1500, 8192), and the cpu
 * kernels' softmax bit for bit over the whole range of e^t and on random shapes; the bias
 * gradients of conv1 (64 channels over 64x32 positions) and of a linear layer; the sum over an axis
 * (DLA's sum over heads) and global average pooling (layer4's 8x4 and ResNet-50's 16x8 maps) with
 * their backward; the finiteness flag (nonFinite) at a ResNet-50 layer4 conv's size, the bad value
 * last, NaN, +∞ or −∞.
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { kernels } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { avgPoolReference, softmaxReference, sumReference } from '../reference/core.ts';
import * as cpuSoftmax from '../../core/kernels/softmax.ts';
import { describeEachBackend } from './each-backend.ts';

const f32 = (n: number, rng: Rng, scale = 3) => {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
};

/** The first index where got and want differ (NaN equals NaN), or −1. */
function firstDifference(got: Float32Array, want: Float32Array): number {
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return i;
  return -1;
}

/** max |got − want| / max |want|. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return d / m;
}

describeEachBackend('softmax, bias gradients, sums and mean pooling', () => {
  for (const [rows, n] of [[2 * 4 * 32, 32], [2 * 4 * 128, 128], [3, 1500], [2, 8192], [5, 1]]) {
    it(`softmax forward and backward, ${rows} rows of ${n}`, () => {
      const rng = new Rng(rows + n);
      const x = f32(rows * n, rng), dy = f32(rows * n, rng, 1), dx0 = f32(rows * n, rng, 1);
      const y = (alloc('float32', rows * n) as Float32Array).fill(Number.NaN);
      kernels.softmax(rows, n, x, y);
      const want = softmaxReference(x, n);
      expect(relError(y, want)).toBeLessThan(1e-5);
      const dx = dx0.slice();
      kernels.softmaxBackward(rows, n, y, dy, dx);
      const wantDx = new Float64Array(rows * n);
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        for (let j = 0; j < n; j++) dot += dy[r * n + j] * y[r * n + j];
        for (let j = 0; j < n; j++) wantDx[r * n + j] = dx0[r * n + j] + y[r * n + j] * (dy[r * n + j] - dot);
      }
      expect(relError(dx, wantDx)).toBeLessThan(1e-5);
    });
  }

  for (const [rows, n, scale] of [[512, 37, 300], [32 * 4 * 32, 32, 3]]) {
    it(`softmax and its backward equal the cpu kernels bit for bit, ${rows} rows of ${n} spread over ±${2 * scale}`, () => {
      // x − max runs past −87 (float32's e^t ends) and −745 (float64's); −∞ gives a weight of 0, a NaN a NaN row
      const rng = new Rng(n);
      const x = f32(rows * n, rng, scale), dy = f32(rows * n, rng, 1), dx0 = f32(rows * n, rng, 1);
      x[3] = -Infinity;
      x[n + 5] = Number.NaN;
      const y = alloc('float32', rows * n) as Float32Array, want = new Float32Array(rows * n);
      kernels.softmax(rows, n, x, y);
      cpuSoftmax.softmax(rows, n, x, want);
      expect(y[3]).toBe(0);
      expect(Array.from(y.subarray(n, 2 * n)).every(Number.isNaN), 'a NaN makes its row NaN').toBe(true);
      expect(firstDifference(y, want), 'softmax').toBe(-1);
      const dx = dx0.slice(), wantDx = dx0.slice();
      kernels.softmaxBackward(rows, n, y, dy, dx);
      cpuSoftmax.softmaxBackward(rows, n, y, dy, wantDx);
      expect(firstDifference(dx, wantDx), 'softmaxBackward').toBe(-1);
    });
  }

  it('softmax and its backward equal the cpu kernels bit for bit on random shapes (rows of any length, tails of the SIMD width)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 1e6 }),
      (rows, n, scale, seed) => {
        const rng = new Rng(seed);
        const x = f32(rows * n, rng, scale), dy = f32(rows * n, rng, 1), dx = f32(rows * n, rng, 1);
        const y = alloc('float32', rows * n) as Float32Array, want = new Float32Array(rows * n), wantDx = dx.slice();
        kernels.softmax(rows, n, x, y);
        cpuSoftmax.softmax(rows, n, x, want);
        kernels.softmaxBackward(rows, n, y, dy, dx);
        cpuSoftmax.softmaxBackward(rows, n, y, dy, wantDx);
        return firstDifference(y, want) === -1 && firstDifference(dx, wantDx) === -1;
      }), { numRuns: 60 });
  });

  for (const [N, O, P] of [[4, 64, 64 * 32], [32, 751, 1]]) {
    it(`bias gradient of dy [${N}, ${O}, ${P}]`, () => {
      const rng = new Rng(O);
      const dy = f32(N * O * P, rng, 1), db0 = f32(O, rng, 1);
      const db = db0.slice();
      kernels.biasGradient(N, O, P, dy, db);
      const want = Float64Array.from(db0);
      for (let i = 0; i < dy.length; i++) want[Math.floor(i / P) % O] += dy[i];
      expect(relError(db, want)).toBeLessThan(1e-5);
    });
  }

  for (const shape of [[32, 4, 64], [2, 3, 5, 7]]) {
    it(`sum over axis 1 of [${shape}] and its backward`, () => {
      const rng = new Rng(shape.length);
      const [outer, n] = shape, inner = shape.slice(2).reduce((a, b) => a * b, 1);
      const x = f32(outer * n * inner, rng), dy = f32(outer * inner, rng, 1), dx0 = f32(x.length, rng, 1);
      const y = (alloc('float32', outer * inner) as Float32Array).fill(Number.NaN);
      kernels.sumAxis(outer, n, inner, x, y);
      expect(relError(y, sumReference(x, shape, 1))).toBeLessThan(1e-5);
      const dx = dx0.slice();
      kernels.sumAxisBackward(outer, n, inner, dy, dx);
      const want = Float64Array.from(dx0, (v, j) => v + dy[Math.floor(j / (n * inner)) * inner + (j % inner)]);
      expect(relError(dx, want)).toBeLessThan(1e-6);
    });
  }

  for (const [N, C, H, W] of [[32, 256, 8, 4], [4, 2048, 16, 8]]) {
    it(`global average pooling of [${N}, ${C}, ${H}, ${W}] and its backward`, () => {
      const rng = new Rng(C);
      const P = H * W;
      const x = f32(N * C * P, rng), dy = f32(N * C, rng, 1), dx0 = f32(x.length, rng, 1);
      const y = (alloc('float32', N * C) as Float32Array).fill(Number.NaN);
      kernels.meanPool(N * C, P, x, y);
      expect(relError(y, avgPoolReference(x, [N, C, H, W]))).toBeLessThan(1e-5);
      const dx = dx0.slice();
      kernels.meanPoolBackward(N * C, P, dy, dx);
      expect(relError(dx, Float64Array.from(dx0, (v, j) => v + dy[Math.floor(j / P)] / P))).toBeLessThan(1e-6);
    });
  }

  it('nonFinite flags NaN and ±∞ anywhere, the last of 256·256·9 values included, and leaves a slot alone otherwise', () => {
    const n = 256 * 256 * 9;
    const x = f32(n, new Rng(n));
    const flags = alloc('float32', 6).fill(0);
    flags[5] = 7;
    kernels.nonFinite(n, x, flags, 0);
    for (const [slot, bad] of [[1, Number.NaN], [2, Infinity], [3, -Infinity]] as const) {
      const y = x.slice();
      y[n - 1] = bad;
      kernels.nonFinite(n, y, flags, slot);
    }
    kernels.nonFinite(1, Float32Array.of(3.4028234663852886e38), flags, 4); // the largest float32 is finite
    // a finite tensor checked into a slot already set leaves it set (one slot flags many tensors)
    kernels.nonFinite(n, x, flags, 1);
    kernels.nonFinite(n, x, flags, 5);
    expect(Array.from(flags)).toEqual([0, 1, 1, 1, 0, 7]);
  });
});
