/**
 * WGSL shaders of softmax, the scalar unary ops and the reductions (the cpu definitions:
 * core/kernels/softmax.ts, unary.ts, reduce.ts). One uniform block U of ROW_WORDS words: three
 * sizes n0..n2 (their meaning per shader below), the grid width gx, the invocation count total and
 * the scalar s.
 *
 *   softmax          rows n0 of n1: one workgroup per row, max and Σ e^{x − max} by tree in workgroup memory
 *   softmaxBackward  rows n0 of n1: one workgroup per row, Σ dy y by tree; dx += y (dy − Σ dy y)
 *   sigmoid, addScalar, mulScalar and their backward: one invocation per value
 *   sumAxis          [n0, n1, n2] → [n0, n2]: one invocation per output, k in order
 *   sumAxisBackward  dx[o, k, i] += dy[o, i]: one invocation per dx value
 *   meanPool         rows n0 of n1: one invocation per row; meanPoolBackward dx[r, p] += dy[r] / n1
 *   l2Normalize      rows n0 of n1, eps s: one workgroup per row, Σ x² by tree; norm[r] = √Σ, y = x / max(norm, s)
 *   nonFinite        n1 values: one workgroup, flags[n2] = 1 if any is NaN or ±∞ (by its exponent bits:
 *                    WGSL may assume floats finite, so x != x is no test), else 0
 *   l2NormalizeBackward  one workgroup per row, Σ y dy by tree; dx += (dy − y Σ y dy) / norm (dy / s where clamped)
 */
import { perValueMain, storageBindings } from './elementwise-wgsl.ts';

export const ROW_WORDS = 8;

export type RowShaderName = 'softmax' | 'softmaxBackward' | 'sigmoid' | 'sigmoidBackward' | 'addScalar' | 'addScalarBackward' |
  'mulScalar' | 'mulScalarBackward' | 'sumAxis' | 'sumAxisBackward' | 'meanPool' | 'meanPoolBackward' | 'l2Normalize' | 'l2NormalizeBackward' | 'nonFinite';

/** Shaders that run one workgroup per row (the others: one invocation per value). */
export const PER_ROW: ReadonlySet<RowShaderName> = new Set(['softmax', 'softmaxBackward', 'l2Normalize', 'l2NormalizeBackward', 'nonFinite']);

export function rowWords(n0: number, n1: number, n2: number, total: number, gx: number, s = 0): ArrayBuffer {
  const words = new ArrayBuffer(4 * ROW_WORDS);
  new Uint32Array(words).set([n0, n1, n2, gx, total]);
  new Float32Array(words)[5] = s;
  return words;
}

type Access = 'read' | 'read_write';

/** part[0] = part[0] + … + part[255] (or their max), by a tree in workgroup memory, every invocation taking part. */
const TREE = (op: '+' | 'max') => `  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) { if (l < h) { part[l] = ${op === '+' ? 'part[l] + part[l + h]' : 'max(part[l], part[l + h])'}; } workgroupBarrier(); }`;

