/**
 * WGSL shaders of max-pooling (the cpu definitions: core/kernels/pool.ts), x [planes, H, W]:
 *
 *   maxPool:          one invocation per output: the window's first maximum in row-major order and
 *                     its position within the plane (−1 and −∞ for a window wholly in the padding)
 *   maxPoolBackward:  one invocation per value of x: dx += the dy of every window whose argmax it is,
 *                     windows in output order (gathered: no two invocations write one value)
 */
import type { PoolGeometry } from '../../core/kernels/pool.ts';
import { perValueMain, storageBindings } from './elementwise-wgsl.ts';

const FIELDS = ['planes', 'H', 'W', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'Ho', 'Wo', 'total', 'gx', 'pad'] as const;

export function poolWords(g: PoolGeometry, total: number, gx: number): Uint32Array<ArrayBuffer> {
  const v: Record<string, number> = { ...g, total, gx, pad: 0 };
  return Uint32Array.from(FIELDS, (k) => v[k]);
}

const HEAD = `struct G { ${FIELDS.map((k) => `${k}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> g: G;`;

export const MAX_POOL = `${HEAD}
${storageBindings([['x', 'read'], ['y', 'read_write'], ['argmax', 'read_write']])}
${perValueMain('g.gx', 'g.total')}
  let ox = t % g.Wo; let oy = (t / g.Wo) % g.Ho; let q = t / (g.Wo * g.Ho);
  let base = q * g.H * g.W;
  var best = 0.0;
  var at = -1;
  for (var i = 0u; i < g.kh; i++) {
    let yy = i32(oy * g.sh + i) - i32(g.ph);
    if (yy < 0 || yy >= i32(g.H)) { continue; }
    for (var j = 0u; j < g.kw; j++) {
      let xx = i32(ox * g.sw + j) - i32(g.pw);
      if (xx < 0 || xx >= i32(g.W)) { continue; }
      let v = x[base + u32(yy) * g.W + u32(xx)];
      if (at < 0 || v > best) { best = v; at = yy * i32(g.W) + xx; }
    }
  }
  // −∞ for a window wholly in the padding; built at run time (WGSL refuses an infinite constant), g.pad is 0
  if (at < 0) { best = bitcast<f32>(g.pad | 0xff800000u); }
  y[t] = best;
  argmax[t] = f32(at);
}
`;

export const MAX_POOL_BACKWARD = `${HEAD}
${storageBindings([['dy', 'read'], ['argmax', 'read'], ['dx', 'read_write']])}
${perValueMain('g.gx', 'g.total')}
  let pos = t % (g.H * g.W); let q = t / (g.H * g.W);
  let yy = i32(pos / g.W); let xx = i32(pos % g.W);
  // the windows that cover (yy, xx): oy·sh − ph ≤ yy ≤ oy·sh − ph + kh − 1, likewise for x
  let oy0 = max(0, (yy + i32(g.ph) - i32(g.kh) + i32(g.sh)) / i32(g.sh));
  let oy1 = min(i32(g.Ho) - 1, (yy + i32(g.ph)) / i32(g.sh));
  let ox0 = max(0, (xx + i32(g.pw) - i32(g.kw) + i32(g.sw)) / i32(g.sw));
  let ox1 = min(i32(g.Wo) - 1, (xx + i32(g.pw)) / i32(g.sw));
  var acc = dx[t];
  for (var oy = oy0; oy <= oy1; oy++) {
    for (var ox = ox0; ox <= ox1; ox++) {
      let o = (q * g.Ho + u32(oy)) * g.Wo + u32(ox);
      if (argmax[o] == f32(pos)) { acc = acc + dy[o]; }
    }
  }
  dx[t] = acc;
}
`;
