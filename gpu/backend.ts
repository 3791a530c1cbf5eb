/**
 * The gpu.js backend: `createGpuBackend(mode)` for mode 'webgpu' | 'webasm' | 'cpu'.
 *
 * Two faces:
 *  1. gemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc): void
 *     synchronous, host arrays in and out, exactly core/gemm.ts's semantics (float32 arithmetic).
 *     In webgpu mode it runs in a worker (sync-gemm/bridge.ts) so the CPU tensor core can call it
 *     unchanged, as the tiled WGSL GEMM (gpu/wgsl/gemm.ts) unless `gemm: 'gpujs'` asks for gpu.js's
 *     naive kernel; in cpu/webasm modes gpu.js runs it synchronously on this thread.
 *  2. Device-resident kernels (async): DeviceArray in, DeviceArray out, no readback between
 *     kernels; `read(a)` is the only readback. Shapes are given explicitly, row-major:
 *       matmul   op(A) [M,K] x op(B) [K,N]                     -> [M,N]
 *       bmm      [batch] op(A_b) [M,K] x op(B_b) [K,N]         -> [batch,M,N]  (HLA/DLA products)
 *       bmmSumBatch  sum_b op(A_b) op(B_b)                     -> [M,N]
 *       im2col / col2im, conv2dForward / conv2dBackward        (NCHW, see kernels/conv.ts)
 *       softmax / softmaxBackward over the last axis           [R,L]
 *       pairwiseSqDist  X [n,d], Y [m,d]                       -> [n,m]
 *       add, mul, relu, reluBackward, sigmoid, sigmoidBackward (elementwise)
 *     Every result is a fresh DeviceArray: free() it when done (webgpu buffers are not GC'd
 *     promptly enough for training).
 *     In webgpu mode matmul, bmm and bmmSumBatch (and so the conv products) run the tiled WGSL
 *     GEMM on gpu.js's device and buffers (unless `gemm: 'gpujs'`), submitted synchronously in
 *     call order like gpu.js's pipeline kernels. They still accept only what the gpu.js kernels
 *     accept (2^24 elements per operand, the same refusal), so the three modes take the same calls;
 *     the WGSL GEMM itself addresses a whole storage binding.
 *
 * describe() -> "webgpu on google swiftshader (SwiftShader driver 5.0.0)" / "webasm (CPU)" / "cpu (CPU)".
 * ranModes: kernel name -> mode that actually executed it (tests assert 'webgpu'; a WGSL product is
 * recorded as 'webgpu' under its op name); ranEngines: op name -> 'wgsl' or 'gpujs'.
 */
import type { Float } from '../core/gemm.ts';
import { KernelRunner, checkIndexLimits, type GpuMode } from './kernel-runner.ts';
import { GPUJS_GEMM_LIMIT, hostGemm, type CompactGemm, type GemmCompute, type GemmLimit } from './host-gemm.ts';
import { installWebGpu, type SoftwareAdapterPolicy, type WebGpuInstall } from './webgpu-setup.ts';
import { startSyncGemmBridge, type GemmEngine, type SyncGemmBridge } from './sync-gemm/bridge.ts';
import { WgslGemm, type BufferResult } from './wgsl/gemm.ts';
import type { KernelSource } from './kernels/kernel-types.ts';
import { gemmKernel } from './kernels/gemm.ts';
import { bmmKernel, bmmSumBatchKernel } from './kernels/batched-matmul.ts';
import { addChannelBiasKernel, col2imKernel, im2colKernel, sumChannelsKernel } from './kernels/conv.ts';
import { rowDotKernel, rowMaxKernel, rowSumExpKernel, softmaxBackwardKernel, softmaxNormalizeKernel } from './kernels/softmax.ts';
import { pairwiseSqDistKernel } from './kernels/pairwise.ts';
import {
  addKernel, copyKernel, mulKernel, reluBackwardKernel, reluKernel, sigmoidBackwardKernel, sigmoidKernel,
} from './kernels/elementwise.ts';

export type { GpuMode } from './kernel-runner.ts';
export type { GemmEngine } from './sync-gemm/bridge.ts';

