/**
 * Loads the wasm backend's kernels (core/wasm/kernels.wasm, built from core/wasm/assembly/ by
 * `npm run build:wasm`) and gives them the plain-TypeScript kernels' signatures.
 *
 * Each thread instantiates the module on the run's one shared linear memory (./memory.ts). An
 * operand that lives there (tensor storage of the wasm backend) is passed by address; any other is
 * copied into this thread's scratch for the call (a memcpy; 1.5-3.5 % of a large GEMM's time, more
 * for the memory-bound kernels), and a result that does not live there is copied back out.
 *
 * Node 20 compiles relaxed-SIMD instructions only behind a V8 flag, which is set before compiling.
 * Where the module cannot load, `loadWasmKernels` says why, and the caller stays on the cpu backend.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { gemm as tsGemm, type Float } from '../gemm.ts';
import { addressOf, align, memoryF32, takeBlock, threadMemory, type WasmMemory } from './memory.ts';

export { MAX_BYTES } from './memory.ts';

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The module's exports (core/wasm/assembly/index.ts); every pointer is a byte address. */
export interface WasmExports {
  memory: WasmMemory;
  EDGE_SCRATCH_BYTES: { value: number };
  setEdgeScratch(at: number): void;
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
  softmax(x: number, y: number, rows: number, n: number): void;
  softmaxBackward(y: number, dy: number, dx: number, rows: number, n: number): void;
  /** op 0 sigmoid, 1 addScalar, 2 mulScalar (core/kernels/unary.ts). */
  unary(op: number, s: number, x: number, y: number, n: number): void;
  unaryBackward(op: number, s: number, y: number, dy: number, dx: number, n: number): void;
  /** op 0 add, 1 sub, 2 mul, 3 div over the loop nest at dims, sa, sb (rank i32 each; core/kernels/broadcast.ts). */
  broadcastBinary(op: number, rank: number, dims: number, sa: number, sb: number, idx: number, a: number, b: number, y: number): void;
  broadcastBinaryBackward(op: number, side: number, rank: number, dims: number, sa: number, sb: number, idx: number,
    dy: number, a: number, b: number, dx: number): void;
  /** e^t of n float64 values (the softmax kernels' exponential, for the spec). */
  expF64(t: number, out: number, n: number): void;
  /** 96 FLOP of register-only multiply-adds per iteration: the micro-kernel's ceiling (assembly/peak.ts). */
  multiplyAddPeak(iterations: number): number;
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
    instance = new WA.Instance(module, { env: { memory: threadMemory() } }).exports as unknown as WasmExports;
    instance.setEdgeScratch(takeBlock(instance.EDGE_SCRATCH_BYTES.value, 'gemm'));
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

/**
 * This thread's scratch for one kernel call, handed out from the start again for each call
 * (`reset`): the GEMM pack scratch first, then copies of operands that do not live in the memory,
 * im2col columns, packed panels. When a call needs more, a block twice as large (at least) is
 * taken for it and the following calls; the old one is left unused.
 */
export class Arena {
  private start = 0;
  private end = 0;
  private top = 0;
  /** The kernel of the current call, for errors. */
  private kernel = '';

  constructor(private readonly w: WasmExports) {}

  /** Starts a call of `kernel`: returns the pack scratch's address. */
  reset(kernel: string): number {
    this.kernel = kernel;
    this.top = this.start;
    return this.take(this.w.gemmScratchBytes() / 4);
  }

  /** Address of `floats` uninitialised floats. */
  take(floats: number): number {
    const bytes = align(floats * 4);
    if (this.top + bytes > this.end) {
      const size = Math.max(2 * (this.end - this.start), this.top - this.start + bytes, 1 << 20);
      this.start = this.top = takeBlock(size, this.kernel);
      this.end = this.start + size;
    }
    const at = this.top;
    this.top += bytes;
    return at;
  }

  /** Address of src[off, off + len): where it lives, or a copy. */
  put(src: Float32Array, off: number, len: number): number {
    const own = addressOf(src);
    if (own >= 0) return own + off * 4;
    const at = this.take(len);
    memoryF32().set(src.subarray(off, off + len), at >> 2);
    return at;
  }

  /** Address for a result destined for dst[off, off + len): where it lives, or scratch (then `get` it). */
  out(dst: Float32Array, off: number, len: number): number {
    const own = addressOf(dst);
    return own >= 0 ? own + off * 4 : this.take(len);
  }

  /** Copies rows x cols floats at `at` (leading dimension ld) to dst[off...] unless they are already there. */
  get(at: number, rows: number, cols: number, ld: number, dst: Float32Array, off: number): void {
    const own = addressOf(dst);
    if (own >= 0 && own + off * 4 === at) return;
    const mem = memoryF32();
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
  const c = beta !== 0 ? arena.put(C as Float32Array, cOff, cLen) : arena.out(C as Float32Array, cOff, cLen);
  w.gemm(+transA, +transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc, pack);
  arena.get(c, M, N, ldc, C as Float32Array, cOff);
}
