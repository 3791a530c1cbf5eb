/**
 * Worker thread of knnParallel (knn.ts): runs its share of the block pairs into its own heaps,
 * which live in SharedArrayBuffers the main thread merges. workerData: X [N, D] (shared), D,
 * norms [N], pairs, kk = k − 1, block, heapD / heapI [N·kk] (shared, filled here).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type BlockPair, initHeaps, processBlockPair } from './knn-block.ts';

const { X, D, norms, pairs, kk, block, heapD, heapI } = workerData as {
  X: Float32Array | Float64Array; D: number; norms: Float64Array; pairs: BlockPair[]; kk: number; block: number;
  heapD: Float64Array; heapI: Int32Array;
};
initHeaps(heapD, heapI);
const scratch = new Float64Array(block * block);
for (const p of pairs) processBlockPair(X, D, norms, p, kk, heapD, heapI, scratch);
parentPort!.postMessage('done');
