/**
 * Exact k-nearest neighbours by squared Euclidean distance, by blocked GEMM (core/gemm.ts) with a
 * bounded top-k per row: memory O(N·k + block²), never an N × N matrix.
 *
 * Input  X [N, D] (Float32Array in training, Float64Array in the equation-level tests), row-major.
 * Output KnnLists: row i holds k neighbours at index[i·k .. i·k + k), ascending by (distance, index),
 *        i itself first with distance 0 (the contract's `knn[i]`, jaccard_distance step 1).
 *
 * `knn` runs on the calling thread; `knnParallel` splits the block pairs over worker_threads that
 * share X through a SharedArrayBuffer, each with its own heaps, then merges the heaps row by row.
 * Both give the same lists: each pair's distance is computed exactly once, by the same GEMM call
 * shape, and ties are broken by index.
 */
import { availableParallelism } from 'node:os';
import { backendName } from '../core/backend.ts';
import { startTsWorker, tsWorkersAvailable } from '../core/ts-worker.ts';
import type { Float } from '../core/gemm.ts';
import { TensorStorage } from '../core/tensor-storage.ts';
import { type BlockPair, EMPTY_INDEX, blockScratch, type SameCameraPenalty, blockPairs, initHeaps, processBlockPair, rowSquaredNorms } from './knn-block.ts';

export interface KnnLists {
  N: number;
  k: number;
  /** [N, k] neighbour indices, self first, then ascending by (distance, index). */
  index: Int32Array;
  /**
   * [N, k] true squared Euclidean distances matching `index` (self: 0), never the ranking key: with a
   * same-camera penalty λ the lists are ranked by d + λ·[c_i = c_j], and λ is taken off again here
   * (exact up to one rounding of the subtraction). jaccard.ts does not read these (it recomputes
   * f_i·f_j from X), so the penalty changes which neighbours are found and nothing else.
   */
  dist: Float64Array;
}

export interface KnnOptions {
  /** Rows per GEMM block (default 256: a packed 256 × 256 panel pair stays in a 1 MB L2): scratch is block² values of X's type. */
  block?: number;
  /** Rank other cameras' images first: key d(i, j) + λ where c_i = c_j (knn-block.ts); `dist` still holds d(i, j). */
  sameCamera?: SameCameraPenalty;
}

function checkArgs(X: Float, N: number, D: number, k: number): void {
  if (!Number.isInteger(N) || !Number.isInteger(D) || N < 1 || D < 1) throw new Error(`knn: bad shape [N=${N}, D=${D}]`);
  if (X.length !== N * D) throw new Error(`knn: features have ${X.length} values, expected N·D = ${N}·${D} = ${N * D}`);
  if (!Number.isInteger(k) || k < 1 || k > N) throw new Error(`knn: k = ${k} must be an integer in [1, N = ${N}]`);
  for (let t = 0; t < X.length; t++) {
    if (!Number.isFinite(X[t])) throw new Error(`knn: features[${Math.floor(t / D)}, ${t % D}] = ${X[t]} is not finite`);
  }
}

function checkSameCamera(N: number, s: SameCameraPenalty | undefined): SameCameraPenalty | null {
  if (!s) return null;
  if (s.cams.length !== N) throw new Error(`knn: ${s.cams.length} camera ids for ${N} features`);
  if (!(s.penalty >= 0 && Number.isFinite(s.penalty))) throw new Error(`knn: same-camera penalty ${s.penalty} must be a finite number >= 0`);
  return s.penalty > 0 ? s : null;
}

/**
 * Sort each row's heap by its key, put i itself first: the final lists. Several heap sets (one per
 * worker) merge here. The heaps hold ranking keys; `dist` gets the true distance (key − λ where the
 * same-camera penalty applied).
 */
