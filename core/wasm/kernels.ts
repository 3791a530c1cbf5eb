/**
 * Loads the wasm backend's kernels (core/wasm/kernels.wasm, built from core/wasm/assembly/ by
 * `npm run build:wasm`) and gives them the plain-TypeScript kernels' signatures.
 *
 * Each thread holds its own instance and linear memory. A call copies its operands into that
 * memory (a memcpy per operand; 1.5-3.5 % of a GEMM's time, DESIGN.md), runs the SIMD kernel and
 * copies the result back. The memory only grows, so after the first calls every byte a kernel
 * touches is warm (first-touch memory is 6-90x slower to write here).
 *
 * Node 20 compiles relaxed-SIMD instructions only behind a V8 flag, which is set before compiling.
 * Where the module cannot load, `loadWasmKernels` says why, and the caller stays on the cpu backend.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { gemm as tsGemm, type Float } from '../gemm.ts';

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The module's exports (core/wasm/assembly/index.ts); every pointer is a byte address. */
export interface WasmExports {
  memory: WasmMemory;
  gemm(transA: number, transB: number, M: number, N: number, K: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, pack: number): void;
  gemmScratchBytes(): number;
  gemmPackedABytes(M: number, K: number): number;
  convForward(x: number, w: number, b: number, hasBias: number, count: number,
    C: number, H: number, W: number, O: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    Ho: number, Wo: number, y: number, cols: number, pack: number, packedW: number): void;
  convBackpropFilter(x: number, dy: number, N: number,
    C: number, H: number, W: number, O: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    Ho: number, Wo: number, r0: number, r1: number, dw: number, cols: number, pack: number): void;
  convBackpropInput(w: number, dy: number, count: number,
    C: number, H: number, W: number, O: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number,
    Ho: number, Wo: number, dx: number, cols: number, pack: number, packedW: number): void;
  relu(x: number, y: number, n: number): void;
  reluBackward(x: number, dy: number, dx: number, n: number): void;
  add(a: number, b: number, y: number, n: number): void;
  addInto(y: number, x: number, n: number): void;
  batchNormStatistics(x: number, N: number, C: number, S: number, c0: number, c1: number, mean: number, variance: number): void;
  batchNormNormalize(x: number, N: number, C: number, S: number, c0: number, c1: number, scale: number, shift: number, y: number): void;
  batchNormBackward(x: number, dy: number, N: number, C: number, S: number, c0: number, c1: number,
    mean: number, invStd: number, scale: number, training: number, dx: number, sums: number): void;
  maxPool2d(x: number, q0: number, q1: number, H: number, W: number, kh: number, kw: number, sh: number, sw: number,
    ph: number, pw: number, Ho: number, Wo: number, y: number, argmax: number): void;
}

const WASM_FILE = new URL('./kernels.wasm', import.meta.url);

let instance: WasmExports | null = null;
let failure: string | null = null;

/** Instantiates the module once per thread; returns null with `wasmFailure()` set if it cannot. */
export function loadWasmKernels(): WasmExports | null {
  if (instance || failure) return instance;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    const module = new WA.Module(readFileSync(WASM_FILE));
    instance = new WA.Instance(module, { env: { abort: () => { throw new Error('wasm kernel aborted'); } } }).exports as unknown as WasmExports;
    arena = new Arena(instance);
  } catch (e) {
    failure = `${WASM_FILE.pathname}: ${(e as Error).message}`;
    instance = null;
  }
  return instance;
}

export function wasmFailure(): string | null {
  return failure;
}

const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Linear memory a call may use: byte addresses must stay below 2^31 (i32 arithmetic in the kernels). */
export const MAX_BYTES = 2 ** 31 - 65536;

/**
 * Linear memory past the module's own data, handed out per kernel call from the start again
 * (`reset`): the GEMM pack scratch first, then the call's operands. It grows, never shrinks.
 */
export class Arena {
  private readonly base: number;
  private top: number;
  private view = new Float32Array(0);
  /** The kernel of the current call, for errors. */
  private kernel = '';

  constructor(private readonly w: WasmExports) {
    this.base = align(w.memory.buffer.byteLength);
    this.top = this.base;
  }

  /** Starts a call of `kernel`: returns the pack scratch's address. */
  reset(kernel: string): number {
    this.kernel = kernel;
    this.top = this.base;
    return this.take(this.w.gemmScratchBytes() / 4);
  }

  /** Address of `floats` uninitialised floats. */
  take(floats: number): number {
    const at = this.top;
    this.top = align(at + floats * 4);
    // the kernels compute byte addresses in 32-bit signed integers
    if (this.top > MAX_BYTES) {
      throw new Error(`wasm ${this.kernel}: its operands need ${Math.ceil(this.top / 2 ** 20)} MiB of linear memory, more than the ` +
        `${MAX_BYTES / 2 ** 30} GiB the wasm backend addresses: use --backend cpu, or a smaller batch`);
    }
    const have = this.w.memory.buffer.byteLength;
    if (this.top > have) this.w.memory.grow(Math.ceil((this.top - have) / 65536));
    return at;
  }

  /** Address of a copy of src[off, off + len). */
  put(src: Float32Array, off: number, len: number): number {
    const at = this.take(len);
    this.f32().set(src.subarray(off, off + len), at >> 2);
    return at;
  }

  /** The memory as floats (a fresh view after the memory grew). */
  f32(): Float32Array {
    if (this.view.buffer !== this.w.memory.buffer) this.view = new Float32Array(this.w.memory.buffer);
    return this.view;
  }

  /** Copies rows x cols floats at `at` (leading dimension ld) to dst[off...] with the same layout. */
  get(at: number, rows: number, cols: number, ld: number, dst: Float32Array, off: number): void {
    const mem = this.f32();
    const src = at >> 2;
    if (ld === cols || rows <= 1) dst.set(mem.subarray(src, src + span(rows, cols, ld)), off);
    else for (let i = 0; i < rows; i++) dst.set(mem.subarray(src + i * ld, src + i * ld + cols), off + i * ld);
  }
}

let arena: Arena | null = null;

/** This thread's instance and arena, reset for a new call; null where the module does not load. */
export function wasmCall(kernel: string): { w: WasmExports; arena: Arena; pack: number } | null {
  const w = loadWasmKernels();
  if (!w || !arena) return null;
  return { w, arena, pack: arena.reset(kernel) };
}

/** Elements spanned by a rows x cols block with leading dimension ld. */
export function span(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

export function allF32(...arrays: (Float | null)[]): boolean {
  return arrays.every((a) => a === null || a instanceof Float32Array);
}

/** Same contract as core/gemm.ts's gemm; float64 operands run the TypeScript kernel. */
export function wasmGemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float, aOff: number, lda: number, B: Float, bOff: number, ldb: number,
  beta: number, C: Float, cOff: number, ldc: number,
): void {
  const call = allF32(A, B, C) ? wasmCall('gemm') : null;
  if (!call) return tsGemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
  const { w, arena, pack } = call;
  const a = arena.put(A as Float32Array, aOff, transA ? span(K, M, lda) : span(M, K, lda));
  const b = arena.put(B as Float32Array, bOff, transB ? span(N, K, ldb) : span(K, N, ldb));
  const cLen = span(M, N, ldc);
  const c = beta !== 0 ? arena.put(C as Float32Array, cOff, cLen) : arena.take(cLen);
  w.gemm(+transA, +transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, pack);
  arena.get(c, M, N, ldc, C as Float32Array, cOff);
}
