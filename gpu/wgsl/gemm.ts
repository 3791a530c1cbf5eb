/// <reference types="@webgpu/types" />
/**
 * WgslGemm: the tiled WGSL GEMM (gemm-shader.ts) dispatched on gpu.js's own WebGPU device, so its
 * results and gpu.js's pipeline results are the same kind of object and flow into each other:
 *
 *   const g = await WgslGemm.create()             // gpu.js's WebGPUContext: same device, same queue
 *   await g.gemm(job)                             // host arrays: core/gemm.ts's compact contract
 *                                                 //   (host-gemm.ts's CompactGemm), result read back
 *   g.bmm(A, B, {...})                            // device-resident: gpu.js WebGPUBufferResults in,
 *                                                 //   a new WebGPUBufferResult out (no readback)
 *
 * Ordering: dispatches are recorded by a DispatchRecorder (recorder.ts). On gpu.js's device each
 * call's dispatches are submitted before it returns, as gpu.js's pipeline kernels are once built, so
 * a WGSL product and the gpu.js kernels before and after it run in call order; only readback
 * (mapAsync) is asynchronous. On a device store's device (forDevice with its recorder) they join
 * the store's batch, which the store submits.
 *
 * Limits, refused before anything is encoded, naming the kernel and the size:
 *   - every operand and the output must fit one storage binding (the device's
 *     maxStorageBufferBindingSize, all of it requested by gpu.js's context), which also keeps every
 *     u32 element index exact (it is < 2^32 / 4 on any device whose limit is below 16 GiB, and an
 *     explicit 2^32 - 1 element cap covers the rest);
 *   - workgroup counts past maxComputeWorkgroupsPerDimension are split into several dispatches.
 * `maxBindingBytes` and `maxWorkgroupsPerDimension` (options) lower the device's limits, for tests.
 */
import { createRequire } from 'node:module';
import {
  PARAM, PARAM_WORDS, REDUCE_WORDS, TILE_LARGE, TILE_SHORT, TILE_TINY, gemmShader, splitKReduceShader, type TileConfig,
} from './gemm-shader.ts';
import type { CompactGemm } from '../host-gemm.ts';
import { DispatchRecorder } from './recorder.ts';

// WebGPU flag values (the spec's; used as numbers so nothing depends on installed globals)
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_STORAGE = 0x0080;
const MAP_READ = 0x0001;

/**
 * Split-K: a single product whose output has fewer than `splitKTarget` tiles (e.g. ResNet-50 conv1's
 * weight gradient, 64 x 147 with K = 8192: 3 tiles, 3 workgroups on a device with 100+ cores) is cut
 * along K into chunks of at least SPLIT_MIN_SLABS slabs, so that about splitKTarget workgroups run;
 * a second pass sums the partials in a fixed order (deterministic). Default target: 128 workgroups
 * on a hardware adapter, off on a software one (SwiftShader on 2 cores measured 1.7-2x slower with it).
 */
const SPLIT_TARGET_HARDWARE = 128;
const SPLIT_MIN_SLABS = 8;

/** Largest u32 element index + 1. */
const U32_ELEMENTS = 2 ** 32 - 1;

/** gpu.js's shared WebGPU context ({ adapter, device, isLost }) and its pipeline result class. */
interface GpuJsContext { adapter: GPUAdapter; device: GPUDevice; isLost: boolean }
export interface BufferResult {
  buffer: GPUBuffer;
  output: number[];
  context: GpuJsContext;
  _deleted?: boolean;
  toArray(): Promise<Float32Array>;
  delete(): void;
}
interface GpuJsWebGpu {
  WebGPUContext: { acquire(): Promise<GpuJsContext> };
  WebGPUBufferResult: new (s: { buffer: GPUBuffer; output: number[]; context: GpuJsContext; kernel: unknown }) => BufferResult;
}

