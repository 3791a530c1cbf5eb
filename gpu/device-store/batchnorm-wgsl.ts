/**
 * WGSL shaders of BatchNorm (the cpu definitions: core/kernels/batchnorm.ts), x viewed as [N, C, S],
 * n = N·S values per channel; every per-channel array is a float32 device buffer of C values:
 *
 *   bnStatistics:  mean[c] = Σ x / n, variance[c] = Σ (x − mean)² / n                 one workgroup per channel
 *   bnRunning:     training: runningMean ← (1 − m) runningMean + m mean,               one invocation per channel
 *                            runningVar ← (1 − m) runningVar + m variance n/(n − 1)
 *                  eval:     mean ← runningMean, variance ← runningVar
 *   bnScaleShift:  invStd = 1/√(variance + eps), scale = γ invStd, shift = β − mean scale  one invocation per channel
 *   bnNormalize:   y = x · scale[c] + shift[c]                                           one invocation per value
 *   bnBackward:    Σ dy, Σ dy x̂ per channel, x̂ = (x − mean) · invStd: dβ += Σ dy, dγ += Σ dy x̂, and
 *                  dx += scale (dy − training·(Σ dy / n + x̂ Σ dy x̂ / n)), each if given   one workgroup per channel
 *
 * The registry's batchNormScaleShift is bnRunning then bnScaleShift (two passes, so that no shader
 * binds more than the 8 storage buffers WebGPU promises). The per-channel sums are float32 here
 * (float64 on the cpu): each of the 256 invocations of a channel's workgroup sums a strided share,
 * then a tree in workgroup memory adds the 256 partials, which keeps the rounding error near
 * log2(n) ulps rather than n.
 */
import { perValueMain, storageBindings } from './elementwise-wgsl.ts';

/** Which of bnBackward's outputs are given (the flags word). */
export const BN_DX = 1, BN_DGAMMA = 2, BN_DBETA = 4;

/** The parameter block: N, C, S, training, flags, gx (the grid's width), total (per-value passes), momentum, eps. */
export function bnWords(N: number, C: number, S: number, o: { training?: boolean; flags?: number; gx: number; total: number; momentum?: number; eps?: number }): Uint32Array<ArrayBuffer> {
  const words = Uint32Array.of(N, C, S, o.training ? 1 : 0, o.flags ?? 0, o.gx, o.total, 0, 0, 0, 0, 0);
  new Float32Array(words.buffer).set([o.momentum ?? 0, o.eps ?? 0], 8);
  return words;
}

export type BatchNormShaderName = 'bnStatistics' | 'bnRunning' | 'bnScaleShift' | 'bnNormalize' | 'bnBackward';

/** The shaders that run one workgroup per channel (the others: one invocation per value or channel). */
export const PER_CHANNEL_GROUP = new Set<BatchNormShaderName>(['bnStatistics', 'bnBackward']);

const head = (operands: [string, 'read' | 'read_write'][]) => `struct B { N: u32, C: u32, S: u32, training: u32, flags: u32, gx: u32, total: u32, pad: u32,
  momentum: f32, eps: f32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> b: B;
${storageBindings(operands)}`;

/** Tree sum of part[0..256) into part[0], every invocation taking part. */
const TREE = (part: string) => `  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (l < h) { ${part}[l] = ${part}[l] + ${part}[l + h]; }
    workgroupBarrier();
  }`;

/** The index t of a per-value (or per-channel) invocation, returning past `total`. */
const PER_VALUE = perValueMain('b.gx', 'b.total');

/** The value k (of n) of channel c, in x's layout [N, C, S]. */
const AT = '((k / b.S) * b.C + c) * b.S + k % b.S';

const SOURCES: Record<BatchNormShaderName, string> = {
  bnStatistics: `${head([['x', 'read'], ['mean', 'read_write'], ['variance', 'read_write']])}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let c = w.x;
  let n = b.N * b.S;
  var s = 0.0;
  for (var k = l; k < n; k = k + 256u) { s = s + x[${AT}]; }
  part[l] = s;
${TREE('part')}
  let mu = part[0] / f32(n);
  workgroupBarrier();
  var q = 0.0;
  for (var k = l; k < n; k = k + 256u) { let d = x[${AT}] - mu; q = q + d * d; }
  part[l] = q;
${TREE('part')}
  if (l == 0u) { mean[c] = mu; variance[c] = part[0] / f32(n); }
}
`,
  bnRunning: `${head([['runningMean', 'read_write'], ['runningVar', 'read_write'], ['mean', 'read_write'], ['variance', 'read_write']])}
${PER_VALUE}
  if (b.training != 0u) {
    let n = f32(b.N * b.S);
    runningMean[t] = (1.0 - b.momentum) * runningMean[t] + b.momentum * mean[t];
    runningVar[t] = (1.0 - b.momentum) * runningVar[t] + b.momentum * variance[t] * n / (n - 1.0);
  } else {
    mean[t] = runningMean[t];
    variance[t] = runningVar[t];
  }
}
`,
  bnScaleShift: `${head([['gamma', 'read'], ['beta', 'read'], ['mean', 'read'], ['variance', 'read'], ['invStd', 'read_write'], ['scale', 'read_write'], ['shift', 'read_write']])}
${PER_VALUE}
  let s = 1.0 / sqrt(variance[t] + b.eps);
  invStd[t] = s;
  scale[t] = gamma[t] * s;
  shift[t] = beta[t] - mean[t] * (gamma[t] * s);
}
`,
  bnNormalize: `${head([['x', 'read'], ['scale', 'read'], ['shift', 'read'], ['y', 'read_write']])}
${PER_VALUE}
  let c = (t / b.S) % b.C;
  y[t] = x[t] * scale[c] + shift[c];
}
`,
  bnBackward: `${head([['x', 'read'], ['dy', 'read'], ['mean', 'read'], ['invStd', 'read'], ['scale', 'read'],
    ['dx', 'read_write'], ['dGamma', 'read_write'], ['dBeta', 'read_write']])}
var<workgroup> partDy: array<f32, 256>;
var<workgroup> partDyX: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let c = w.x;
  let n = b.N * b.S;
  let mu = mean[c];
  let is = invStd[c];
  let sc = scale[c];
  var s = 0.0;
  var sx = 0.0;
  for (var k = l; k < n; k = k + 256u) {
    let o = ${AT};
    s = s + dy[o];
    sx = sx + dy[o] * ((x[o] - mu) * is);
  }
  partDy[l] = s;
  partDyX[l] = sx;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (l < h) { partDy[l] = partDy[l] + partDy[l + h]; partDyX[l] = partDyX[l] + partDyX[l + h]; }
    workgroupBarrier();
  }
  let sumDy = partDy[0];
  let sumDyX = partDyX[0];
  if (l == 0u) {
    if ((b.flags & ${BN_DBETA}u) != 0u) { dBeta[c] = dBeta[c] + sumDy; }
    if ((b.flags & ${BN_DGAMMA}u) != 0u) { dGamma[c] = dGamma[c] + sumDyX; }
  }
  if ((b.flags & ${BN_DX}u) == 0u) { return; }
  var meanDy = 0.0;
  var meanDyX = 0.0;
  if (b.training != 0u) { meanDy = sumDy / f32(n); meanDyX = sumDyX / f32(n); }
  for (var k = l; k < n; k = k + 256u) {
    let o = ${AT};
    let xhat = (x[o] - mu) * is;
    dx[o] = dx[o] + sc * (dy[o] - meanDy - xhat * meanDyX);
  }
}
`,
};

export function batchNormShader(name: BatchNormShaderName): string {
  return SOURCES[name];
}
