/**
 * WGSL compute shaders of the elementwise kernels (the cpu definitions are core/kernels/elementwise.ts):
 * one invocation per value, 256 per workgroup, the workgroups laid out in two dimensions when one
 * would pass the device's limit (index = (wg.y · gx + wg.x) · 256 + local). Indices are u32 and the
 * length is a uniform: exact for every buffer a binding can hold. Each value is one float32
 * operation, as in the cpu kernels, so results are equal bit for bit (denormals aside: WGSL lets a
 * GPU flush them).
 */
import type { DeviceKernelName } from './protocol.ts';
import type { AdamStep } from '../../core/kernels/adam.ts';

export const WORKGROUP = 256;

/**
 * The entry point of a shader with one invocation per value: `index` is the value's position on
 * the two-dimensional grid (`gx` workgroups wide, so that more than the device's per-dimension
 * limit fit), and invocations past `total` return. The shader's body follows; it closes the brace.
 */
export function perValueMain(gx: string, total: string, index = 't'): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) w: vec3u, @builtin(local_invocation_index) l: u32) {
  let ${index} = (w.y * ${gx} + w.x) * ${WORKGROUP}u + l;
  if (${index} >= ${total}) { return; }`;
}

/** The storage operands of a shader, bound from 1 in argument order (binding 0 is the parameter block the worker's dispatch writes). */
export function storageBindings(operands: [string, 'read' | 'read_write'][]): string {
  return operands.map(([name, access], j) => `@group(0) @binding(${j + 1}) var<storage, ${access}> ${name}: array<f32>;`).join('\n');
}

/** Per kernel: its storage operands in argument order ('read' or 'read_write'), and the line that computes value i. */
const KERNELS: Record<DeviceKernelName, { operands: [string, 'read' | 'read_write'][]; body: string }> = {
  // y = x > 0 ? x : 0 (NaN and −0 give 0)
  relu: { operands: [['x', 'read'], ['y', 'read_write']], body: 'y[i] = select(0.0, x[i], x[i] > 0.0);' },
  // dx += x > 0 ? dy : 0
  reluBackward: { operands: [['x', 'read'], ['dy', 'read'], ['dx', 'read_write']], body: 'if (x[i] > 0.0) { dx[i] = dx[i] + dy[i]; }' },
  // y = a + b
  add: { operands: [['a', 'read'], ['b', 'read'], ['y', 'read_write']], body: 'y[i] = a[i] + b[i];' },
  // y += x
  addInto: { operands: [['y', 'read_write'], ['x', 'read']], body: 'y[i] = y[i] + x[i];' },
};

/** Storage operands of `kernel`, in argument order: which of them the kernel writes. */
export function writes(kernel: DeviceKernelName): boolean[] {
  return KERNELS[kernel].operands.map(([, access]) => access === 'read_write');
}

export function elementwiseShader(kernel: DeviceKernelName): string {
  const k = KERNELS[kernel];
  return `struct Params { n: u32, gx: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${storageBindings(k.operands)}
${perValueMain('p.gx', 'p.n', 'i')}
  ${k.body}
}
`;
}

/**
 * Adam (the cpu definition: core/kernels/adam.ts), one invocation per value; operands θ, g, m, v.
 * 1 − β1 and 1 − β2 come computed in float64 (1 − f32(0.999) is 1.3e-5 off in float32).
 */
export const ADAM = `struct A { n: u32, gx: u32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  eps: f32, weightDecay: f32, stepSize: f32, bc2: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> a: A;
${storageBindings([['theta', 'read_write'], ['grad', 'read'], ['m', 'read_write'], ['v', 'read_write']])}
${perValueMain('a.gx', 'a.n', 'i')}
  let g = grad[i] + a.weightDecay * theta[i];
  let mi = a.beta1 * m[i] + a.oneMinusBeta1 * g;
  let vi = a.beta2 * v[i] + a.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  theta[i] = theta[i] - a.stepSize * mi / (sqrt(vi) / a.bc2 + a.eps);
}
`;

/** ADAM's parameter block. */
export function adamWords(n: number, gx: number, s: AdamStep): Uint32Array<ArrayBuffer> {
  const words = Uint32Array.of(n, gx, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  new Float32Array(words.buffer).set([s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.eps, s.weightDecay, s.stepSize, s.bc2], 2);
  return words;
}