function gpuJs(): GpuJsWebGpu {
  // the CommonJS instance `import { GPU } from 'gpu.js'` loads: one module cache, one WebGPUContext
  return createRequire(import.meta.url)('gpu.js') as GpuJsWebGpu;
}

export interface WgslGemmOptions {
  /** lower the per-binding limit (bytes) below the device's maxStorageBufferBindingSize (tests) */
  maxBindingBytes?: number;
  /** lower the workgroups per dispatch axis below the device's maxComputeWorkgroupsPerDimension (tests of the split) */
  maxWorkgroupsPerDimension?: number;
  /** split-K below this many output tiles (0: never); default 128 on hardware, 0 on a software adapter */
  splitKTarget?: number;
}

/** A device-resident product: op(A_b) [M,K] x op(B_b) [K,N] for b < batch (or summed over b). */
export interface DeviceGemmArgs {
  M: number; N: number; K: number;
  batch?: number;
  transA?: boolean; transB?: boolean;
  alpha?: number;
  /** elements between consecutive A_b / B_b (0 = the same operand for every b); default M*K, K*N */
  strideA?: number; strideB?: number;
  /** sum over b into one [M, N] instead of [batch, M, N] */
  sumBatch?: boolean;
  /** name for error messages (e.g. 'bmm') */
  name?: string;
}

interface Dispatch {
  M: number; N: number; K: number; nSum: number; zCount: number;
  lda: number; ldb: number; aOff: number; bOff: number; strideA: number; strideB: number; strideC: number;
  alpha: number; beta: number; useBeta: boolean; transA: boolean; transB: boolean;
  /** split-K chunk in slabs (0: no split) */
  kChunk?: number;
  /** where the output starts in its buffer and its row stride (default 0 and N) */
  cOff?: number; ldc?: number;
  /** beta · C is read from the output buffer itself (C updated in place) rather than from Cin */
  betaFromOut?: boolean;
}

export class WgslGemm {
  readonly device: GPUDevice;
  /** bytes one storage binding may span here */
  readonly maxBindingBytes: number;
  /** the largest operand, in float32 elements, this GEMM addresses */
  readonly maxElements: number;
  /** workgroups per dispatch axis; larger grids are split into several dispatches */
  readonly maxWorkgroups: number;
  /** split-K below this many output tiles (0: never) */
  readonly splitKTarget: number;
  /** dispatches recorded so far (a split product counts each) */
  dispatches = 0;
  private readonly recorder: DispatchRecorder;
  /** submit each call's dispatches before it returns (gpu.js's device: its kernels submit at once) */
  private readonly submitEachCall: boolean;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly paramsHost = new ArrayBuffer(PARAM_WORDS * 4);
  private readonly paramsU32 = new Uint32Array(this.paramsHost);
  private readonly paramsF32 = new Float32Array(this.paramsHost);
  private readonly dummy: GPUBuffer;
  /** host path: reusable device buffers, grown on demand */
  private pool: Record<'A' | 'B' | 'C' | 'O' | 'S', GPUBuffer | null> = { A: null, B: null, C: null, O: null, S: null };
  private hostChain: Promise<unknown> = Promise.resolve();
  private scratch = new Float32Array(0);
  private readonly reader: { readBufferResult(h: BufferResult): Promise<Float32Array> };

  private constructor(readonly context: GpuJsContext, private readonly lib: GpuJsWebGpu | null, opts: WgslGemmOptions,
    recorder?: DispatchRecorder) {
    this.device = context.device;
    this.recorder = recorder ?? new DispatchRecorder(this.device);
    this.submitEachCall = !recorder;
    const dev = this.device.limits.maxStorageBufferBindingSize;
    this.maxBindingBytes = Math.min(dev, this.device.limits.maxBufferSize, opts.maxBindingBytes ?? Infinity);
    this.maxElements = Math.min(Math.floor(this.maxBindingBytes / 4), U32_ELEMENTS);
    const info = (context.adapter as { info?: { vendor?: string; architecture?: string; description?: string } }).info ?? {};
    const software = /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
    this.splitKTarget = opts.splitKTarget ?? (software ? 0 : SPLIT_TARGET_HARDWARE);
    this.maxWorkgroups = Math.max(1, Math.min(this.device.limits.maxComputeWorkgroupsPerDimension, opts.maxWorkgroupsPerDimension ?? Infinity));
    this.dummy = this.device.createBuffer({ size: 16, usage: USAGE_STORAGE });
    this.reader = { readBufferResult: (h) => this.readBuffer(h.buffer, h.output.reduce((a, b) => a * b, 1)) };
  }

