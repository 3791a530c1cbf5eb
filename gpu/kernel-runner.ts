/**
 * KernelRunner: one gpu.js `GPU` instance in one mode, a cache of built kernels keyed by source
 * name, and `launch(source, n, args)` that runs a kernel over a 1-D output of n elements.
 *
 *   pipeline = true:  results stay where the mode keeps them (webgpu: a GPU buffer handle, a fresh
 *                     one per call because kernels are `immutable`; cpu/webasm: a Float32Array)
 *   pipeline = false: results come back as a host Float32Array (a promise in webgpu mode)
 *
 * `ranModes` records, per kernel name, the mode of the gpu.js kernel object that actually ran
 * (`kernel.kernel.constructor.mode`), so tests can assert nothing silently fell back to cpu.
 *
 * Two gpu.js limits this runner enforces (issue 12; before it, both gave wrong numbers silently):
 *  - Loops. gpu.js stops every loop whose bound is a kernel argument after `loopMaxIterations`
 *    (1000 unless raised), in webgpu, webasm and cpu mode alike. Kernels are compiled once and
 *    reused at every size, so the limit is set once, to MAX_INDEX: every loop in gpu/kernels/*
 *    runs over the elements of an array argument (or over an Integer argument), and launch()
 *    refuses arrays and Integer arguments above MAX_INDEX, so no loop can reach the limit.
 *  - Indices. gpu.js's WGSL (and its WebAssembly) computes index arithmetic in float32, which is
 *    exact only for integers up to 2^24 (a gemm with a 16.8 M-element operand addressed 46 of its
 *    33,600 outputs wrongly). launch() refuses, before anything runs, any output, array argument or
 *    Integer argument above MAX_INDEX = 2^24, naming the kernel and the size. The cpu mode (float64
 *    indices) is held to the same limit, so the three modes accept the same calls.
 */
import { GPU } from 'gpu.js';
import type { KernelSource } from './kernels/kernel-types.ts';

export type GpuMode = 'webgpu' | 'webasm' | 'cpu';

/** Largest element count, index or Integer argument a kernel accepts: float32 integers are exact up to 2^24. */
export const MAX_INDEX = 2 ** 24;

/** Elements in an array argument: a typed array's length, or a gpu.js pipeline result's output size. */
function elementCount(arg: unknown): number | null {
  if (ArrayBuffer.isView(arg)) return (arg as Float32Array).length;
  const out = (arg as { output?: number[] } | null)?.output;
  return Array.isArray(out) ? out.reduce((a, b) => a * b, 1) : null;
}

/** Throws, naming the kernel and the size, when a launch would address past MAX_INDEX. */
export function checkIndexLimits(src: KernelSource, n: number, args: unknown[]): void {
  const limit = `more than 2^24 = ${MAX_INDEX}, the largest size gpu.js's float32 index arithmetic addresses exactly; refused before running`;
  if (n > MAX_INDEX) throw new Error(`gpu ${src.name}: output of ${n} elements is ${limit}`);
  const names = Object.keys(src.argumentTypes);
  args.forEach((arg, i) => {
    const [name, type] = [names[i] ?? `argument ${i}`, src.argumentTypes[names[i]]];
    if (type === 'Integer' && Math.abs(arg as number) > MAX_INDEX) {
      throw new Error(`gpu ${src.name}: ${name} = ${arg as number} is ${limit}`);
    }
    const len = type === 'Array' ? elementCount(arg) : null;
    if (len !== null && len > MAX_INDEX) throw new Error(`gpu ${src.name}: ${name} of ${len} elements is ${limit}`);
  });
}

// gpu.js's own typings do not describe the webgpu/pipeline API; the runner is the one place that
// talks to it, through this narrow shape.
interface RunShortcut {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  kernel: { constructor: { mode: string }; fallbackReason?: string | null };
  destroy?(): void;
}

export class KernelRunner {
  readonly mode: GpuMode;
  readonly ranModes = new Map<string, string>();
  private readonly gpu: { createKernel(fn: unknown, settings: object): RunShortcut; destroy(): unknown };
  private readonly kernels = new Map<string, RunShortcut>();

  constructor(mode: GpuMode, private readonly pipeline: boolean) {
    this.mode = mode;
    this.gpu = new GPU({ mode } as never) as never;
  }

  private kernel(src: KernelSource): RunShortcut {
    let k = this.kernels.get(src.name);
    if (!k) {
      k = this.gpu.createKernel(src.fn, {
        output: [1],
        pipeline: this.pipeline,
        immutable: this.pipeline,
        dynamicOutput: true,
        dynamicArguments: true,
        argumentTypes: src.argumentTypes,
        tactic: 'precision',
        loopMaxIterations: MAX_INDEX,
      });
      this.kernels.set(src.name, k);
    }
    return k;
  }

  /** Runs `src` over n output elements; returns what gpu.js returns (a promise in webgpu mode). */
  launch(src: KernelSource, n: number, args: unknown[]): unknown {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`gpu ${src.name}: output length must be a positive integer, got ${n}`);
    checkIndexLimits(src, n, args);
    const k = this.kernel(src);
    k.setOutput([n]);
    const result = k(...args);
    this.ranModes.set(src.name, k.kernel.constructor.mode);
    return result;
  }

  destroy(): void {
    this.gpu.destroy();
    this.kernels.clear();
  }
}
