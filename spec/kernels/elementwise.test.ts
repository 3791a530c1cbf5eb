/**
 * The elementwise kernels of every backend (relu, its backward, same-shape add, addInto) at the
 * real sizes of the models and at lengths that are not a multiple of 4 (the SIMD width), float32,
 * against their definitions: each output is one float32 operation, so every backend must give it
 * exactly. The inputs include 0, −0 and values on both sides of 0.
 */
import { expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { describeEachBackend } from './each-backend.ts';

const LENGTHS = [32 * 32 * 32 * 16, 32 * 256 * 8 * 4, 4099, 4101, 37];

function random(n: number, rng: Rng): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = i % 97 === 0 ? 0 : i % 89 === 0 ? -0 : rng.normal();
  return a;
}

/** The first index where got and want differ (−0 and 0 count as equal), or −1. */
function firstDifference(got: Float32Array, want: ArrayLike<number>): number {
  if (got.length !== want.length) return 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) return i;
  return -1;
}

describeEachBackend('elementwise kernels at the real sizes, exactly', () => {
  for (const n of LENGTHS) {
    it(`relu, reluBackward, add, addInto on ${n} values`, () => {
      const rng = new Rng(n);
      const x = random(n, rng), b = random(n, rng), dx0 = random(n, rng);
      const dy = alloc('float32', n) as Float32Array;
      for (let i = 0; i < n; i++) dy[i] = 1 + Math.abs(rng.normal()); // nonzero where x is ±0, so [x > 0] shows
      const y = alloc('float32', n) as Float32Array;
      y.fill(Number.NaN);
      kernels.relu(x, y);
      expect(firstDifference(y, Array.from(x, (v) => (v > 0 ? v : 0))), 'relu: y = x > 0 ? x : 0').toBe(-1);

      const dx = dx0.slice();
      kernels.reluBackward(x, dy, dx);
      expect(firstDifference(dx, Array.from(dx0, (v, i) => (x[i] > 0 ? Math.fround(v + dy[i]) : v))), 'reluBackward: dx += [x > 0] dy').toBe(-1);

      y.fill(Number.NaN);
      kernels.add(x, b, y);
      expect(firstDifference(y, Array.from(x, (v, i) => Math.fround(v + b[i]))), 'add: y = a + b').toBe(-1);

      const acc = dx0.slice();
      kernels.addInto(acc, b);
      expect(firstDifference(acc, Array.from(dx0, (v, i) => Math.fround(v + b[i]))), 'addInto: y += x').toBe(-1);
    });
  }
});
