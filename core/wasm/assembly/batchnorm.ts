/**
 * The BatchNorm kernels of core/kernels/batchnorm.ts in WebAssembly SIMD, float32 values with
 * float64 per-channel values and sums, on channels c0..c1 of x viewed as [N, C, S] (operands in
 * this module's linear memory, byte addresses; per-channel arrays are f64 [C]). Channels are
 * independent, so any split of [0, C) gives the same numbers, bit for bit. Per channel c over its
 * n = N·S values:
 *
 *   batchNormStatistics:  mean[c] = Σ x / n,  variance[c] = Σ (x − mean[c])² / n   (two passes, f64 sums)
 *   batchNormNormalize:   y = x · scale[c] + shift[c]
 *   batchNormBackward:    sums[c] = Σ dy,  sums[C + c] = Σ dy x̂  with x̂ = (x − mean[c]) invStd[c]   (f64 sums)
 *                         dx += scale[c] (dy − Σ dy / n − x̂ Σ dy x̂ / n)   (training; if dx ≠ 0)
 *                         dx += scale[c] dy                              (eval)
 *
 * Loads are f32x4, split into two f64x2 halves, and all arithmetic is f64, as in the cpu kernel:
 * y is the cpu kernel's, bit for bit (folding the arithmetic into f32 lost digits where x's
 * mean is large against its spread); the sums run in another order, so they, and dx, agree
 * within float64 rounding.
 */
import { hi, join, lo, total } from './f64-lanes';

@inline function row(base: usize, i: i32, C: i32, c: i32, S: i32): usize {
  return base + ((<usize>(i * C + c) * <usize>S) << 2);
}

export function batchNormStatistics(x: usize, N: i32, C: i32, S: i32, c0: i32, c1: i32, mean: usize, variance: usize): void {
  const n = <f64>N * <f64>S;
  for (let c = c0; c < c1; c++) {
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let tail: f64 = 0;
    for (let i = 0; i < N; i++) {
      const r = row(x, i, C, c, S);
      let p = 0;
      for (; p + 4 <= S; p += 4) {
        const v = v128.load(r + (<usize>p << 2));
        s0 = f64x2.add(s0, lo(v));
        s1 = f64x2.add(s1, hi(v));
      }
      for (; p < S; p++) tail += <f64>load<f32>(r + (<usize>p << 2));
    }
    const mu = (total(s0, s1) + tail) / n;
    const m = f64x2.splat(mu);
    s0 = f64x2.splat(0);
    s1 = f64x2.splat(0);
    tail = 0;
    for (let i = 0; i < N; i++) {
      const r = row(x, i, C, c, S);
      let p = 0;
      for (; p + 4 <= S; p += 4) {
        const v = v128.load(r + (<usize>p << 2));
        const d0 = f64x2.sub(lo(v), m), d1 = f64x2.sub(hi(v), m);
        s0 = f64x2.add(s0, f64x2.mul(d0, d0));
        s1 = f64x2.add(s1, f64x2.mul(d1, d1));
      }
      for (; p < S; p++) {
        const d = <f64>load<f32>(r + (<usize>p << 2)) - mu;
        tail += d * d;
      }
    }
    store<f64>(mean + (<usize>c << 3), mu);
    store<f64>(variance + (<usize>c << 3), (total(s0, s1) + tail) / n);
  }
}

export function batchNormNormalize(x: usize, N: i32, C: i32, S: i32, c0: i32, c1: i32, scale: usize, shift: usize, y: usize): void {
  for (let c = c0; c < c1; c++) {
    const a = load<f64>(scale + (<usize>c << 3));
    const b = load<f64>(shift + (<usize>c << 3));
    const av = f64x2.splat(a), bv = f64x2.splat(b);
    for (let i = 0; i < N; i++) {
      const xr = row(x, i, C, c, S), yr = row(y, i, C, c, S);
      let p = 0;
      for (; p + 4 <= S; p += 4) {
        const at = <usize>p << 2;
        const v = v128.load(xr + at);
        v128.store(yr + at, join(f64x2.add(f64x2.mul(lo(v), av), bv), f64x2.add(f64x2.mul(hi(v), av), bv)));
      }
      for (; p < S; p++) store<f32>(yr + (<usize>p << 2), <f32>(<f64>load<f32>(xr + (<usize>p << 2)) * a + b));
    }
  }
}