/** A flat float32 array living where the backend keeps data (a GPU buffer in webgpu mode). */
export interface DeviceArray {
  readonly length: number;
  /** webgpu: gpu.js WebGPUBufferResult; cpu/webasm: Float32Array */
  readonly handle: unknown;
}

export interface ConvGeometry {
  /** input [B, C, H, W] */
  B: number; C: number; H: number; W: number;
  /** kernel height/width, stride, zero padding */
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
}

export interface MatOpts {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
}

export interface BatchOpts extends MatOpts {
  /** elements between consecutive A_b (0 = one A for every b); default M*K */
  strideA?: number;
  /** elements between consecutive B_b (0 = one B for every b); default K*N */
  strideB?: number;
}

export interface GpuBackendOptions {
  /** webgpu only: whether SwiftShader may serve as the adapter (default 'never') */
  software?: SoftwareAdapterPolicy;
  /** webgpu only: the GEMM for gemm/matmul/bmm/bmmSumBatch, 'wgsl' (tiled, default) or 'gpujs' (naive) */
  gemm?: GemmEngine;
  /** webgpu + wgsl only: lower the WGSL GEMM's per-binding limit below the device's (tests) */
  maxBindingBytes?: number;
  /** webgpu + wgsl only: lower the WGSL GEMM's workgroups per dispatch axis (tests of the split) */
  maxWorkgroupsPerDimension?: number;
}

export function convOutputSize(g: ConvGeometry): { Ho: number; Wo: number } {
  const Ho = Math.floor((g.H + 2 * g.ph - g.kh) / g.sh) + 1;
  const Wo = Math.floor((g.W + 2 * g.pw - g.kw) / g.sw) + 1;
  if (Ho <= 0 || Wo <= 0) throw new Error(`gpu conv2d: kernel ${g.kh}x${g.kw} does not fit input ${g.H}x${g.W} with padding ${g.ph},${g.pw}`);
  return { Ho, Wo };
}

export class GpuBackend {
  readonly mode: GpuMode;
  readonly install: WebGpuInstall | null;
  private readonly runner: KernelRunner;
  private readonly gemmCompute: GemmCompute;
  private readonly bridge: SyncGemmBridge | null;
  private readonly wgsl: WgslGemm | null;
  private readonly gemmLimit: GemmLimit = GPUJS_GEMM_LIMIT;
  /** op name -> the GEMM engine that ran it ('wgsl' or 'gpujs') */
  readonly ranEngines = new Map<string, GemmEngine>();

  constructor(mode: GpuMode, install: WebGpuInstall | null, bridge: SyncGemmBridge | null, wgsl: WgslGemm | null = null) {
    this.mode = mode;
    this.install = install;
    this.bridge = bridge;
    this.wgsl = wgsl;
    this.runner = new KernelRunner(mode, true);
    if (bridge) {
      this.gemmCompute = bridge.compute;
      this.gemmLimit = bridge.limit;
    } else {
      const hostRunner = new KernelRunner(mode, false);
      this.gemmCompute = (j: CompactGemm) =>
        hostRunner.launch(gemmKernel, j.M * j.N, [
          j.A, j.B, j.Cin, j.M, j.N, j.K, 0, j.lda, 0, j.ldb, j.transA, j.transB, j.alpha, j.beta,
        ]) as Float32Array;
    }
  }

  /** "webgpu on <adapter>" or "<mode> (CPU)", for the start-up banner. */
  describe(): string {
    if (this.mode !== 'webgpu') return `${this.mode} (gpu.js on the CPU)`;
    const soft = this.install!.software ? ', software Vulkan on the CPU' : '';
    return `webgpu on ${this.install!.label}${soft}`;
  }

  /** Kernel name -> the gpu.js mode that actually ran it. */
  get ranModes(): ReadonlyMap<string, string> {
    return this.runner.ranModes;
  }

