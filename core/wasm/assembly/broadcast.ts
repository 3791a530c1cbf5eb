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

/**
 * Walks the nest in output order. side −1: out[o] = a op b (the forward); side 0 or 1: out, the
 * gradient of a or b, receives dy[o]'s term at each a or b element in turn.
 */
function walk(op: i32, side: i32, rank: i32, dims: usize, sa: usize, sb: usize, idx: usize, dy: usize, a: usize, b: usize, out: usize): void {
  const last = <usize>(rank - 1) << 2;
  const n = load<i32>(dims + last), ra = load<i32>(sa + last), rb = load<i32>(sb + last);
  let runs = 1;
  for (let d = 0; d < rank - 1; d++) {
    runs *= load<i32>(dims + (<usize>d << 2));
    store<i32>(idx + (<usize>d << 2), 0);
  }
  let ia = 0, ib = 0, o = 0;
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < n; i++) {
      const xa = ia + i * ra, xb = ib + i * rb;
      const x = f32at(a, xa), z = f32at(b, xb);
      if (side < 0) {
        store<f32>(out + (<usize>(o + i) << 2), <f32>apply(op, x, z));
      } else {
        const at = out + (<usize>(side == 0 ? xa : xb) << 2);
        store<f32>(at, <f32>(<f64>load<f32>(at) + term(op, side, f32at(dy, o + i), x, z)));
      }
    }
    o += n;
    // the next run: advance the outer counters, the last outer axis fastest
    for (let d = rank - 2; d >= 0; d--) {
      const at = <usize>d << 2;
      const size = load<i32>(dims + at);
      const k = load<i32>(idx + at) + 1;
      ia += load<i32>(sa + at);
      ib += load<i32>(sb + at);
      if (k < size) {
        store<i32>(idx + at, k);
        break;
      }
      ia -= load<i32>(sa + at) * size;
      ib -= load<i32>(sb + at) * size;
      store<i32>(idx + at, 0);
    }
  }
}

export function broadcastBinary(op: i32, rank: i32, dims: usize, sa: usize, sb: usize, idx: usize, a: usize, b: usize, y: usize): void {
  walk(op, -1, rank, dims, sa, sb, idx, 0, a, b, y);
}

export function broadcastBinaryBackward(op: i32, side: i32, rank: i32, dims: usize, sa: usize, sb: usize, idx: usize,
  dy: usize, a: usize, b: usize, dx: usize): void {
  walk(op, side, rank, dims, sa, sb, idx, dy, a, b, dx);
}
