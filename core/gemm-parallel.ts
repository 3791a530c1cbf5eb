/**
 * GEMM over several cores: the caller's thread and `threads − 1` worker threads each compute a slice
 * of C's columns (or rows, when C is narrow) with the single-thread kernel of ./gemm.ts, on operands
 * that live in SharedArrayBuffers (core/tensor.ts allocates large tensors there). The call stays
 * synchronous: jobs go to the workers through a MessagePort read synchronously, and completion comes
 * back through Atomics. Every element of C is summed in the same order as on one thread, so results
 * are bit-identical to `gemm` whatever the number of threads.
 *
 * Small products, operands outside shared memory, and MLA_THREADS=1 run on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { gemm, type Float } from './gemm.ts';

/** Below this many multiply-adds the thread hand-off costs more than it saves. */
const MIN_WORK = 1 << 19;

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** [0]: job posted (1) / taken (0); [1]: done (1) / busy (0). */
  ctrl: Int32Array;
}

let helpers: Helper[] | null = null;

function configuredThreads(): number {
  const env = Number(process.env.MLA_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

const tsxApi = new URL('../node_modules/tsx/dist/esm/api/index.mjs', import.meta.url);
const workerUrl = new URL('./gemm-worker.ts', import.meta.url);
const bootstrap = `import(${JSON.stringify(tsxApi.href)}).then((m) => m.tsImport(${JSON.stringify(workerUrl.href)}, ${JSON.stringify(workerUrl.href)}))`;

function startHelpers(): Helper[] {
  const n = configuredThreads() - 1;
  if (n <= 0 || !existsSync(fileURLToPath(tsxApi))) return [];
  return Array.from({ length: n }, () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(bootstrap, { eval: true, workerData: { ctrl, port: port2 }, transferList: [port2] });
    worker.unref();
    return { worker, port: port1, ctrl };
  });
}

function isShared(a: Float): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

export type GemmArgs = Parameters<typeof gemm>;

/** Same contract as core/gemm.ts's gemm. */
export function gemmParallel(...args: GemmArgs): void {
  const [transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc] = args;
  if (M * N * K < MIN_WORK || !isShared(A) || !isShared(B) || !isShared(C)) return gemm(...args);
  helpers ??= startHelpers();
  const parts = helpers.length + 1;
  if (parts === 1) return gemm(...args);
  // Split C's columns in multiples of 8 (the kernel's panel width); narrow C: split its rows.
  const byCols = N >= 8 * parts || N >= M;
  const extent = byCols ? N : M;
  const step = Math.ceil(extent / parts / 8) * 8;
  const jobs: GemmArgs[] = [];
  for (let p = 0; p < parts; p++) {
    const lo = p * step;
    const hi = Math.min(extent, lo + step);
    if (lo >= hi) break;
    if (byCols) {
      jobs.push([transA, transB, M, hi - lo, K, alpha, A, aOff, lda, B, bOff + (transB ? lo * ldb : lo), ldb, beta, C, cOff + lo, ldc]);
    } else {
      jobs.push([transA, transB, hi - lo, N, K, alpha, A, aOff + (transA ? lo : lo * lda), lda, B, bOff, ldb, beta, C, cOff + lo * ldc, ldc]);
    }
  }
  const posted = helpers.slice(0, jobs.length - 1);
  posted.forEach((h, i) => {
    Atomics.store(h.ctrl, 1, 0);
    h.port.postMessage(jobs[i + 1]);
    Atomics.store(h.ctrl, 0, 1);
    Atomics.notify(h.ctrl, 0);
  });
  gemm(...jobs[0]);
  for (const h of posted) {
    while (Atomics.load(h.ctrl, 1) === 0) Atomics.wait(h.ctrl, 1, 0, 1000);
    const err = receiveMessageOnPort(h.port);
    if (err) throw new Error(`gemm worker failed: ${String(err.message)}`);
  }
}

/** For tests: whether worker threads are in use. */
export function gemmThreads(): number {
  return (helpers?.length ?? 0) + 1;
}

