/**
 * The unary ops of core/kernels/unary.ts in WebAssembly SIMD, float32 values (operands in this
 * module's linear memory, byte addresses), the cpu kernels bit for bit: each value is computed in
 * float64, as JavaScript computes it there, and rounded once; the sigmoid's e^-x is V8's Math.exp
 * (./exp.ts). op: 0 sigmoid, 1 addScalar, 2 mulScalar.
 *
 *   sigmoid:    y = 1 / (1 + e^-x)      dx += dy · (y (1 − y))
 *   addScalar:  y = x + s               dx += dy
 *   mulScalar:  y = x · s               dx += dy · s
 */
import { hi, join, lo } from './f64-lanes';
import { exp } from './exp';

export const SIGMOID = 0, ADD_SCALAR = 1, MUL_SCALAR = 2;

@inline function forward(op: i32, s: v128, x: v128): v128 {
  if (op == SIGMOID) return f64x2.div(f64x2.splat(1), f64x2.add(f64x2.splat(1), exp(f64x2.neg(x))));
  if (op == ADD_SCALAR) return f64x2.add(x, s);
  return f64x2.mul(x, s);
}

@inline function backward(op: i32, s: v128, y: v128, dy: v128, dx: v128): v128 {
  if (op == SIGMOID) return f64x2.add(dx, f64x2.mul(dy, f64x2.mul(y, f64x2.sub(f64x2.splat(1), y))));
  if (op == ADD_SCALAR) return f64x2.add(dx, dy);
  return f64x2.add(dx, f64x2.mul(dy, s));
}

/** y = op(x; s), n values. */
export function unary(op: i32, s: f64, x: usize, y: usize, n: i32): void {
  const sv = f64x2.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    v128.store(y + at, join(forward(op, sv, lo(v)), forward(op, sv, hi(v))));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(y + at, <f32>f64x2.extract_lane(forward(op, sv, f64x2.splat(<f64>load<f32>(x + at))), 0));
  }
}

/** dx += dy · op'(x; s) given y = op(x; s), n values. */
export function unaryBackward(op: i32, s: f64, y: usize, dy: usize, dx: usize, n: i32): void {
  const sv = f64x2.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const yv = v128.load(y + at), gv = v128.load(dy + at), dv = v128.load(dx + at);
    v128.store(dx + at, join(backward(op, sv, lo(yv), lo(gv), lo(dv)), backward(op, sv, hi(yv), hi(gv), hi(dv))));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const r = backward(op, sv, f64x2.splat(<f64>load<f32>(y + at)), f64x2.splat(<f64>load<f32>(dy + at)), f64x2.splat(<f64>load<f32>(dx + at)));
    store<f32>(dx + at, <f32>f64x2.extract_lane(r, 0));
  }
}
