/**
 * softmax, its backward and the bias gradient of every backend, float32, against the float64
 * definitions of spec/reference/core.ts, at the attention maps' real row lengths (32 positions of
 * the tiny model's 8x4 layer4, 128 of ResNet-50's 16x8) and at long rows (1500, 8192), and the
 * bias gradients of conv1 (64 channels over 64x32 positions) and of a linear layer.
 */
import { expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { softmaxReference } from '../reference/core.ts';
import { describeEachBackend } from './each-backend.ts';

const f32 = (n: number, rng: Rng, scale = 3) => {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
};

/** max |got − want| / max |want|. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return d / m;
}

describeEachBackend('softmax and the bias gradient', () => {
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
});
