/**
 * Softmax over the rows of x [rows, n] in WebAssembly SIMD (operands in this module's linear
 * memory, byte addresses), the cpu kernels (core/kernels/softmax.ts) bit for bit:
 *
 *   softmax:          y_j = e^{x_j − max_k x_k} / Σ_k e^{x_k − max}
 *   softmaxBackward:  dx_j += y_j (dy_j − Σ_k dy_k y_k)
 *
 * All arithmetic is float64, as JavaScript's in the cpu kernels, with the sums in the same
 * (sequential) order; e^t is ./exp.ts, the operations of V8's Math.exp. A NaN in a row, or +∞
 * (∞ − ∞), makes the whole row NaN, as there.
 */
import { exp, expOne } from './exp';
import { hi, join, lo } from './f64-lanes';

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

export function softmax(x: usize, y: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = at(x, r * n), yr = at(y, r * n);
    let m4 = f32x4.splat(-Infinity);
    let j = 0;
    for (; j + 4 <= n; j += 4) m4 = f32x4.max(m4, v128.load(at(xr, j)));
    let m = max(max(f32x4.extract_lane(m4, 0), f32x4.extract_lane(m4, 1)), max(f32x4.extract_lane(m4, 2), f32x4.extract_lane(m4, 3)));
    for (; j < n; j++) m = max(m, load<f32>(at(xr, j)));
    const mv = f64x2.splat(<f64>m);
    let s: f64 = 0;
    for (j = 0; j + 4 <= n; j += 4) {
      const v = v128.load(at(xr, j));
      const e0 = exp(f64x2.sub(lo(v), mv)), e1 = exp(f64x2.sub(hi(v), mv));
      v128.store(at(yr, j), join(e0, e1));
      s += f64x2.extract_lane(e0, 0);
      s += f64x2.extract_lane(e0, 1);
      s += f64x2.extract_lane(e1, 0);
      s += f64x2.extract_lane(e1, 1);
    }
    for (; j < n; j++) {
      const e = expOne(<f64>load<f32>(at(xr, j)) - <f64>m);
      store<f32>(at(yr, j), <f32>e);
      s += e;
    }
    const sv = f64x2.splat(s);
    for (j = 0; j + 4 <= n; j += 4) {
      const v = v128.load(at(yr, j));
      v128.store(at(yr, j), join(f64x2.div(lo(v), sv), f64x2.div(hi(v), sv)));
    }
    for (; j < n; j++) store<f32>(at(yr, j), <f32>(<f64>load<f32>(at(yr, j)) / s));
  }
}

export function softmaxBackward(y: usize, dy: usize, dx: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    const yr = at(y, r * n), gr = at(dy, r * n), dr = at(dx, r * n);
    let dot: f64 = 0;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const yv = v128.load(at(yr, j)), gv = v128.load(at(gr, j));
      const p0 = f64x2.mul(lo(gv), lo(yv)), p1 = f64x2.mul(hi(gv), hi(yv));
      dot += f64x2.extract_lane(p0, 0);
      dot += f64x2.extract_lane(p0, 1);
      dot += f64x2.extract_lane(p1, 0);
      dot += f64x2.extract_lane(p1, 1);
    }
    for (; j < n; j++) dot += <f64>load<f32>(at(gr, j)) * <f64>load<f32>(at(yr, j));
    const dv = f64x2.splat(dot);
    for (j = 0; j + 4 <= n; j += 4) {
      const yv = v128.load(at(yr, j)), gv = v128.load(at(gr, j)), xv = v128.load(at(dr, j));
      const a = f64x2.add(lo(xv), f64x2.mul(lo(yv), f64x2.sub(lo(gv), dv)));
      const b = f64x2.add(hi(xv), f64x2.mul(hi(yv), f64x2.sub(hi(gv), dv)));
      v128.store(at(dr, j), join(a, b));
    }
    for (; j < n; j++) {
      const yj = <f64>load<f32>(at(yr, j));
      store<f32>(at(dr, j), <f32>(<f64>load<f32>(at(dr, j)) + yj * (<f64>load<f32>(at(gr, j)) - dot)));
    }
  }
}
