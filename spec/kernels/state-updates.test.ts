/**
 * The kernels that keep per-channel, per-row and optimizer state, on every backend, with that state
 * in the backend's precision (core/backend.ts stateDtype: float64 on cpu and wasm, float32 on the
 * simulated device), float32 tensors, at the real shapes of the models, against the float64
 * references of spec/reference/core.ts:
 *
 * - BatchNorm's running statistics, scale and shift (batchNormScaleShift) between its statistics and
 *   its normalisation, training and eval: y and the running statistics;
 * - row L2 normalisation and its backward at the embedding sizes (the tiny model's 256, ResNet-50's
 *   2048), a row of zeros (the clamped case) among them;
 * - Adam, three steps, at the size of a ResNet-50 layer4 conv;
 * - all four (and the finiteness flag) on random shapes too (fast-check), the same references.
 */
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { kernels, stateDtype } from '../../core/backend.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { adamReference, batchNormReference, l2NormalizeReference } from '../reference/core.ts';
import { describeEachBackend } from './each-backend.ts';

const f32 = (n: number, rng: Rng, scale = 1, centre = 0) => {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = centre + scale * rng.normal();
  return a;
};
const state = (n: number) => alloc(stateDtype(), n).fill(Number.NaN);

/** max |got − want| / max |want|. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
  return d / m;
}

describeEachBackend('state kernels: BatchNorm scale and shift, L2 normalisation, Adam', () => {
  for (const shape of [[32, 64, 32, 16], [64, 256]]) {
    for (const training of [true, false]) {
      it(`BatchNorm of [${shape}] through its running statistics, scale and shift (${training ? 'training' : 'eval'})`, () => {
        const [N, C] = shape;
        const n = shape.reduce((a, b) => a * b, 1);
        const l = { N, C, S: n / (N * C) };
        const rng = new Rng(n + (training ? 1 : 0));
        const x = f32(n, rng, 2, 3), gamma = f32(C, rng), beta = f32(C, rng);
        const runningMean = f32(C, rng, 1, 3), runningVar = f32(C, rng).map((v) => 1 + Math.abs(v));
        const want = batchNormReference(x, shape, gamma, beta, runningMean, runningVar, training, 0.1, 1e-5);
        const [mean, variance, invStd, scale, shift] = Array.from({ length: 5 }, () => state(C));
        if (training) kernels.batchNormStatistics(l, x, mean, variance);
        kernels.batchNormScaleShift(C, { training, momentum: 0.1, eps: 1e-5, n: N * l.S }, gamma, beta, runningMean, runningVar,
          mean, variance, invStd, scale, shift);
        const y = alloc('float32', n);
        kernels.batchNormNormalize(l, x, scale, shift, y);
        expect(relError(y, want.y), 'y').toBeLessThan(2e-6);
        expect(relError(runningMean, want.runningMean), 'running mean').toBeLessThan(1e-6);
        expect(relError(runningVar, want.runningVar), 'running variance').toBeLessThan(1e-6);
        expect(Array.from(invStd).every((v, c) => Math.abs(v * Math.sqrt((training ? variance[c] : runningVar[c]) + 1e-5) - 1) < 1e-6)).toBe(true);
      });
    }
  }

  for (const [rows, D] of [[64, 2048], [32, 256]]) {
    it(`row L2 normalisation and its backward, ${rows} rows of ${D}, one of them zeros`, () => {
      const rng = new Rng(rows * D);
      const x = f32(rows * D, rng), dy = f32(rows * D, rng), dx0 = f32(rows * D, rng);
      x.fill(0, D, 2 * D); // row 1: norm 0, clamped to eps
      const eps = 1e-12;
      const y = alloc('float32', rows * D).fill(Number.NaN), norms = state(rows);
      kernels.l2Normalize(rows, D, eps, x, y, norms);
      expect(relError(y, l2NormalizeReference(x, D, eps)), 'y').toBeLessThan(1e-6);
      expect(norms[1]).toBe(0);
      const dx = dx0.slice();
      kernels.l2NormalizeBackward(rows, D, eps, y, norms, dy, dx);
      // d/dx of x / ‖x‖: (dy − y (y · dy)) / ‖x‖, from x in float64; the clamped row: dy / eps
      const wantDx = Float64Array.from(dx0);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        const o = r * D;
        let s = 0;
        for (let j = 0; j < D; j++) s += x[o + j] ** 2;
        const norm = Math.sqrt(s);
        let dot = 0;
        for (let j = 0; j < D; j++) dot += (x[o + j] / norm) * dy[o + j];
        for (let j = 0; j < D; j++) {
          wantDx[o + j] += norm === 0 ? dy[o + j] / eps : (dy[o + j] - (x[o + j] / norm) * dot) / norm;
          if (norm > 0) worst = Math.max(worst, Math.abs(dx[o + j] - wantDx[o + j]) / (Math.abs(dx0[o + j]) + (Math.abs(dy[o + j]) + Math.abs(dot)) / norm));
        }
        if (norm === 0) for (let j = 0; j < D; j++) expect(dx[o + j]).toBe(Math.fround(dx0[o + j] + dy[o + j] / eps));
      }
      expect(worst, 'dx, relative to the terms').toBeLessThan(1e-5);
    });
  }

  it('Adam, three steps at the size of a ResNet-50 layer4 conv (256·256·9 + 5 values)', () => {
    const n = 256 * 256 * 9 + 5;
    const rng = new Rng(n);
    // parameters of the size of a few steps (lr 1e-3), so that the update, not θ's own rounding, is what is compared
    const theta0 = f32(n, rng, 1e-3), grads = [f32(n, rng), f32(n, rng), f32(n, rng)];
    const [lr, beta1, beta2, eps, weightDecay] = [1e-3, 0.9, 0.999, 1e-8, 5e-4];
    const want = adamReference(theta0, grads, lr, beta1, beta2, eps, weightDecay);
    const theta = theta0.slice(), m = state(n).fill(0), v = state(n).fill(0);
    grads.forEach((g, t) => kernels.adamUpdate(n, { beta1, beta2, eps, weightDecay, stepSize: lr / (1 - beta1 ** (t + 1)),
      bc2: Math.sqrt(1 - beta2 ** (t + 1)) }, theta, g, m, v));
    expect(relError(theta, want.theta), 'θ').toBeLessThan(1e-6);
    expect(relError(m, want.m), 'm').toBeLessThan(1e-6);
    expect(relError(v, want.v), 'v').toBeLessThan(1e-6);
  });

  it('on random shapes: BatchNorm scale and shift, L2 normalisation and its backward, Adam, the finiteness flag', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.boolean(),
      fc.integer({ min: 0, max: 1000 }), (N, C, S, training, seed) => {
        const n = N * C * S, l = { N, C, S };
        const rng = new Rng(seed);
        const x = f32(n, rng, 2, 1), gamma = f32(C, rng), beta = f32(C, rng);
        const runningMean = f32(C, rng), runningVar = f32(C, rng).map((v) => 1 + Math.abs(v));
        const want = batchNormReference(x, [N, C, S], gamma, beta, runningMean, runningVar, training, 0.1, 1e-5);
        const [mean, variance, invStd, scale, shift] = Array.from({ length: 5 }, () => state(C));
        if (training) kernels.batchNormStatistics(l, x, mean, variance);
        kernels.batchNormScaleShift(C, { training, momentum: 0.1, eps: 1e-5, n: N * S }, gamma, beta, runningMean, runningVar,
          mean, variance, invStd, scale, shift);
        const y = alloc('float32', n);
        kernels.batchNormNormalize(l, x, scale, shift, y);
        expect(relError(y, want.y), 'BatchNorm y').toBeLessThan(1e-5);
        expect(relError(runningVar, want.runningVar), 'running variance').toBeLessThan(1e-6);

        // L2 normalisation of x viewed as [N·C, S], and its backward against the float64 formula
        const rows = N * C, dy = f32(n, rng), norms = state(rows), z = alloc('float32', n);
        kernels.l2Normalize(rows, S, 1e-12, x, z, norms);
        expect(relError(z, l2NormalizeReference(x, S, 1e-12)), 'L2 y').toBeLessThan(1e-6);
        const dx = alloc('float32', n);
        kernels.l2NormalizeBackward(rows, S, 1e-12, z, norms, dy, dx);
        // relative to the size of the terms (a row of one value has gradient 0 exactly)
        let worst = 0;
        for (let r = 0; r < rows; r++) {
          let q = 0, dot = 0;
          for (let j = 0; j < S; j++) q += x[r * S + j] ** 2;
          const norm = Math.sqrt(q);
          for (let j = 0; j < S; j++) dot += (x[r * S + j] / norm) * dy[r * S + j];
          for (let j = 0; j < S; j++) {
            const yj = x[r * S + j] / norm, want = (dy[r * S + j] - yj * dot) / norm;
            worst = Math.max(worst, Math.abs(dx[r * S + j] - want) / ((Math.abs(dy[r * S + j]) + Math.abs(yj * dot)) / norm));
          }
        }
        expect(worst, 'L2 dx, relative to its terms').toBeLessThan(1e-5);

        // Adam: two steps on θ = x
        const theta = x.map((v) => v * 1e-3), grads = [f32(n, rng), f32(n, rng)];
        const adam = adamReference(theta, grads, 1e-3, 0.9, 0.999, 1e-8, 5e-4);
        const m = state(n).fill(0), v = state(n).fill(0);
        grads.forEach((g, t) => kernels.adamUpdate(n, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 5e-4, stepSize: 1e-3 / (1 - 0.9 ** (t + 1)),
          bc2: Math.sqrt(1 - 0.999 ** (t + 1)) }, theta, g, m, v));
        expect(relError(theta, adam.theta), 'Adam θ').toBeLessThan(1e-6);

        // the finiteness flag: a NaN at a random place
        const flags = alloc('float32', 2);
        const bad = x.slice();
        bad[seed % n] = Number.NaN;
        kernels.nonFinite(n, x, flags, 0);
        kernels.nonFinite(n, bad, flags, 1);
        expect(Array.from(flags)).toEqual([0, 1]);
      }), { numRuns: 40 });
  });
});
