/**
 * The wasm backend's linear memory: one shared WebAssembly.Memory per run, on which the main thread
 * and each helper thread of core/thread-pool.ts instantiate the kernels. A tensor allocated here is
 * read and written in place by every thread's kernels: no copy in or out.
 *
 *   bytes [0, 64)   control: the bump pointer `top` (an Int32 at byte 0, moved with Atomics, so any
 *                   thread may take scratch)
 *   bytes [64, ...) blocks, 64-byte aligned: tensor storage (main thread: `allocFloats`, given back
 *                   with `release` to a free list of its size) and per-thread scratch (`takeBlock`,
 *                   kept by its thread for the run)
 *
 * The kernels compute byte addresses in 32-bit signed integers, so the memory stops at MAX_BYTES.
 * Tensors stop at TENSOR_BYTES, leaving the rest to scratch; past it `allocFloats` returns null and
 * the caller allocates ordinary memory (whose operands the kernels then copy in).
 */
import { workerData } from 'node:worker_threads';

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
export interface WasmMemory { readonly buffer: ArrayBufferLike; grow(pages: number): number }
interface WasmMemoryApi { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory }
const WA = (globalThis as unknown as { WebAssembly: WasmMemoryApi }).WebAssembly;

const PAGE = 65536;
/** Linear memory a kernel may address (as core/wasm/asconfig.json's maximumMemory, in bytes). */
export const MAX_BYTES = 32767 * PAGE;
/** Tensor storage may fill the memory up to here. */
const TENSOR_BYTES = 1.5 * 2 ** 30;
const CONTROL_BYTES = 64;

export const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** workerData key under which core/thread-pool.ts hands its helpers the main thread's memory. */
export const MEMORY_KEY = 'wasmMemory';

let memory: WasmMemory | null = null;

/** This thread's memory: the one its parent handed over, or a new one. */
export function threadMemory(): WasmMemory {
  if (memory) return memory;
  const inherited = (workerData as Record<string, unknown> | null)?.[MEMORY_KEY] as WasmMemory | undefined;
  memory = inherited ?? new WA.Memory({ initial: 1, maximum: MAX_BYTES / PAGE, shared: true });
  return memory;
}

/** The buffers this thread has seen of its memory (a new one after each growth). */
const ours = new WeakSet<ArrayBufferLike>();
let view = new Float32Array(0);

/** The whole memory as floats (refreshed after growth). */
export function memoryF32(): Float32Array {
  const buffer = threadMemory().buffer;
  if (view.buffer !== buffer) {
    view = new Float32Array(buffer as ArrayBuffer);
    ours.add(buffer);
  }
  return view;
}

/** Byte address of `a`'s first element if it lives in this thread's memory, else -1. */
export function addressOf(a: ArrayBufferView): number {
  return ours.has(a.buffer) ? a.byteOffset : -1;
}

/** `bytes` of memory from the top, for any thread; grows the memory as needed. Throws past MAX_BYTES. */
export function takeBlock(bytes: number, what: string): number {
  const mem = threadMemory();
  const control = new Int32Array(mem.buffer as ArrayBuffer, 0, 1);
  Atomics.compareExchange(control, 0, 0, CONTROL_BYTES);
  const size = align(bytes);
  const at = Atomics.add(control, 0, size);
  if (at + size > MAX_BYTES) {
    Atomics.sub(control, 0, size);
    throw new Error(`wasm ${what}: needs ${Math.ceil((at + size) / 2 ** 20)} MiB of linear memory, more than the ` +
      `${MAX_BYTES / 2 ** 30} GiB the wasm backend addresses: use --backend cpu, or a smaller batch`);
  }
  while (mem.buffer.byteLength < at + size) mem.grow(Math.ceil((at + size - mem.buffer.byteLength) / PAGE));
  return at;
}

/** Tensor blocks given back, by byte size (main thread only). */
const free = new Map<number, number[]>();

/** Float32 storage of n values in the memory (contents undefined), or null when tensors are full. */
export function allocFloats(n: number): Float32Array | null {
  const bytes = align(n * 4);
  let at = free.get(bytes)?.pop();
  if (at === undefined) {
    const control = new Int32Array(threadMemory().buffer as ArrayBuffer, 0, 1);
    if (Math.max(Atomics.load(control, 0), CONTROL_BYTES) + bytes > TENSOR_BYTES) return null;
    at = takeBlock(bytes, 'tensor storage');
  }
  return new Float32Array(memoryF32().buffer as ArrayBuffer, at, n);
}

/** Gives back storage from `allocFloats`; false (and nothing done) for any other array. */
export function release(a: ArrayBufferView): boolean {
  const at = addressOf(a);
  if (at < 0) return false;
  const bytes = align(a.byteLength);
  const list = free.get(bytes);
  if (list) list.push(at);
  else free.set(bytes, [at]);
  return true;
}

/** A job argument for a helper thread: a view of this memory travels as its address. */
export interface ResidentView { residentF32: [at: number, length: number] }

export function toHelper(arg: unknown): unknown {
  if (arg instanceof Float32Array && addressOf(arg) >= 0) return { residentF32: [arg.byteOffset, arg.length] } satisfies ResidentView;
  return arg;
}

export function fromParent(arg: unknown): unknown {
  const r = (arg as ResidentView | null)?.residentF32;
  return r ? new Float32Array(memoryF32().buffer as ArrayBuffer, r[0], r[1]) : arg;
}