  /** Binds to gpu.js's WebGPU device (acquiring it if gpu.js has not yet); navigator.gpu must be installed. */
  static async create(opts: WgslGemmOptions = {}): Promise<WgslGemm> {
    const lib = gpuJs();
    const context = await lib.WebGPUContext.acquire();
    return new WgslGemm(context, lib, opts);
  }

  /** On a device of one's own (gpu/device-store/): `gemmInPlace` only, no gpu.js results; dispatches join `recorder`'s batch. */
  static forDevice(adapter: GPUAdapter, device: GPUDevice, recorder: DispatchRecorder, opts: WgslGemmOptions = {}): WgslGemm {
    const context: GpuJsContext = { adapter, device, isLost: false };
    device.lost.then(() => { context.isLost = true; });
    return new WgslGemm(context, null, opts, recorder);
  }

  /**
   * The kernel registry's GEMM (core/backend.ts) on device buffers, recorded in order:
   * C[cOff + i·ldc + j] = alpha · op(A) op(B) + beta · C, C updated in place (not read when beta is 0);
   * batched (conv over images): `batch` products with A, B, C stepped by strideA, strideB, strideC,
   * or, with `sumBatch`, their sum into one C.
   */
  gemmInPlace(g: {
    transA: boolean; transB: boolean; M: number; N: number; K: number; alpha: number;
    A: GPUBuffer; aOff: number; lda: number; B: GPUBuffer; bOff: number; ldb: number;
    beta: number; C: GPUBuffer; cOff: number; ldc: number;
    batch?: number; strideA?: number; strideB?: number; strideC?: number; sumBatch?: boolean;
  }): void {
    const name = 'gemm';
    this.checkShape(name, { M: g.M, N: g.N, K: g.K });
    if (g.M === 0 || g.N === 0) return;
    if (g.C === g.A || g.C === g.B) throw new Error(`gpu ${name}: C is also an input (one buffer may not be both read and written)`);
    for (const [what, b] of [['A', g.A], ['B', g.B], ['C', g.C]] as const) this.checkOperand(name, what, b.size / 4);
    const batch = g.batch ?? 1;
    this.encode({
      M: g.M, N: g.N, K: g.K, nSum: g.sumBatch ? batch : 1, zCount: g.sumBatch ? 1 : batch, lda: g.lda, ldb: g.ldb, aOff: g.aOff, bOff: g.bOff,
      strideA: g.strideA ?? 0, strideB: g.strideB ?? 0, strideC: g.strideC ?? 0,
      alpha: g.alpha, beta: g.beta, useBeta: g.beta !== 0, betaFromOut: g.beta !== 0, transA: g.transA, transB: g.transB, cOff: g.cOff, ldc: g.ldc,
    }, g.A, g.A.size, g.B, g.B.size, null, 0, g.C, g.C.size);
  }