/** Row r's Σ_j term (o = r · n1 its first value), tree-summed into part[0]. */
const ROW_SUM = (term: string) => `
  let o = r * u.n1;
  var s = 0.0;
  for (var j = l; j < u.n1; j = j + 256u) { s = s + ${term}; }
  part[l] = s;
${TREE('+')}`;
const SHADERS: Record<RowShaderName, { operands: [string, Access][]; body: string }> = {
  softmax: {
    operands: [['x', 'read'], ['y', 'read_write']],
    body: `
  let o = r * u.n1;
  var m = -0x1.fffffep+127f;
  for (var j = l; j < u.n1; j = j + 256u) { m = max(m, x[o + j]); }
  part[l] = m;
${TREE('max')}
  let mx = part[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = l; j < u.n1; j = j + 256u) { let e = exp(x[o + j] - mx); y[o + j] = e; s = s + e; }
  part[l] = s;
${TREE('+')}
  let total = part[0];
  for (var j = l; j < u.n1; j = j + 256u) { y[o + j] = y[o + j] / total; }`,
  },
  softmaxBackward: {
    operands: [['y', 'read'], ['dy', 'read'], ['dx', 'read_write']],
    body: `${ROW_SUM('dy[o + j] * y[o + j]')}
  let dot = part[0];
  for (var j = l; j < u.n1; j = j + 256u) { dx[o + j] = dx[o + j] + y[o + j] * (dy[o + j] - dot); }`,
  },
  sigmoid: { operands: [['x', 'read'], ['y', 'read_write']], body: 'y[t] = 1.0 / (1.0 + exp(-x[t]));' },
  sigmoidBackward: { operands: [['y', 'read'], ['dy', 'read'], ['dx', 'read_write']], body: 'dx[t] = dx[t] + dy[t] * (y[t] * (1.0 - y[t]));' },
  addScalar: { operands: [['x', 'read'], ['y', 'read_write']], body: 'y[t] = x[t] + u.s;' },
  addScalarBackward: { operands: [['dy', 'read'], ['dx', 'read_write']], body: 'dx[t] = dx[t] + dy[t];' },
  mulScalar: { operands: [['x', 'read'], ['y', 'read_write']], body: 'y[t] = x[t] * u.s;' },
  mulScalarBackward: { operands: [['dy', 'read'], ['dx', 'read_write']], body: 'dx[t] = dx[t] + dy[t] * u.s;' },
  sumAxis: {
    operands: [['x', 'read'], ['y', 'read_write']],
    body: `let o = t / u.n2; let i = t % u.n2;
  var s = 0.0;
  for (var k = 0u; k < u.n1; k++) { s = s + x[(o * u.n1 + k) * u.n2 + i]; }
  y[t] = s;`,
  },
  sumAxisBackward: {
    operands: [['dy', 'read'], ['dx', 'read_write']],
    body: 'dx[t] = dx[t] + dy[(t / (u.n1 * u.n2)) * u.n2 + t % u.n2];',
  },
  meanPool: {
    operands: [['x', 'read'], ['y', 'read_write']],
    body: `var s = 0.0;
  for (var p = 0u; p < u.n1; p++) { s = s + x[t * u.n1 + p]; }
  y[t] = s / f32(u.n1);`,
  },
  meanPoolBackward: { operands: [['dy', 'read'], ['dx', 'read_write']], body: 'dx[t] = dx[t] + dy[t / u.n1] / f32(u.n1);' },
  l2Normalize: {
    operands: [['x', 'read'], ['y', 'read_write'], ['norms', 'read_write']],
    body: `${ROW_SUM('x[o + j] * x[o + j]')}
  let norm = sqrt(part[0]);
  if (l == 0u) { norms[r] = norm; }
  let d = max(norm, u.s);
  for (var j = l; j < u.n1; j = j + 256u) { y[o + j] = x[o + j] / d; }`,
  },
  nonFinite: {
    operands: [['x', 'read'], ['flags', 'read_write']],
    body: `
  var bad = 0.0;
  for (var j = l; j < u.n1; j = j + 256u) { if ((bitcast<u32>(x[j]) & 0x7f800000u) == 0x7f800000u) { bad = 1.0; } }
  part[l] = bad;
${TREE('max')}
  if (l == 0u) { flags[u.n2] = part[0]; }`,
  },
  l2NormalizeBackward: {
    operands: [['y', 'read'], ['norms', 'read'], ['dy', 'read'], ['dx', 'read_write']],
    body: `${ROW_SUM('y[o + j] * dy[o + j]')}
  let dot = part[0];
  let norm = norms[r];
  for (var j = l; j < u.n1; j = j + 256u) {
    if (norm <= u.s) { dx[o + j] = dx[o + j] + dy[o + j] / u.s; } else { dx[o + j] = dx[o + j] + (dy[o + j] - y[o + j] * dot) / norm; }
  }`,
  },
};

export function rowShader(name: RowShaderName): string {
  const k = SHADERS[name];
  const head = `struct U { n0: u32, n1: u32, n2: u32, gx: u32, total: u32, s: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> u: U;
${storageBindings(k.operands)}`;
  if (PER_ROW.has(name)) {
    return `${head}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let r = w.y * u.gx + w.x;
  if (r >= u.n0) { return; }${k.body}
}
`;
  }
  return `${head}
${perValueMain('u.gx', 'u.total')}
  ${k.body}
}
`;
}
