/**
 * Worker thread of knnParallel (knn.ts): runs its share of the block pairs into its own heaps and
 * copies them into the SharedArrayBuffers the main thread merges. workerData: X [N, D] (shared),
 * D, norms [N], pairs, kk = k − 1, block, heapD / heapI [N·kk] (shared, filled here), sameCamera or null,
 * backend: the run's backend, whose GEMM this thread uses where it can (core/wasm/backend.ts).
 * X and the heaps are worked on in private copies: V8 reads SharedArrayBuffer-backed arrays in
 * hot loops markedly slower than ordinary ones.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BlockPair, type SameCameraPenalty, blockScratch, initHeaps, processBlockPair } from './knn-block.ts';
import { useBackendInThisThread } from '../core/wasm/backend.ts';

const { X, D, norms, pairs, kk, block, heapD, heapI, sameCamera, backend } = workerData as {
  X: Float32Array | Float64Array; D: number; norms: Float64Array; pairs: BlockPair[]; kk: number; block: number;
  heapD: Float64Array; heapI: Int32Array; sameCamera: SameCameraPenalty | null; backend: string;
};
useBackendInThisThread(backend);
const local = X instanceof Float32Array ? Float32Array.from(X) : Float64Array.from(X);
const localD = new Float64Array(heapD.length);
const localI = new Int32Array(heapI.length);
initHeaps(localD, localI);
const scratch = blockScratch(local, block);
const localNorms = Float64Array.from(norms);
for (const p of pairs) processBlockPair(local, D, localNorms, p, kk, localD, localI, scratch, sameCamera);
heapD.set(localD);
heapI.set(localI);
parentPort!.postMessage('done');
