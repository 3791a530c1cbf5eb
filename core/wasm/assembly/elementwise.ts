/**
 * The elementwise kernels that follow every conv, float32, in WebAssembly SIMD (f32x4), on
 * operands in this module's linear memory (byte addresses, n floats each). Branch-free: a ReLU's
 * sign test on real activations is a coin flip that a branch predicts badly, which is what makes
 * the plain loop slow. The same numbers as core/kernels/elementwise.ts, bit for bit:
 *
 *   relu:          y = x > 0 ? x : 0      pmax(0, x) = 0 < x ? x : 0 (NaN and −0 give +0)
 *   reluBackward:  dx += x > 0 ? dy : 0   dy masked by x > 0 (a masked lane adds +0)
 *   add:           y = a + b
 *   addInto:       y += x
 */

export function relu(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, f32x4.pmax(zero, v128.load(x + at)));
  }
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), select<f32>(v, 0, v > 0));
  }
}

export function reluBackward(x: usize, dy: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const g = v128.and(v128.load(dy + at), f32x4.gt(v128.load(x + at), zero));
    v128.store(dx + at, f32x4.add(v128.load(dx + at), g));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(dx + at, load<f32>(dx + at) + select<f32>(load<f32>(dy + at), 0, load<f32>(x + at) > 0));
  }
}

export function add(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(y + at, load<f32>(a + at) + load<f32>(b + at));
  }
}

export function addInto(y: usize, x: usize, n: i32): void {
  add(y, x, y, n);
}
