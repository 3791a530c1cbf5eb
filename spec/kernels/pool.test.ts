/**
 * The max-pooling kernels of every backend at the real shapes of the models (the stem's 3x3/2 pool
 * with padding 1 of the tiny model and of ResNet-50) and an odd one (non-square window and stride,
 * rows not a multiple of anything), float32, against the definition: y is the window maximum,
 * argmax the first maximal position (within its plane) in row-major window order (values are quantised, so windows
 * hold ties), and the backward sends dy to the argmax. Every backend must give them exactly.
 */
import { expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { convOutputSize } from '../../core/kernels/conv.ts';
import type { PoolGeometry } from '../../core/kernels/pool.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { describeEachBackend } from './each-backend.ts';

function geometry(N: number, C: number, H: number, W: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number): PoolGeometry {
  return { planes: N * C, H, W, kh, kw, sh, sw, ph, pw, Ho: convOutputSize(H, kh, sh, ph), Wo: convOutputSize(W, kw, sw, pw) };
}

const SHAPES: [string, PoolGeometry][] = [
  ['tiny stem [32, 8, 64, 32] 3x3/2 pad 1', geometry(32, 8, 64, 32, 3, 3, 2, 2, 1, 1)],
  ['ResNet-50 stem [2, 64, 128, 64] 3x3/2 pad 1', geometry(2, 64, 128, 64, 3, 3, 2, 2, 1, 1)],
  ['odd [6, 7, 17, 11] 2x3 stride (1, 2) pad (1, 1)', geometry(6, 7, 17, 11, 2, 3, 1, 2, 1, 1)],
];

describeEachBackend('max-pooling kernels at the real shapes, exactly', () => {
  for (const [name, g] of SHAPES) {
    it(name, () => {
      const rng = new Rng(g.planes + g.H);
      const x = alloc('float32', g.planes * g.H * g.W) as Float32Array;
      for (let i = 0; i < x.length; i++) x[i] = Math.round(rng.normal() * 3) / 4;
      const outs = g.planes * g.Ho * g.Wo;
      const y = alloc('float32', outs) as Float32Array, argmax = alloc('float32', outs) as Float32Array;
      kernels.maxPool2d(g, x, y, argmax);
      const dy = alloc('float32', outs) as Float32Array;
      for (let o = 0; o < outs; o++) dy[o] = rng.normal();
      const dx = alloc('float32', x.length) as Float32Array;
      kernels.maxPool2dBackward(g, dy, argmax, dx);

      const wantDx = new Float64Array(x.length);
      let wrong = 0;
      for (let q = 0, o = 0; q < g.planes; q++)
        for (let oy = 0; oy < g.Ho; oy++)
          for (let ox = 0; ox < g.Wo; ox++, o++) {
            let best = -Infinity, at = -1;
            for (let i = 0; i < g.kh; i++)
              for (let j = 0; j < g.kw; j++) {
                const yy = oy * g.sh - g.ph + i, xx = ox * g.sw - g.pw + j;
                if (yy < 0 || yy >= g.H || xx < 0 || xx >= g.W) continue;
                const k = (q * g.H + yy) * g.W + xx;
                if (at < 0 || x[k] > best) { best = x[k]; at = k; }
              }
            if (y[o] !== best || argmax[o] !== at - q * g.H * g.W) wrong++;
            wantDx[at] += dy[o];
          }
      expect(wrong, `${name}: outputs whose maximum or argmax differ`).toBe(0);
      let dxWrong = 0;
      for (let i = 0; i < x.length; i++) if (Math.abs(dx[i] - wantDx[i]) > 1e-6 * (1 + Math.abs(wantDx[i]))) dxWrong++;
      expect(dxWrong, `${name}: dx = Σ dy at the argmax`).toBe(0);
    });
  }
});