function finishRows(N: number, k: number, heaps: { heapD: Float64Array; heapI: Int32Array }[], sameCamera: SameCameraPenalty | null): KnnLists {
  const kk = k - 1;
  const index = new Int32Array(N * k);
  const dist = new Float64Array(N * k);
  const order: [number, number][] = [];
  for (let i = 0; i < N; i++) {
    order.length = 0;
    for (const { heapD, heapI } of heaps) {
      for (let s = i * kk; s < (i + 1) * kk; s++) if (heapI[s] !== EMPTY_INDEX) order.push([heapD[s], heapI[s]]);
    }
    order.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    if (order.length < kk) throw new Error(`knn: row ${i} kept ${order.length} neighbours, expected ${kk} (internal error)`);
    index[i * k] = i;
    dist[i * k] = 0;
    for (let t = 0; t < kk; t++) {
      const j = order[t][1];
      let d = order[t][0];
      if (sameCamera && sameCamera.cams[i] === sameCamera.cams[j]) d = Math.max(0, d - sameCamera.penalty);
      index[i * k + 1 + t] = j;
      dist[i * k + 1 + t] = d;
    }
  }
  return { N, k, index, dist };
}

/** Exact k-NN on the calling thread. */
export function knn(X: Float, N: number, D: number, k: number, opts: KnnOptions = {}): KnnLists {
  checkArgs(X, N, D, k);
  const block = opts.block ?? 256;
  const kk = k - 1;
  const norms = rowSquaredNorms(X, N, D);
  const heapD = new Float64Array(N * kk);
  const heapI = new Int32Array(N * kk);
  initHeaps(heapD, heapI);
  const scratch = blockScratch(X, block);
  const sameCamera = checkSameCamera(N, opts.sameCamera);
  // one storage for every block's product: on a device backend X goes there once, not once per block
  const x = new TensorStorage(X);
  for (const p of blockPairs(N, block)) processBlockPair(x, D, norms, p, kk, heapD, heapI, scratch, sameCamera);
  return finishRows(N, k, [{ heapD, heapI }], sameCamera);
}

const workerUrl = new URL('./knn-worker.ts', import.meta.url);

/** Split block pairs into `threads` lists of about equal GEMM work (greedy, largest first). */
function assignPairs(pairs: BlockPair[], threads: number): BlockPair[][] {
  const lists: BlockPair[][] = Array.from({ length: threads }, () => []);
  const load = new Array<number>(threads).fill(0);
  const sorted = [...pairs].sort((a, b) => (b.i1 - b.i0) * (b.j1 - b.j0) - (a.i1 - a.i0) * (a.j1 - a.j0));
  for (const p of sorted) {
    let w = 0;
    for (let t = 1; t < threads; t++) if (load[t] < load[w]) w = t;
    lists[w].push(p);
    load[w] += (p.i1 - p.i0) * (p.j1 - p.j0);
  }
  return lists;
}

/**
 * Exact k-NN over `threads` worker_threads (default: the machine's parallelism). Same result as `knn`.
 * Falls back to the calling thread when threads = 1 or the tsx loader the workers need is missing.
 */
export async function knnParallel(X: Float, N: number, D: number, k: number, opts: KnnOptions & { threads?: number } = {}): Promise<KnnLists> {
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), 64));
  if (threads === 1 || !tsWorkersAvailable()) return knn(X, N, D, k, opts);
  checkArgs(X, N, D, k);
  const sameCamera = checkSameCamera(N, opts.sameCamera);
  const block = opts.block ?? 256;
  const kk = k - 1;
  const shared: Float = X instanceof Float32Array
    ? new Float32Array(new SharedArrayBuffer(X.length * 4) as unknown as ArrayBuffer)
    : new Float64Array(new SharedArrayBuffer(X.length * 8) as unknown as ArrayBuffer);
  shared.set(X);
  const norms = rowSquaredNorms(X, N, D);
  const lists = assignPairs(blockPairs(N, block), threads);
  const heaps = lists.map(() => ({
    heapD: new Float64Array(new SharedArrayBuffer(N * kk * 8) as unknown as ArrayBuffer),
    heapI: new Int32Array(new SharedArrayBuffer(N * kk * 4) as unknown as ArrayBuffer),
  }));
  await Promise.all(lists.map((pairs, w) => new Promise<void>((resolve, reject) => {
    const worker = startTsWorker(workerUrl, {
      workerData: { X: shared, D, norms, pairs, kk, block, heapD: heaps[w].heapD, heapI: heaps[w].heapI, sameCamera, backend: backendName() },
    });
    let done = false;
    worker.once('message', () => { done = true; resolve(); void worker.terminate(); });
    worker.once('error', reject);
    worker.once('exit', (code) => { if (!done) reject(new Error(`knn worker ${w} exited (code ${code}) before finishing`)); });
  })));
  return finishRows(N, k, heaps, sameCamera);
}
