/**
 * The BatchNorm kernels of every backend (statistics, normalisation, backward in training and eval)
 * at the real shapes of the models, float32 values, against their equations evaluated in float64
 * here. Channel rows whose length is not a multiple of 4 (the SIMD width) and BatchNorm1d (S = 1)
 * exercise the kernels' tails; x has a mean far from 0, so a variance summed carelessly would show.
 */
import { expect, it } from 'vitest';
import { kernels } from '../../core/backend.ts';
import type { BatchNormLayout } from '../../core/kernels/batchnorm.ts';
import { Rng } from '../../core/random.ts';
import { alloc } from '../../core/tensor.ts';
import { describeEachBackend } from './each-backend.ts';

const SHAPES: [string, number[]][] = [
  ['ResNet-50 layer1 [32, 64, 32, 16]', [32, 64, 32, 16]],
  ['tiny stem [32, 8, 64, 32]', [32, 8, 64, 32]],
  ['tiny layer4 [32, 256, 8, 4]', [32, 256, 8, 4]],
  ['odd rows [16, 6, 7, 13]', [16, 6, 7, 13]],
  ['BatchNorm1d [64, 256]', [64, 256]],
];

function random(n: number, rng: Rng, centre: number): Float32Array {
  const a = alloc('float32', n) as Float32Array;
  for (let i = 0; i < n; i++) a[i] = centre + rng.normal();
  return a;
}

/** Per-channel arrays of a layout, in float64, by the equations of core/kernels/batchnorm.ts. */
function statistics({ N, C, S }: BatchNormLayout, x: Float32Array) {
  const mean = new Float64Array(C), variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const v: number[] = [];
    for (let i = 0; i < N; i++) for (let p = 0; p < S; p++) v.push(x[(i * C + c) * S + p]);
    mean[c] = v.reduce((a, b) => a + b, 0) / v.length;
    variance[c] = v.reduce((a, b) => a + (b - mean[c]) ** 2, 0) / v.length;
  }
  return { mean, variance };
}

describeEachBackend('BatchNorm kernels at the real shapes of the models', () => {
  for (const [name, shape] of SHAPES) {
    it(name, () => {
      const [N, C] = shape;
      const n = shape.reduce((a, b) => a * b, 1);
      const l = { N, C, S: n / (N * C) };
      const rng = new Rng(n + C);
      const x = random(n, rng, 3), dy = random(n, rng, 0.1), dx0 = random(n, rng, 0);
      const want = statistics(l, x);

      // statistics: mean[c] = Σ x / n, variance[c] = Σ (x − mean)² / n, float64 sums
      const mean = new Float64Array(C), variance = new Float64Array(C);
      kernels.batchNormStatistics(l, x, mean, variance);
      for (let c = 0; c < C; c++) {
        expect(Math.abs(mean[c] - want.mean[c]), `${name}: mean[${c}]`).toBeLessThan(1e-9 * 3);
        expect(Math.abs(variance[c] - want.variance[c]), `${name}: variance[${c}]`).toBeLessThan(1e-9 * want.variance[c]);
      }

      // normalise: y = x · scale[c] + shift[c] in float64, rounded once to float32: exactly (a fold into
      // float32 arithmetic loses digits where the mean is large against the spread)
      const invStd = want.variance.map((v) => 1 / Math.sqrt(v + 1e-5));
      const scale = invStd.map((s, c) => s * (0.5 + (c % 3) / 2));
      const shift = scale.map((s, c) => (c % 5) / 10 - want.mean[c] * s);
      const y = alloc('float32', n) as Float32Array;
      kernels.batchNormNormalize(l, x, scale, shift, y);
      let wrongY = 0;
      for (let i = 0; i < n; i++) {
        const c = Math.floor(i / l.S) % C;
        if (y[i] !== Math.fround(x[i] * scale[c] + shift[c])) wrongY++;
      }
      expect(wrongY, `${name}: values of y not equal to fround(x · scale + shift)`).toBe(0);

      for (const training of [true, false]) {
        // sums[c] = Σ dy, sums[C + c] = Σ dy x̂;  dx += scale (dy − Σdy/n − x̂ Σ dy x̂/n)  (eval: scale · dy)
        const sumDy = new Float64Array(C), sumDyXhat = new Float64Array(C), bound = new Float64Array(C);
        for (let i = 0; i < n; i++) {
          const c = Math.floor(i / l.S) % C;
          const xhat = (x[i] - want.mean[c]) * invStd[c];
          sumDy[c] += dy[i];
          sumDyXhat[c] += dy[i] * xhat;
          bound[c] += Math.abs(dy[i] * xhat) + Math.abs(dy[i]);
        }
        const count = N * l.S;
        const dx = dx0.slice();
        // dβ += Σ dy, dγ += Σ dy x̂ onto values already there
        const dGamma0 = Float64Array.from({ length: C }, (_, c) => c / 7), dBeta0 = Float64Array.from({ length: C }, (_, c) => -c / 5);
        const dGamma = dGamma0.slice(), dBeta = dBeta0.slice();
        kernels.batchNormBackward(l, x, dy, want.mean, invStd, scale, training, dx, dGamma, dBeta);
        for (let c = 0; c < C; c++) {
          expect(Math.abs(dBeta[c] - dBeta0[c] - sumDy[c]), `${name}: Σ dy [${c}]`).toBeLessThan(1e-12 * (bound[c] + C));
          expect(Math.abs(dGamma[c] - dGamma0[c] - sumDyXhat[c]), `${name}: Σ dy x̂ [${c}]`).toBeLessThan(1e-12 * (bound[c] + C));
        }
        let worst = 0;
        for (let i = 0; i < n; i++) {
          const c = Math.floor(i / l.S) % C;
          const xhat = (x[i] - want.mean[c]) * invStd[c];
          const a = training ? sumDy[c] / count : 0, b = training ? sumDyXhat[c] / count : 0;
          const exact = dx0[i] + scale[c] * (dy[i] - a - xhat * b);
          const size = Math.abs(dx0[i]) + Math.abs(scale[c]) * (Math.abs(dy[i]) + Math.abs(a) + Math.abs(xhat * b) + Math.abs(x[i] * invStd[c] * b));
          worst = Math.max(worst, Math.abs(dx[i] - exact) / size);
        }
        expect(worst, `${name}: dx (training ${training}), worst error relative to the terms' size`).toBeLessThan(6e-7);
        const onlyGamma = dGamma0.slice(), onlyBeta = dBeta0.slice();
        kernels.batchNormBackward(l, x, dy, want.mean, invStd, scale, training, null, onlyGamma, onlyBeta);
        expect(onlyGamma).toEqual(dGamma);
        expect(onlyBeta).toEqual(dBeta);
        const dxOnly = dx0.slice();
        kernels.batchNormBackward(l, x, dy, want.mean, invStd, scale, training, dxOnly, null, null);
        expect(dxOnly).toEqual(dx);
      }
    });
  }
});
