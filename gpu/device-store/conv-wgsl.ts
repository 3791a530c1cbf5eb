/**
 * WGSL shaders of the convolution's data movement (the cpu definitions: core/kernels/conv.ts and
 * core/kernels/elementwise.ts), for x [N, C, H, W], y [N, O, Ho, Wo], P = Ho·Wo, CK = C·kh·kw:
 *
 *   im2col:        cols[n', ck, p] = x[n0 + n', c, oy·sh − ph + i, ox·sw − pw + j] (0 outside x)
 *   col2imAdd:     dx[n0 + n', c, y, x] += Σ over the (i, j) whose window covers (y, x) of dcols[n', ck, p]
 *                  (gathered per input value: no two invocations write one value)
 *   channelFill:   y[n, o, p] = b[o]                                  (the bias, before a GEMM adds w·cols)
 *   biasGradient:  db[o] += Σ_n (Σ_p dy[n, o, p])                     (one invocation per channel)
 *
 * One invocation per output value, 256 per workgroup on a 2-D grid; all indices u32. The geometry
 * travels in one uniform block (GEOMETRY_WORDS words, order of GEOMETRY).
 */
import type { ConvGeometry } from '../../core/kernels/conv.ts';
import { perValueMain, storageBindings } from './elementwise-wgsl.ts';

export const GEOMETRY = ['N', 'C', 'H', 'W', 'O', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'Ho', 'Wo', 'total', 'gx', 'n0'] as const;
export const GEOMETRY_WORDS = GEOMETRY.length;

/** The uniform words of geometry `g` for `total` invocations from image n0 on a grid `gx` workgroups wide. */
export function geometryWords(g: ConvGeometry, total: number, gx: number, n0 = 0): Uint32Array<ArrayBuffer> {
  const values: Record<string, number> = { ...g, total, gx, n0 };
  return Uint32Array.from(GEOMETRY, (k) => values[k]);
}

export type ConvShaderName = 'im2col' | 'col2imAdd' | 'channelFill' | 'biasGradient';

const header = (operands: [string, 'read' | 'read_write'][]) => `struct G { ${GEOMETRY.map((k) => `${k}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> g: G;
${storageBindings(operands)}
${perValueMain('g.gx', 'g.total')}
  let P = g.Ho * g.Wo;
  let K2 = g.kh * g.kw;`;

const BODIES: Record<ConvShaderName, { operands: [string, 'read' | 'read_write'][]; body: string }> = {
  im2col: {
    operands: [['x', 'read'], ['cols', 'read_write']],
    body: `
  let p = t % P; let ck = (t / P) % (g.C * K2); let n = t / (P * g.C * K2);
  let c = ck / K2; let i = (ck / g.kw) % g.kh; let j = ck % g.kw;
  let yy = i32((p / g.Wo) * g.sh + i) - i32(g.ph);
  let xx = i32((p % g.Wo) * g.sw + j) - i32(g.pw);
  var v = 0.0;
  if (yy >= 0 && yy < i32(g.H) && xx >= 0 && xx < i32(g.W)) { v = x[(((g.n0 + n) * g.C + c) * g.H + u32(yy)) * g.W + u32(xx)]; }
  cols[t] = v;`,
  },
  col2imAdd: {
    operands: [['dcols', 'read'], ['dx', 'read_write']],
    body: `
  let xx = t % g.W; let yy = (t / g.W) % g.H; let c = (t / (g.W * g.H)) % g.C; let n = t / (g.W * g.H * g.C);
  var s = 0.0;
  for (var i = 0u; i < g.kh; i++) {
    let ty = i32(yy + g.ph) - i32(i);
    if (ty < 0 || ty % i32(g.sh) != 0) { continue; }
    let oy = u32(ty) / g.sh;
    if (oy >= g.Ho) { continue; }
    for (var j = 0u; j < g.kw; j++) {
      let tx = i32(xx + g.pw) - i32(j);
      if (tx < 0 || tx % i32(g.sw) != 0) { continue; }
      let ox = u32(tx) / g.sw;
      if (ox >= g.Wo) { continue; }
      s = s + dcols[(n * g.C * K2 + c * K2 + i * g.kw + j) * P + oy * g.Wo + ox];
    }
  }
  let o = (((g.n0 + n) * g.C + c) * g.H + yy) * g.W + xx;
  dx[o] = dx[o] + s;`,
  },
  channelFill: {
    operands: [['b', 'read'], ['y', 'read_write']],
    body: `
  y[t] = b[(t / P) % g.O];`,
  },
  biasGradient: {
    operands: [['dy', 'read'], ['db', 'read_write']],
    body: `
  var total = db[t];
  for (var n = 0u; n < g.N; n++) {
    var s = 0.0;
    let base = (n * g.O + t) * P;
    for (var p = 0u; p < P; p++) { s = s + dy[base + p]; }
    total = total + s;
  }
  db[t] = total;`,
  },
};

export function convShader(name: ConvShaderName): string {
  const k = BODIES[name];
  return `${header(k.operands)}${k.body}\n}\n`;
}