  private pipeline(tile: TileConfig, transA: boolean, transB: boolean): GPUComputePipeline {
    const key = `${tile.TM}x${tile.TN}x${tile.TK}/${tile.WX}x${tile.WY}/${+transA}${+transB}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: gemmShader(tile, transA, transB), label: `wgsl-gemm ${key}` });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `wgsl-gemm ${key}` });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Throws, naming the kernel and the size, when `elements` floats cannot be bound/addressed. */
  checkOperand(kernel: string, what: string, elements: number): void {
    if (!Number.isSafeInteger(elements) || elements < 0) throw new Error(`gpu ${kernel}: ${what} has an invalid size ${elements}`);
    if (elements > this.maxElements) {
      throw new Error(
        `gpu ${kernel}: ${what} of ${elements} elements (${elements * 4} bytes) is more than one storage binding ` +
          `addresses on this device (${this.maxElements} float32 elements; maxStorageBufferBindingSize ` +
          `${this.maxBindingBytes} bytes); refused before running`,
      );
    }
  }

  private checkShape(kernel: string, d: { M: number; N: number; K: number }): void {
    for (const [k, v] of Object.entries(d)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`gpu ${kernel}: ${k} must be a non-negative integer, got ${v}`);
      if (v > U32_ELEMENTS) throw new Error(`gpu ${kernel}: ${k} = ${v} is past u32 indexing; refused before running`);
    }
  }

  /**
   * Records the product into `out` (submitting it on gpu.js's device): split along K (then reduced)
   * when the output is too small to occupy the device, else directly; one dispatch per chunk of workgroups.
   */
  private encode(d: Dispatch, A: GPUBuffer, aBytes: number, B: GPUBuffer, bBytes: number, C: GPUBuffer | null, cBytes: number, out: GPUBuffer, outBytes: number): void {
    if (this.context.isLost) throw new Error('gpu wgsl-gemm: the WebGPU device was lost; recreate the backend');
    const tile = d.M <= TILE_TINY.TM ? TILE_TINY : d.M <= TILE_SHORT.TM ? TILE_SHORT : TILE_LARGE;
    const tiles = Math.ceil(d.N / tile.TN) * Math.ceil(d.M / tile.TM);
    const slabs = Math.ceil(d.K / tile.TK);
    const n = d.M * d.N;
    // partial products for an output too small to occupy the device: along the summed batch (in
    // chunks of `per` entries, a divisor of nSum, so every chunk is whole), else along K
    const want = d.zCount === 1 && tiles < this.splitKTarget ? Math.min(Math.ceil(this.splitKTarget / tiles), Math.floor(this.maxElements / n)) : 1;
    let per = d.nSum;
    if (want > 1 && d.nSum > 1) for (per = Math.ceil(d.nSum / Math.min(want, d.nSum)); d.nSum % per; per++);
    const splits = want > 1 && d.nSum === 1 ? Math.min(want, Math.floor(slabs / SPLIT_MIN_SLABS)) : 1;
    if (per < d.nSum) this.encodeSplit(tile, { ...d, nSum: per, zCount: d.nSum / per }, d, A, aBytes, B, bBytes, C, cBytes, out, outBytes);
    else if (splits > 1) {
      const kChunk = Math.ceil(slabs / splits);
      this.encodeSplit(tile, { ...d, zCount: Math.ceil(slabs / kChunk), kChunk, strideA: 0, strideB: 0 }, d, A, aBytes, B, bBytes, C, cBytes, out, outBytes);
    } else this.dispatchGemm(tile, d, A, aBytes, B, bBytes, C, cBytes, out, outBytes);
    if (this.submitEachCall) this.recorder.flush();
  }

  /**
   * The product `d` as the partial products `split` (zCount of them, along K by kChunk or along the
   * summed batch by nSum) into a scratch buffer, then their sum in a fixed order into `out`.
   */
  private encodeSplit(tile: TileConfig, split: Dispatch, d: Dispatch, A: GPUBuffer, aBytes: number, B: GPUBuffer, bBytes: number,
    C: GPUBuffer | null, cBytes: number, out: GPUBuffer, outBytes: number): void {
    const n = d.M * d.N, parts = split.zCount;
    const partBytes = parts * n * 4;
    const part = this.device.createBuffer({ size: partBytes, usage: USAGE_STORAGE });
    this.dispatchGemm(tile, {
      ...split, strideC: n, alpha: 1, beta: 0, useBeta: false, betaFromOut: false, cOff: 0, ldc: d.N,
    }, A, aBytes, B, bBytes, null, 0, part, partBytes);
    this.dispatchReduce(part, parts, n, d, C, cBytes, out, outBytes);
    this.recorder.destroyAfter(part);
  }

  private dispatchReduce(part: GPUBuffer, parts: number, n: number, d: Dispatch, C: GPUBuffer | null, cBytes: number, out: GPUBuffer, outBytes: number): void {
    let pipe = this.pipelines.get('reduce');
    if (!pipe) {
      const module = this.device.createShaderModule({ code: splitKReduceShader(), label: 'wgsl-gemm split-K reduce' });
      pipe = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'wgsl-gemm split-K reduce' });
      this.pipelines.set('reduce', pipe);
    }
    const host = new ArrayBuffer(REDUCE_WORDS * 4);
    const u = new Uint32Array(host), f = new Float32Array(host);
    u[0] = n; u[1] = parts; u[2] = !d.useBeta ? 0 : d.betaFromOut ? 2 : 1; u[3] = d.N;
    f[4] = d.alpha; f[5] = d.beta; u[6] = d.cOff ?? 0; u[7] = d.ldc ?? d.N;
    const groups = Math.ceil(n / 256);
    const gx = Math.min(groups, this.maxWorkgroups);
    const gy = Math.ceil(groups / gx);
    if (gy > this.maxWorkgroups) throw new Error(`gpu wgsl-gemm: split-K reduction of ${n} elements needs ${gy} x ${gx} workgroups`);
    this.recorder.dispatch(pipe, f, [
      { buffer: part, offset: 0, size: parts * n * 4 },
      C ? { buffer: C, offset: 0, size: Math.max(4, cBytes) } : { buffer: this.dummy },
      { buffer: out, offset: 0, size: Math.max(4, outBytes) },
    ], [gx, gy, 1]);
    this.dispatches++;
  }

  private dispatchGemm(tile: TileConfig, d: Dispatch, A: GPUBuffer, aBytes: number, B: GPUBuffer, bBytes: number, C: GPUBuffer | null, cBytes: number, out: GPUBuffer, outBytes: number): void {
    const pipe = this.pipeline(tile, d.transA, d.transB);
    const u = this.paramsU32, f = this.paramsF32;
    u.fill(0);
    u[PARAM.M] = d.M; u[PARAM.N] = d.N; u[PARAM.K] = d.K; u[PARAM.nSum] = d.nSum;
    u[PARAM.lda] = d.lda; u[PARAM.ldb] = d.ldb; u[PARAM.aOff] = d.aOff; u[PARAM.bOff] = d.bOff;
    u[PARAM.strideA] = d.strideA; u[PARAM.strideB] = d.strideB; u[PARAM.strideC] = d.strideC;
    u[PARAM.useBeta] = !d.useBeta ? 0 : d.betaFromOut ? 2 : 1;
    u[PARAM.kChunk] = d.kChunk ?? 0;
    u[PARAM.cOff] = d.cOff ?? 0;
    u[PARAM.ldc] = d.ldc ?? d.N;
    f[PARAM.alpha] = d.alpha; f[PARAM.beta] = d.beta;
    const gx = Math.ceil(d.N / tile.TN), gy = Math.ceil(d.M / tile.TM), gz = d.zCount;
    const lim = this.maxWorkgroups;
    const binding = (buffer: GPUBuffer, bytes: number) => ({ buffer, offset: 0, size: Math.max(4, bytes) });
    for (let z0 = 0; z0 < gz; z0 += lim) {
      for (let y0 = 0; y0 < gy; y0 += lim) {
        for (let x0 = 0; x0 < gx; x0 += lim) {
          u[PARAM.gx] = x0; u[PARAM.gy] = y0; u[PARAM.gz] = z0;
          this.recorder.dispatch(pipe, this.paramsU32, [binding(A, aBytes), binding(B, bBytes), C ? binding(C, cBytes) : { buffer: this.dummy },
            binding(out, outBytes)], [Math.min(lim, gx - x0), Math.min(lim, gy - y0), Math.min(lim, gz - z0)]);
          this.dispatches++;
        }
      }
    }
  }

  private grow(key: 'A' | 'B' | 'C' | 'O' | 'S', bytes: number, usage: number): GPUBuffer {
    const have = this.pool[key];
    if (have && have.size >= bytes) return have;
    have?.destroy();
    const size = Math.max(16, Math.ceil(Math.min(Math.max(bytes, 2 * (have?.size ?? 0)), Math.max(bytes, this.maxBindingBytes)) / 4) * 4);
    const b = this.device.createBuffer({ size, usage });
    this.pool[key] = b;
    return b;
  }

  /**
   * queue.writeBuffer of the first n elements of `src`. dawn.node crashes the process (SIGSEGV) when
   * handed a view of a SharedArrayBuffer, which is where the sync bridge keeps its operands, so such
   * views are copied through a reusable ordinary buffer first.
   */
  private write(dst: GPUBuffer, src: Float32Array<ArrayBufferLike>, n: number): void {
    let data = src.subarray(0, n);
    if (!(data.buffer instanceof ArrayBuffer)) {
      if (this.scratch.length < n) this.scratch = new Float32Array(Math.max(n, 2 * this.scratch.length));
      this.scratch.set(data);
      data = this.scratch.subarray(0, n);
    }
    this.device.queue.writeBuffer(dst, 0, data as Float32Array<ArrayBuffer>);
  }

  private async readBuffer(buffer: GPUBuffer, n: number): Promise<Float32Array> {
    const bytes = n * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, bytes), usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(MAP_READ, 0, bytes);
      return new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    } finally {
      staging.destroy();
    }
  }

  /**
   * Host arrays: out = alpha * op(A) op(B) + beta * Cin, compact [M, N] (host-gemm.ts's CompactGemm:
   * operands at offset 0 with leading dimensions lda, ldb; Cin read only when beta != 0). Resolves
   * to the compact result.
   */
  gemm(job: CompactGemm): Promise<Float32Array> {
    // one host product at a time: the pooled buffers and the mapped staging buffer are shared
    const run = this.hostChain.then(() => this.gemmNow(job));
    this.hostChain = run.catch(() => undefined);
    return run;
  }

  private async gemmNow(job: CompactGemm): Promise<Float32Array> {
    const name = 'wgsl-gemm';
    const { M, N, K } = job;
    this.checkShape(name, { M, N, K });
    if (M === 0 || N === 0) return new Float32Array(0);
    this.checkOperand(name, 'A', job.A.length);
    this.checkOperand(name, 'B', job.B.length);
    this.checkOperand(name, 'output', M * N);
    const useBeta = job.beta !== 0;
    if (useBeta && job.Cin.length < M * N) throw new Error(`gpu ${name}: Cin has ${job.Cin.length} elements, needs ${M * N}`);
    const q = this.device.queue;
    const aBytes = Math.max(4, job.A.byteLength), bBytes = Math.max(4, job.B.byteLength), oBytes = M * N * 4;
    const A = this.grow('A', aBytes, USAGE_STORAGE | USAGE_COPY_DST);
    const B = this.grow('B', bBytes, USAGE_STORAGE | USAGE_COPY_DST);
    const O = this.grow('O', oBytes, USAGE_STORAGE | USAGE_COPY_SRC);
    if (job.A.length) this.write(A, job.A, job.A.length);
    if (job.B.length) this.write(B, job.B, job.B.length);
    let C: GPUBuffer | null = null;
    if (useBeta) {
      C = this.grow('C', oBytes, USAGE_STORAGE | USAGE_COPY_DST);
      this.write(C, job.Cin, M * N);
    }
    this.encode({
      M, N, K, nSum: 1, zCount: 1, lda: job.lda, ldb: job.ldb, aOff: 0, bOff: 0, strideA: 0, strideB: 0, strideC: 0,
      alpha: job.alpha, beta: job.beta, useBeta, transA: job.transA === 1, transB: job.transB === 1,
    }, A, aBytes, B, bBytes, C, oBytes, O, oBytes);
    const S = this.grow('S', oBytes, USAGE_MAP_READ | USAGE_COPY_DST);
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(O, 0, S, 0, oBytes);
    q.submit([enc.finish()]);
    await S.mapAsync(MAP_READ, 0, oBytes);
    const out = new Float32Array(S.getMappedRange(0, oBytes).slice(0));
    S.unmap();
    return out;
  }

  /** A fresh output buffer wrapped as gpu.js's pipeline result (readable, bindable by gpu.js kernels). */
  private result(n: number): BufferResult {
    const buffer = this.device.createBuffer({ size: Math.max(4, n * 4), usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    if (!this.lib) throw new Error('gpu wgsl-gemm: device-resident results need gpu.js (WgslGemm.create)');
    return new this.lib.WebGPUBufferResult({ buffer, output: [n], context: this.context, kernel: this.reader });
  }

  /**
   * Device-resident batched product, submitted now (no readback): [batch] op(A_b) x op(B_b) * alpha
   * -> [batch, M, N], or summed over b -> [M, N]. A and B are gpu.js pipeline results (or this
   * module's) on this device; A holds at least (batch-1)*strideA + M*K elements, B likewise.
   */
  bmm(A: BufferResult, B: BufferResult, a: DeviceGemmArgs): BufferResult {
    const name = a.name ?? 'wgsl-bmm';
    const { M, N, K } = a;
    const batch = a.batch ?? 1;
    this.checkShape(name, { M, N, K });
    if (!Number.isInteger(batch) || batch <= 0) throw new Error(`gpu ${name}: batch must be a positive integer, got ${batch}`);
    if (M === 0 || N === 0) throw new Error(`gpu ${name}: empty output (${M} x ${N})`);
    for (const [what, h] of [['A', A], ['B', B]] as const) {
      if (!h || !h.buffer || h.context !== this.context) throw new Error(`gpu ${name}: ${what} is not a buffer on this WebGPU device`);
      if (h._deleted) throw new Error(`gpu ${name}: ${what} has been deleted`);
    }
    const sA = a.strideA ?? M * K, sB = a.strideB ?? K * N;
    const needA = (batch - 1) * sA + M * K, needB = (batch - 1) * sB + K * N;
    const lenA = A.output.reduce((x, y) => x * y, 1), lenB = B.output.reduce((x, y) => x * y, 1);
    this.checkOperand(name, 'A', Math.max(needA, lenA));
    this.checkOperand(name, 'B', Math.max(needB, lenB));
    if (lenA < needA) throw new Error(`gpu ${name}: A needs ${needA} elements, got ${lenA}`);
    if (lenB < needB) throw new Error(`gpu ${name}: B needs ${needB} elements, got ${lenB}`);
    const n = a.sumBatch ? M * N : batch * M * N;
    this.checkOperand(name, 'output', n);
    const out = this.result(n);
    this.encode({
      M, N, K, nSum: a.sumBatch ? batch : 1, zCount: a.sumBatch ? 1 : batch,
      lda: a.transA ? M : K, ldb: a.transB ? K : N, aOff: 0, bOff: 0, strideA: sA, strideB: sB, strideC: M * N,
      alpha: a.alpha ?? 1, beta: 0, useBeta: false, transA: !!a.transA, transB: !!a.transB,
    }, A.buffer, lenA * 4, B.buffer, lenB * 4, null, 0, out.buffer, n * 4);
    return out;
  }

  destroy(): void {
    for (const k of Object.keys(this.pool) as (keyof typeof this.pool)[]) {
      this.pool[k]?.destroy();
      this.pool[k] = null;
    }
    this.dummy.destroy();
    if (this.submitEachCall) this.recorder.destroy();
    this.pipelines.clear();
  }
}