export function batchNormBackward(x: usize, dy: usize, N: i32, C: i32, S: i32, c0: i32, c1: i32,
  mean: usize, invStd: usize, scale: usize, training: i32, dx: usize, sums: usize): void {
  const n = <f64>N * <f64>S;
  for (let c = c0; c < c1; c++) {
    const mu = load<f64>(mean + (<usize>c << 3));
    const is = load<f64>(invStd + (<usize>c << 3));
    const m = f64x2.splat(mu);
    let g0 = f64x2.splat(0), g1 = f64x2.splat(0), h0 = f64x2.splat(0), h1 = f64x2.splat(0);
    let gt: f64 = 0, ht: f64 = 0;
    for (let i = 0; i < N; i++) {
      const xr = row(x, i, C, c, S), gr = row(dy, i, C, c, S);
      let p = 0;
      for (; p + 4 <= S; p += 4) {
        const at = <usize>p << 2;
        const v = v128.load(xr + at), g = v128.load(gr + at);
        const ga = lo(g), gb = hi(g);
        g0 = f64x2.add(g0, ga);
        g1 = f64x2.add(g1, gb);
        h0 = f64x2.add(h0, f64x2.mul(ga, f64x2.sub(lo(v), m)));
        h1 = f64x2.add(h1, f64x2.mul(gb, f64x2.sub(hi(v), m)));
      }
      for (; p < S; p++) {
        const at = <usize>p << 2;
        const g = <f64>load<f32>(gr + at);
        gt += g;
        ht += g * (<f64>load<f32>(xr + at) - mu);
      }
    }
    const sumDy = total(g0, g1) + gt;
    const sumDyXhat = (total(h0, h1) + ht) * is;
    store<f64>(sums + (<usize>c << 3), sumDy);
    store<f64>(sums + (<usize>(C + c) << 3), sumDyXhat);
    if (dx == 0) continue;
    // dx += k (dy − a − x̂ b) with k = scale, a = Σ dy / n, b = Σ dy x̂ / n (0 in eval), in f64
    const k = load<f64>(scale + (<usize>c << 3));
    const a = training ? sumDy / n : 0;
    const b = training ? sumDyXhat / n : 0;
    const kv = f64x2.splat(k), av = f64x2.splat(a), bv = f64x2.splat(b), iv = f64x2.splat(is);
    for (let i = 0; i < N; i++) {
      const xr = row(x, i, C, c, S), gr = row(dy, i, C, c, S), dr = row(dx, i, C, c, S);
      let p = 0;
      for (; p + 4 <= S; p += 4) {
        const at = <usize>p << 2;
        const v = v128.load(xr + at), g = v128.load(gr + at), d = v128.load(dr + at);
        const t0 = f64x2.sub(f64x2.sub(lo(g), av), f64x2.mul(f64x2.mul(f64x2.sub(lo(v), m), iv), bv));
        const t1 = f64x2.sub(f64x2.sub(hi(g), av), f64x2.mul(f64x2.mul(f64x2.sub(hi(v), m), iv), bv));
        v128.store(dr + at, join(f64x2.add(lo(d), f64x2.mul(kv, t0)), f64x2.add(hi(d), f64x2.mul(kv, t1))));
      }
      for (; p < S; p++) {
        const at = <usize>p << 2;
        const xhat = (<f64>load<f32>(xr + at) - mu) * is;
        store<f32>(dr + at, <f32>(<f64>load<f32>(dr + at) + k * (<f64>load<f32>(gr + at) - a - xhat * b)));
      }
    }
  }
}
