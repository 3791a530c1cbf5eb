/**
 * WGSL shaders of the broadcasting binary ops (the cpu definitions: core/kernels/broadcast.ts), on
 * the loop nest the op computed (dims, a's and b's strides; at most MAX_RANK axes after merging):
 *
 *   broadcastBinary:          y[t] = a[ia(t)] op b[ib(t)]: one invocation per output value
 *   broadcastBinaryBackward:  dx[e] += Σ over the outputs that read x[e], in output order, of
 *                             dy[o] · ∂(a op b)/∂x: one invocation per value of x (gathered, so no
 *                             two invocations write one value)
 *
 * The nest travels in a small u32 storage buffer: [rank, op, side, total, gx, dims.., sa.., sb..].
 */
import type { BinaryOp, LoopNest } from '../../core/kernels/broadcast.ts';
import { perValueMain } from './elementwise-wgsl.ts';

export const MAX_RANK = 6;
const OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div'];

/** The metadata words of a nest for one dispatch of `total` invocations on a grid gx wide. */
export function nestWords(op: BinaryOp, side: 'a' | 'b', nest: LoopNest, total: number, gx: number): Uint32Array<ArrayBuffer> {
  const rank = nest.dims.length;
  if (rank > MAX_RANK) throw new Error(`webgpu broadcast: a loop nest of ${rank} axes is more than ${MAX_RANK}`);
  const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(0)];
  return Uint32Array.from([rank, OPS.indexOf(op), side === 'a' ? 0 : 1, total, gx, ...pad(nest.dims), ...pad(nest.sa), ...pad(nest.sb)]);
}

const HEAD = `@group(0) @binding(0) var<storage, read> m: array<u32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
fn dim(d: u32) -> u32 { return m[5u + d]; }
fn sa(d: u32) -> u32 { return m[5u + ${MAX_RANK}u + d]; }
fn sb(d: u32) -> u32 { return m[5u + ${2 * MAX_RANK}u + d]; }`;

export const BROADCAST_FORWARD = `${HEAD}
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${perValueMain('m[4]', 'm[3]')}
  var rem = t;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(m[0]) - 1; d >= 0; d--) {
    let k = rem % dim(u32(d));
    rem = rem / dim(u32(d));
    ia = ia + k * sa(u32(d));
    ib = ib + k * sb(u32(d));
  }
  let x = a[ia];
  let z = b[ib];
  var v = 0.0;
  switch m[1] {
    case 0u: { v = x + z; }
    case 1u: { v = x - z; }
    case 2u: { v = x * z; }
    default: { v = x / z; }
  }
  y[t] = v;
}
`;

export const BROADCAST_BACKWARD = `${HEAD}
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
fn sx(d: u32) -> u32 { if (m[2] == 0u) { return sa(d); } return sb(d); }
${perValueMain('m[4]', 'm[3]', 'e')}
  let rank = m[0];
  // x's own indices along the axes it is not stretched on; the stretched ones are walked below
  var fixed: array<u32, ${MAX_RANK}>;
  var count = 1u;
  for (var d = 0u; d < rank; d++) {
    if (sx(d) != 0u) { fixed[d] = (e / sx(d)) % dim(d); } else { fixed[d] = 0u; count = count * dim(d); }
  }
  var acc = dx[e];
  for (var c = 0u; c < count; c++) {
    // the c-th combination of the stretched axes, last axis fastest: output order
    var rem = c;
    var o = 0u;
    var ia = 0u;
    var ib = 0u;
    var stride = 1u;
    for (var d = i32(rank) - 1; d >= 0; d--) {
      let u = u32(d);
      var k = fixed[u];
      if (sx(u) == 0u) { k = rem % dim(u); rem = rem / dim(u); }
      o = o + k * stride;
      stride = stride * dim(u);
      ia = ia + k * sa(u);
      ib = ib + k * sb(u);
    }
    let g = dy[o];
    var term = g;
    switch m[1] {
      case 0u: { term = g; }
      case 1u: { if (m[2] == 1u) { term = -g; } }
      case 2u: { if (m[2] == 0u) { term = g * b[ib]; } else { term = g * a[ia]; } }
      default: { if (m[2] == 0u) { term = g * (1.0 / b[ib]); } else { term = g * (-a[ia] / (b[ib] * b[ib])); } }
    }
    acc = acc + term;
  }
  dx[e] = acc;
}
`;
