/**
 * Helper threads for synchronous kernels. `runJobs` runs its first job on the calling thread and
 * each other one on a helper thread (worker_threads started once, `MLA_THREADS` or the machine's
 * parallelism in all), and returns when every job is done. Jobs are named entries of
 * core/thread-jobs.ts; their array arguments must live in SharedArrayBuffers where the job writes
 * (core/tensor.ts allocates large tensors there). The call stays synchronous: a job goes to its
 * helper through a MessagePort read synchronously, completion comes back through Atomics.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startTsWorker, tsWorkersAvailable } from './ts-worker.ts';
import { JOBS, type JobName } from './thread-jobs.ts';
import { MEMORY_KEY, threadMemory, toHelper } from './wasm/memory.ts';
import { waitWhile } from './wait-while.ts';

export interface Job {
  name: JobName;
  args: unknown[];
}

interface Helper {
  worker: Worker;
  port: MessagePort;
  /** [0]: job posted (1) / taken (0); [1]: done (1) / busy (0). */
  ctrl: Int32Array;
}

let helpers: Helper[] | null = null;

export function configuredThreads(): number {
  const env = Number(process.env.MLA_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}

const workerUrl = new URL('./thread-worker.ts', import.meta.url);

function startHelpers(): Helper[] {
  const n = configuredThreads() - 1;
  if (n <= 0 || !tsWorkersAvailable()) return [];
  return Array.from({ length: n }, () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const worker = startTsWorker(workerUrl, { workerData: { ctrl, port: port2, [MEMORY_KEY]: threadMemory() }, transferList: [port2] });
    worker.unref();
    return { worker, port: port1, ctrl };
  });
}

let limit = Infinity;

/** Caps the threads kernels use from now on (benchmarks compare 1 and 2 threads in one run). */
export function limitThreads(n: number): void {
  limit = Math.max(1, n);
}

/** Threads a job list may use: this one and the helpers (started on first call), at most the limit. */
export function threadsAvailable(): number {
  helpers ??= startHelpers();
  return Math.min(helpers.length + 1, limit);
}

/** For tests: whether helper threads have been started and how many threads there are. */
export function threadsStarted(): number {
  return (helpers?.length ?? 0) + 1;
}

export function isShared(a: { buffer: ArrayBufferLike }): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** Runs jobs[0] here and the others on helper threads; at most threadsAvailable() jobs. */
export function runJobs(jobs: Job[]): void {
  if (jobs.length === 1) return (JOBS[jobs[0].name] as (...a: unknown[]) => void)(...jobs[0].args);
  const all = helpers ?? (helpers = startHelpers());
  if (jobs.length > all.length + 1) throw new Error(`runJobs: ${jobs.length} jobs for ${all.length + 1} threads`);
  const posted = all.slice(0, jobs.length - 1);
  posted.forEach((h, i) => {
    Atomics.store(h.ctrl, 1, 0);
    h.port.postMessage({ name: jobs[i + 1].name, args: jobs[i + 1].args.map(toHelper) });
    Atomics.store(h.ctrl, 0, 1);
    Atomics.notify(h.ctrl, 0);
  });
  let failure: unknown = null;
  try {
    (JOBS[jobs[0].name] as (...a: unknown[]) => void)(...jobs[0].args);
  } catch (e) {
    failure = e;
  }
  for (const h of posted) {
    waitWhile(h.ctrl, 1, 0);
    const err = receiveMessageOnPort(h.port);
    if (err && !failure) failure = new Error(`helper thread failed: ${String(err.message)}`);
  }
  if (failure) throw failure;
}

/** Splits [0, extent) into at most `parts` ranges, each a multiple of `multiple` long but the last. */
export function splitRange(extent: number, parts: number, multiple = 1): [number, number][] {
  const step = Math.ceil(extent / parts / multiple) * multiple;
  const out: [number, number][] = [];
  for (let lo = 0; lo < extent; lo += step) out.push([lo, Math.min(extent, lo + step)]);
  return out;
}
