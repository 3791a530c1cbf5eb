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
 */
import { GPU } from 'gpu.js';
import type { KernelSource } from './kernels/kernel-types.ts';

export type GpuMode = 'webgpu' | 'webasm' | 'cpu';

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
      });
      this.kernels.set(src.name, k);
    }
    return k;
  }

  /** Runs `src` over n output elements; returns what gpu.js returns (a promise in webgpu mode). */
  launch(src: KernelSource, n: number, args: unknown[]): unknown {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`gpu ${src.name}: output length must be a positive integer, got ${n}`);
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