  /** core/gemm.ts's gemm, synchronous, host arrays; see host-gemm.ts. */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float, aOff: number, lda: number, B: Float, bOff: number, ldb: number,
    beta: number, C: Float, cOff: number, ldc: number,
  ): void {
    hostGemm(this.gemmCompute, transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc, this.gemmLimit);
    this.ranEngines.set('gemm', this.bridge ? this.bridge.engine : 'gpujs');
  }

  /** Dispatches the device-resident WGSL GEMM has submitted (0 with gpu.js's); a split product counts each. */
  get wgslDispatches(): number {
    return this.wgsl?.dispatches ?? 0;
  }

  /** The GEMM engine of gemm/matmul/bmm/bmmSumBatch: 'wgsl' or 'gpujs'. */
  get gemmEngine(): GemmEngine {
    return this.wgsl ? 'wgsl' : 'gpujs';
  }

  /**
   * bmm / bmmSumBatch on the WGSL GEMM: the gpu.js kernel's argument checks first (same calls
   * accepted in every mode), then one synchronous submission on gpu.js's queue.
   */
  private wgslBmm(src: KernelSource, args: unknown[], n: number, a: DeviceArray, b: DeviceArray, g: {
    batch: number; M: number; N: number; K: number; sA: number; sB: number; o: MatOpts; sum: boolean;
  }): Promise<DeviceArray> {
    try {
      if (!Number.isInteger(n) || n <= 0) throw new Error(`gpu ${src.name}: output length must be a positive integer, got ${n}`);
      checkIndexLimits(src, n, args);
      const out = this.wgsl!.bmm(a.handle as BufferResult, b.handle as BufferResult, {
        name: src.name, M: g.M, N: g.N, K: g.K, batch: g.batch, strideA: g.sA, strideB: g.sB,
        transA: g.o.transA, transB: g.o.transB, alpha: g.o.alpha ?? 1, sumBatch: g.sum,
      });
      this.runner.ranModes.set(src.name, 'webgpu');
      this.ranEngines.set(src.name, 'wgsl');
      return Promise.resolve({ length: n, handle: out });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async run(src: KernelSource, n: number, args: unknown[]): Promise<DeviceArray> {
    const handle = await this.runner.launch(src, n, args);
    return { length: n, handle };
  }

  private h(a: DeviceArray, need: number, what: string): unknown {
    if (a.length < need) throw new Error(`gpu ${what}: needs ${need} elements, got ${a.length}`);
    return a.handle;
  }

  /** Host -> device. */
  upload(host: Float32Array | Float64Array): Promise<DeviceArray> {
    if (host.length === 0) throw new Error('gpu upload: empty array');
    const f32 = host instanceof Float32Array ? host : Float32Array.from(host);
    return this.run(copyKernel, f32.length, [f32]);
  }

  /** Device -> host (the only readback). */
  async read(a: DeviceArray): Promise<Float32Array> {
    const h = a.handle as Float32Array | { toArray(): Promise<Float32Array> };
    if (h instanceof Float32Array) return h.slice(0, a.length);
    const out = await h.toArray();
    return out.length === a.length ? out : out.slice(0, a.length);
  }

  free(...arrays: DeviceArray[]): void {
    for (const a of arrays) {
      const h = a.handle as { delete?: () => void };
      if (typeof h.delete === 'function') h.delete();
    }
  }

  /** op(A) [M,K] x op(B) [K,N] * alpha -> [M,N]. */
  matmul(A: DeviceArray, B: DeviceArray, M: number, N: number, K: number, o: MatOpts = {}): Promise<DeviceArray> {
    return this.bmm(A, B, 1, M, N, K, o);
  }

  /** [batch] op(A_b) x op(B_b) -> [batch, M, N]. */
  bmm(A: DeviceArray, B: DeviceArray, batch: number, M: number, N: number, K: number, o: BatchOpts = {}): Promise<DeviceArray> {
    const sA = o.strideA ?? M * K;
    const sB = o.strideB ?? K * N;
    const a = this.h(A, (batch - 1) * sA + M * K, 'bmm A');
    const b = this.h(B, (batch - 1) * sB + K * N, 'bmm B');
    const args = [a, b, M, N, K, sA, sB, o.transA ? 1 : 0, o.transB ? 1 : 0, o.alpha ?? 1];
    if (this.wgsl) return this.wgslBmm(bmmKernel, args, batch * M * N, A, B, { batch, M, N, K, sA, sB, o, sum: false });
    this.ranEngines.set('bmm', 'gpujs');
    return this.run(bmmKernel, batch * M * N, args);
  }

  /** sum_b op(A_b) x op(B_b) -> [M, N]. */
  bmmSumBatch(A: DeviceArray, B: DeviceArray, batch: number, M: number, N: number, K: number, o: BatchOpts = {}): Promise<DeviceArray> {
    const sA = o.strideA ?? M * K;
    const sB = o.strideB ?? K * N;
    const a = this.h(A, (batch - 1) * sA + M * K, 'bmmSumBatch A');
    const b = this.h(B, (batch - 1) * sB + K * N, 'bmmSumBatch B');
    const args = [a, b, batch, M, N, K, sA, sB, o.transA ? 1 : 0, o.transB ? 1 : 0, o.alpha ?? 1];
    if (this.wgsl) return this.wgslBmm(bmmSumBatchKernel, args, M * N, A, B, { batch, M, N, K, sA, sB, o, sum: true });
    this.ranEngines.set('bmmSumBatch', 'gpujs');
    return this.run(bmmSumBatchKernel, M * N, args);
  }

  private geometryArgs(g: ConvGeometry): number[] {
    const { Ho, Wo } = convOutputSize(g);
    return [g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, Ho, Wo];
  }

  /** x [B,C,H,W] -> cols [B, C*kh*kw, Ho*Wo]. */
  im2col(x: DeviceArray, g: ConvGeometry): Promise<DeviceArray> {
    const { Ho, Wo } = convOutputSize(g);
    const n = g.B * g.C * g.kh * g.kw * Ho * Wo;
    return this.run(im2colKernel, n, [this.h(x, g.B * g.C * g.H * g.W, 'im2col x'), ...this.geometryArgs(g)]);
  }

  /** cols [B, C*kh*kw, Ho*Wo] -> [B,C,H,W], the adjoint of im2col. */
  col2im(cols: DeviceArray, g: ConvGeometry): Promise<DeviceArray> {
    const { Ho, Wo } = convOutputSize(g);
    const c = this.h(cols, g.B * g.C * g.kh * g.kw * Ho * Wo, 'col2im cols');
    return this.run(col2imKernel, g.B * g.C * g.H * g.W, [c, ...this.geometryArgs(g)]);
  }

  /**
   * y[b] = W [Cout, C*kh*kw] x cols[b] + bias  -> y [B, Cout, Ho, Wo]; keeps cols for the backward
   * (caller frees it).
   */
  async conv2dForward(x: DeviceArray, w: DeviceArray, bias: DeviceArray | null, Cout: number, g: ConvGeometry): Promise<{ y: DeviceArray; cols: DeviceArray }> {
    const { Ho, Wo } = convOutputSize(g);
    const R = g.C * g.kh * g.kw;
    const P = Ho * Wo;
    const cols = await this.im2col(x, g);
    const y0 = await this.bmm(w, cols, g.B, Cout, P, R, { strideA: 0, strideB: R * P });
    if (!bias) return { y: y0, cols };
    const y = await this.run(addChannelBiasKernel, g.B * Cout * P, [y0.handle, this.h(bias, Cout, 'conv2d bias'), Cout, P]);
    this.free(y0);
    return { y, cols };
  }

  /**
   * Backward of conv2dForward given dy [B, Cout, Ho, Wo]:
   *   dX = col2im(W^T x dy_b),  dW = sum_b dy_b x cols_b^T,  db[c] = sum_{b,p} dy[b,c,p].
   */
  async conv2dBackward(dy: DeviceArray, w: DeviceArray, cols: DeviceArray, Cout: number, g: ConvGeometry): Promise<{ dx: DeviceArray; dw: DeviceArray; db: DeviceArray }> {
    const { Ho, Wo } = convOutputSize(g);
    const R = g.C * g.kh * g.kw;
    const P = Ho * Wo;
    const dcols = await this.bmm(w, dy, g.B, R, P, Cout, { transA: true, strideA: 0, strideB: Cout * P });
    const dx = await this.col2im(dcols, g);
    this.free(dcols);
    const dw = await this.bmmSumBatch(dy, cols, g.B, Cout, R, P, { transB: true, strideA: Cout * P, strideB: R * P });
    const db = await this.run(sumChannelsKernel, Cout, [this.h(dy, g.B * Cout * P, 'conv2d dy'), g.B, Cout, P]);
    return { dx, dw, db };
  }

  /** Softmax over the last axis of x [R, L]. */
  async softmax(x: DeviceArray, R: number, L: number): Promise<DeviceArray> {
    const xh = this.h(x, R * L, 'softmax x');
    const mx = await this.run(rowMaxKernel, R, [xh, L]);
    const sum = await this.run(rowSumExpKernel, R, [xh, mx.handle, L]);
    const y = await this.run(softmaxNormalizeKernel, R * L, [xh, mx.handle, sum.handle, L]);
    this.free(mx, sum);
    return y;
  }

  /** dx = y * (dy - sum_l y*dy) for y = softmax(x) over the last axis. */
  async softmaxBackward(y: DeviceArray, dy: DeviceArray, R: number, L: number): Promise<DeviceArray> {
    const yh = this.h(y, R * L, 'softmaxBackward y');
    const dyh = this.h(dy, R * L, 'softmaxBackward dy');
    const dot = await this.run(rowDotKernel, R, [yh, dyh, L]);
    const dx = await this.run(softmaxBackwardKernel, R * L, [yh, dyh, dot.handle, L]);
    this.free(dot);
    return dx;
  }

  /** D[i,j] = |X_i - Y_j|^2 for X [n,d], Y [m,d]. */
  pairwiseSqDist(X: DeviceArray, Y: DeviceArray, n: number, m: number, d: number): Promise<DeviceArray> {
    return this.run(pairwiseSqDistKernel, n * m, [this.h(X, n * d, 'pairwiseSqDist X'), this.h(Y, m * d, 'pairwiseSqDist Y'), m, d]);
  }

  private binary(src: KernelSource, a: DeviceArray, b: DeviceArray): Promise<DeviceArray> {
    if (a.length !== b.length) throw new Error(`gpu ${src.name}: lengths differ (${a.length} vs ${b.length})`);
    return this.run(src, a.length, [a.handle, b.handle]);
  }

  add(a: DeviceArray, b: DeviceArray): Promise<DeviceArray> { return this.binary(addKernel, a, b); }
  mul(a: DeviceArray, b: DeviceArray): Promise<DeviceArray> { return this.binary(mulKernel, a, b); }
  relu(a: DeviceArray): Promise<DeviceArray> { return this.run(reluKernel, a.length, [a.handle]); }
  /** dy where the forward input a > 0, else 0. */
  reluBackward(a: DeviceArray, dy: DeviceArray): Promise<DeviceArray> { return this.binary(reluBackwardKernel, a, dy); }
  sigmoid(a: DeviceArray): Promise<DeviceArray> { return this.run(sigmoidKernel, a.length, [a.handle]); }
  /** dy * y * (1 - y) with y the forward output. */
  sigmoidBackward(y: DeviceArray, dy: DeviceArray): Promise<DeviceArray> { return this.binary(sigmoidBackwardKernel, y, dy); }

  async destroy(): Promise<void> {
    this.runner.destroy();
    this.wgsl?.destroy();
    if (this.bridge) await this.bridge.close();
  }
}

/**
 * Creates the backend. webgpu: installs navigator.gpu (rejects with a clear error when no adapter
 * answers) and starts the synchronous-GEMM worker on the same kind of adapter.
 */
export async function createGpuBackend(mode: GpuMode, opts: GpuBackendOptions = {}): Promise<GpuBackend> {
  if (mode !== 'webgpu' && mode !== 'webasm' && mode !== 'cpu') {
    throw new Error(`gpu backend: unknown mode '${String(mode)}' (expected webgpu, webasm or cpu)`);
  }
  if (mode !== 'webgpu') return new GpuBackend(mode, null, null);
  const software = opts.software ?? 'never';
  const install = await installWebGpu({ software });
  const engine = opts.gemm ?? 'wgsl';
  if (engine !== 'wgsl' && engine !== 'gpujs') throw new Error(`gpu backend: unknown gemm engine '${String(engine)}' (expected wgsl or gpujs)`);
  const limits = { maxBindingBytes: opts.maxBindingBytes, maxWorkgroupsPerDimension: opts.maxWorkgroupsPerDimension };
  const bridge = await startSyncGemmBridge(install.software ? 'always' : 'never', { engine, ...limits });
  const wgsl = engine === 'wgsl' ? await WgslGemm.create(limits) : null;
  return new GpuBackend(mode, install, bridge, wgsl);
}
