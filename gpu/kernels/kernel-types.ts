/**
 * Types shared by the gpu.js kernel sources in gpu/kernels/.
 *
 * A kernel source is a plain `function` that gpu.js parses (acorn) and translates to WGSL (webgpu),
 * WebAssembly (webasm) or JavaScript (cpu). Rules that keep it translatable: no closures, no nested
 * functions, no array literals, every array argument a flat 1-D Float32 buffer indexed explicitly,
 * every integer argument declared 'Integer' in argumentTypes. One thread computes one output
 * element; every kernel here has a 1-D output of `outputLength(...)` elements.
 *
 * Integer arithmetic: gpu.js computes indices in float32 (exact for integers up to 2^24, which
 * kernel-runner.ts enforces), and WGSL does not promise a correctly rounded division (NVIDIA's is
 * within a few ULP), so `Math.floor(a / d)` may be off by one when a is a multiple of d. Every
 * quotient is therefore corrected with exact products:
 *   let q = Math.floor(a / d);  if (q * d > a) q = q - 1;  if ((q + 1) * d <= a) q = q + 1;
 * (products of integers below 2^24 compare exactly with a < 2^24: rounding is monotonic.)
 */

/** What gpu.js puts on `this` inside a kernel. */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
}

/** A flat array argument as seen from inside a kernel. */
export type Flat = ArrayLike<number>;

export type ArgType = 'Array' | 'Integer' | 'Float';

export interface KernelSource {
  /** name used in error messages and for the backend's kernel cache */
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (this: KernelThis, ...args: any[]) => number;
  /** gpu.js argument types, in parameter order (names must match fn's parameter names) */
  argumentTypes: Record<string, ArgType>;
}
