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
 *                    WGSL may assume floats finite, so x != x is no test), else left as it is
 *   l2NormalizeBackward  one workgroup per row, Σ y dy by tree; dx += (dy − y Σ y dy) / norm (dy / s where clamped)
 *   softmaxCrossEntropy  rows n0 of n1: softmax's workgroup per row, and losses[r] = max + log Σ e^{x − max} − x[t_r]
 *   softmaxCrossEntropyBackward  one invocation per value: dx = s (p − [k = t_b])
 *   memoryUpdate     batch n0, rows of n1 = D, hard n2 (1) or momentum (0), momentum s: one workgroup per batch
 *                    row; the first sample of each cluster updates that cluster's row, alone (clusters never
 *                    share a row, so only one cluster's steps are ordered): each of its samples in batch order
 *                    (momentum), or once with the lowest f · m (hard, the first on ties); Σ by tree
 */
import { L2_EPS } from '../../core/rows.ts';
import { perValueMain, storageBindings } from './elementwise-wgsl.ts';

export const ROW_WORDS = 8;

export type RowShaderName = 'softmax' | 'softmaxBackward' | 'sigmoid' | 'sigmoidBackward' | 'addScalar' | 'addScalarBackward' |
  'mulScalar' | 'mulScalarBackward' | 'sumAxis' | 'sumAxisBackward' | 'meanPool' | 'meanPoolBackward' | 'l2Normalize' | 'l2NormalizeBackward' | 'nonFinite' |
  'softmaxCrossEntropy' | 'softmaxCrossEntropyBackward' | 'memoryUpdate';

/** Shaders that run one workgroup per row (the others: one invocation per value). */
export const PER_ROW: ReadonlySet<RowShaderName> = new Set(['softmax', 'softmaxBackward', 'l2Normalize', 'l2NormalizeBackward', 'nonFinite',
  'softmaxCrossEntropy', 'memoryUpdate']);

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
/** y_r = softmax(x_r) for row r, leaving its max in mx and Σ e^{x − mx} in total. */
const SOFTMAX_ROW = (y: string) => `
  let o = r * u.n1;
  var m = -0x1.fffffep+127f;
  for (var j = l; j < u.n1; j = j + 256u) { m = max(m, x[o + j]); }
  part[l] = m;
${TREE('max')}
  let mx = part[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = l; j < u.n1; j = j + 256u) { let e = exp(x[o + j] - mx); ${y}[o + j] = e; s = s + e; }
  part[l] = s;
${TREE('+')}
  let total = part[0];
  for (var j = l; j < u.n1; j = j + 256u) { ${y}[o + j] = ${y}[o + j] / total; }`;

/** The memory update's step with sample b on row mo: m ← s m + (1 − s) f_b, then m / max(‖m‖, eps). */
const MEMORY_STEP = (b: string) => `
    var q = 0.0;
    for (var j = l; j < u.n1; j = j + 256u) { let v = u.s * M[mo + j] + (1.0 - u.s) * f[${b} * u.n1 + j]; M[mo + j] = v; q = q + v * v; }
    part[l] = q;
  ${TREE('+')}
    let inv = 1.0 / max(sqrt(part[0]), ${L2_EPS});
    workgroupBarrier();
    for (var j = l; j < u.n1; j = j + 256u) { M[mo + j] = M[mo + j] * inv; }`;

const SHADERS: Record<RowShaderName, { operands: [string, Access][]; body: string }> = {
  softmax: { operands: [['x', 'read'], ['y', 'read_write']], body: SOFTMAX_ROW('y') },
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
  if (l == 0u && part[0] != 0.0) { flags[u.n2] = 1.0; }`,
  },
  softmaxCrossEntropy: {
    operands: [['x', 'read'], ['targets', 'read'], ['p', 'read_write'], ['losses', 'read_write']],
    body: `${SOFTMAX_ROW('p')}
  if (l == 0u) { losses[r] = mx + log(total) - x[o + u32(targets[r])]; }`,
  },
  softmaxCrossEntropyBackward: {
    operands: [['p', 'read'], ['targets', 'read'], ['dx', 'read_write']],
    body: 'dx[t] = (p[t] - select(0.0, 1.0, t % u.n1 == u32(targets[t / u.n1]))) * u.s;',
  },
  memoryUpdate: {
    operands: [['M', 'read_write'], ['f', 'read'], ['targets', 'read']],
    body: `
  let k = targets[r];
  for (var b = 0u; b < r; b++) { if (targets[b] == k) { return; } }
  let mo = u32(k) * u.n1;
  if (u.n2 == 0u) {
    for (var b = r; b < u.n0; b++) {
      if (targets[b] == k) {${MEMORY_STEP('b')}
      }
    }
    return;
  }
  var hardest = r;
  var lowest = 0.0;
  for (var b = r; b < u.n0; b++) {
    if (targets[b] == k) {
      var q = 0.0;
      for (var j = l; j < u.n1; j = j + 256u) { q = q + f[b * u.n1 + j] * M[mo + j]; }
      part[l] = q;
    ${TREE('+')}
      if (b == r || part[0] < lowest) { lowest = part[0]; hardest = b; }
      workgroupBarrier();
    }
  }${MEMORY_STEP('hardest')}`,
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
