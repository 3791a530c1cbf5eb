/**
 * The wasm max-pool kernel's four-windows-at-once path (stride 1 or 2, windows whose columns are
 * all inside) and its scalar edges against the cpu kernel (core/kernels/pool.ts), exactly, on
 * random geometries (window 1..5, stride 1..3, padding below the window), with quantised values (ties
 * in every window), NaN and −∞ among them. (spec/kernels/pool.test.ts checks every backend against
 * the definition at the real shapes.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { convOutputSize } from '../../core/kernels/conv.ts';
import * as cpuPool from '../../core/kernels/pool.ts';
import type { PoolGeometry } from '../../core/kernels/pool.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { activate } from './each-backend.ts';

describe('wasm max-pool equals the cpu kernel, bit for bit', () => {
  beforeAll(() => activate('wasm'));

  it('on random geometries with ties, NaN and −∞', () => {
    const rng = new Rng(31);
    const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
    for (let t = 0; t < 60; t++) {
      const kh = int(1, 5), kw = int(1, 5), sh = int(1, 3), sw = t % 3 ? int(1, 2) : int(1, 3);
      const ph = int(0, kh - 1) >> 1, pw = int(0, kw - 1) >> 1;
      const H = int(kh, 30), W = int(kw, 45);
      const planes = Math.ceil(4096 / (H * W)) + int(0, 3); // past the wrapper's cpu fallback for small inputs
      const g: PoolGeometry = { planes, H, W, kh, kw, sh, sw, ph, pw, Ho: convOutputSize(H, kh, sh, ph), Wo: convOutputSize(W, kw, sw, pw) };
      const x = alloc('float32', planes * H * W) as Float32Array;
      for (let i = 0; i < x.length; i++) {
        const u = rng.uniform(0, 1);
        x[i] = u < 0.01 ? NaN : u < 0.02 ? -Infinity : Math.round(rng.uniform(-4, 4));
      }
      const n = planes * g.Ho * g.Wo;
      const y = alloc('float32', n) as Float32Array, yRef = y.slice();
      const am = new Float32Array(n), amRef = new Float32Array(n);
      kernels.maxPool2d(g, x, y, am);
      cpuPool.maxPool2d(g, x, yRef, amRef);
      expect(y, JSON.stringify(g)).toEqual(yRef);
      expect(am, JSON.stringify(g)).toEqual(amRef);
    }
  });
});
