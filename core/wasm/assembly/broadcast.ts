/**
 * The broadcasting binary ops of core/kernels/broadcast.ts in WebAssembly, float32 values (operands
 * in this module's linear memory, byte addresses), the cpu kernels bit for bit: each value is
 * computed with JavaScript's float64 operations there and rounded once, and every gradient element
 * receives its terms in output order. op: 0 add, 1 sub, 2 mul, 3 div.
 *
 * The loop nest (core/kernels/broadcast.ts `loopNest`) comes as i32 arrays of `rank` entries: dims,
 * and a's and b's strides; the last axis is the run the inner loops walk. `idx` is scratch for the
 * outer axes' counters (rank i32s).
 *
 *   forward:   y[o] = a[ia] op b[ib]
 *   gradient:  add/sub:  ga += g,  gb ±= g;   mul: ga += g · b,  gb += g · a;
 *              div:      ga += g · (1 / b),  gb += g · (−a / (b · b))
 */

export const ADD = 0, SUB = 1, MUL = 2, DIV = 3;

@inline function f32at(base: usize, i: i32): f64 {
  return <f64>load<f32>(base + (<usize>i << 2));
}

@inline function apply(op: i32, x: f64, z: f64): f64 {
  if (op == ADD) return x + z;
  if (op == SUB) return x - z;
  if (op == MUL) return x * z;
  return x / z;
}

/** The term a gradient element receives from output gradient g at (x = a value, z = b value). */
@inline function term(op: i32, side: i32, g: f64, x: f64, z: f64): f64 {
  if (op == ADD) return g;
  if (op == SUB) return side == 0 ? g : -g;
  if (op == MUL) return side == 0 ? g * z : g * x;
  return side == 0 ? g * (1 / z) : g * (-x / (z * z));
}

/** Runs in the nest: the product of the outer axes. */
@inline function outerCount(rank: i32, dims: usize): i32 {
  let outer = 1;
  for (let d = 0; d < rank - 1; d++) outer *= load<i32>(dims + (<usize>d << 2));
  return outer;
}

/** Advances the outer counters by one run: the next run's (ia, ib), ia in the low word. */
@inline function step(rank: i32, dims: usize, sa: usize, sb: usize, idx: usize, ia: i32, ib: i32): i64 {
  for (let d = rank - 2; d >= 0; d--) {
    const at = <usize>d << 2;
    const n = load<i32>(dims + at);
    const i = load<i32>(idx + at) + 1;
    ia += load<i32>(sa + at);
    ib += load<i32>(sb + at);
    if (i < n) {
      store<i32>(idx + at, i);
      break;
    }
    ia -= load<i32>(sa + at) * n;
    ib -= load<i32>(sb + at) * n;
    store<i32>(idx + at, 0);
  }
  return (<i64>ib << 32) | <i64><u32>ia;
}

export function broadcastBinary(op: i32, rank: i32, dims: usize, sa: usize, sb: usize, idx: usize, a: usize, b: usize, y: usize): void {
  const last = <usize>(rank - 1) << 2;
  const n = load<i32>(dims + last), ra = load<i32>(sa + last), rb = load<i32>(sb + last);
  const outer = outerCount(rank, dims);
  for (let d = 0; d < rank; d++) store<i32>(idx + (<usize>d << 2), 0);
  let ia = 0, ib = 0, o = 0;
  for (let j = 0; j < outer; j++) {
    for (let i = 0; i < n; i++) {
      store<f32>(y + (<usize>(o + i) << 2), <f32>apply(op, f32at(a, ia + i * ra), f32at(b, ib + i * rb)));
    }
    o += n;
    const next = step(rank, dims, sa, sb, idx, ia, ib);
    ia = <i32>next;
    ib = <i32>(next >> 32);
  }
}

export function broadcastBinaryBackward(op: i32, side: i32, rank: i32, dims: usize, sa: usize, sb: usize, idx: usize,
  dy: usize, a: usize, b: usize, dx: usize): void {
  const last = <usize>(rank - 1) << 2;
  const n = load<i32>(dims + last), ra = load<i32>(sa + last), rb = load<i32>(sb + last);
  const outer = outerCount(rank, dims);
  for (let d = 0; d < rank; d++) store<i32>(idx + (<usize>d << 2), 0);
  let ia = 0, ib = 0, o = 0;
  for (let j = 0; j < outer; j++) {
    for (let i = 0; i < n; i++) {
      const xa = ia + i * ra, xb = ib + i * rb;
      const at = dx + (<usize>(side == 0 ? xa : xb) << 2);
      const t = term(op, side, f32at(dy, o + i), f32at(a, xa), f32at(b, xb));
      store<f32>(at, <f32>(<f64>load<f32>(at) + t));
    }
    o += n;
    const next = step(rank, dims, sa, sb, idx, ia, ib);
    ia = <i32>next;
    ib = <i32>(next >> 32);
  }
}
