/**
 * WGSL shaders of BatchNorm (the cpu definitions: core/kernels/batchnorm.ts), x viewed as [N, C, S],
 * n = N·S values per channel:
 *
 *   bnStatistics:  stats = [mean[c] = Σ x / n, variance[c] = Σ (x − mean)² / n]        one workgroup per channel
 *   bnNormalize:   y = x · scale[c] + shift[c]          (params = [scale, shift])       one invocation per value
 *   bnBackward:    sums = [Σ dy, Σ dy x̂] per channel, x̂ = (x − mean) · invStd; if hasDx:
 *                  dx += scale (dy − training·(Σ dy / n + x̂ Σ dy x̂ / n))  (params = [mean, invStd, scale])
 *
 * The per-channel sums are float32 here (float64 on the cpu): each of the 256 invocations of a
 * channel's workgroup sums a strided share, then a tree in workgroup memory adds the 256 partials,
 * which keeps the rounding error near log2(n) ulps rather than n.
 */
export const BN_WORDS = 8;

/** Uniform words: N, C, S, training, hasDx, gx (normalize's grid width), total (normalize), pad. */
export function bnWords(N: number, C: number, S: number, training = false, hasDx = false, gx = 0): Uint32Array<ArrayBuffer> {
  return Uint32Array.of(N, C, S, training ? 1 : 0, hasDx ? 1 : 0, gx, N * C * S, 0);
}

export type BatchNormShaderName = 'bnStatistics' | 'bnNormalize' | 'bnBackward';

const HEAD = `struct B { N: u32, C: u32, S: u32, training: u32, hasDx: u32, gx: u32, total: u32, pad: u32 }
@group(0) @binding(0) var<uniform> b: B;`;

/** Tree sum of part[0..256) into part[0], every invocation taking part. */
const TREE = (part: string) => `  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (l < h) { ${part}[l] = ${part}[l] + ${part}[l + h]; }
    workgroupBarrier();
  }`;

const SOURCES: Record<BatchNormShaderName, string> = {
  bnStatistics: `${HEAD}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let c = w.x;
  let n = b.N * b.S;
  var s = 0.0;
  for (var k = l; k < n; k = k + 256u) { s = s + x[((k / b.S) * b.C + c) * b.S + k % b.S]; }
  part[l] = s;
${TREE('part')}
  let mu = part[0] / f32(n);
  workgroupBarrier();
  var q = 0.0;
  for (var k = l; k < n; k = k + 256u) { let d = x[((k / b.S) * b.C + c) * b.S + k % b.S] - mu; q = q + d * d; }
  part[l] = q;
${TREE('part')}
  if (l == 0u) { stats[c] = mu; stats[b.C + c] = part[0] / f32(n); }
}
`,
  bnNormalize: `${HEAD}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let t = (w.y * b.gx + w.x) * 256u + l;
  if (t >= b.total) { return; }
  let c = (t / b.S) % b.C;
  y[t] = x[t] * params[c] + params[b.C + c];
}
`,
  bnBackward: `${HEAD}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;
var<workgroup> partDy: array<f32, 256>;
var<workgroup> partDyX: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let c = w.x;
  let n = b.N * b.S;
  let mean = params[c];
  let invStd = params[b.C + c];
  let scale = params[2u * b.C + c];
  var s = 0.0;
  var sx = 0.0;
  for (var k = l; k < n; k = k + 256u) {
    let o = ((k / b.S) * b.C + c) * b.S + k % b.S;
    s = s + dy[o];
    sx = sx + dy[o] * ((x[o] - mean) * invStd);
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
  if (l == 0u) { sums[c] = sumDy; sums[b.C + c] = sumDyX; }
  if (b.hasDx == 0u) { return; }
  var meanDy = 0.0;
  var meanDyX = 0.0;
  if (b.training != 0u) { meanDy = sumDy / f32(n); meanDyX = sumDyX / f32(n); }
  for (var k = l; k < n; k = k + 256u) {
    let o = ((k / b.S) * b.C + c) * b.S + k % b.S;
    let xhat = (x[o] - mean) * invStd;
    dx[o] = dx[o] + scale * (dy[o] - meanDy - xhat * meanDyX);
  }
}
`,
};

export function batchNormShader(name: BatchNormShaderName): string {
  return SOURCES[name];
}
