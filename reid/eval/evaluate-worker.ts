/**
 * Worker thread of evaluateParallel (./evaluate-parallel.ts): runs the blocked distances and the
 * Market protocol for its range of queries. workerData: qn [Qw, D] (its queries, normalised),
 * gn [G, D] (normalised, shared), D, q/g pids and camids, maxRank, blockRows, backend (the run's:
 * its GEMM where this thread can have it, core/wasm/backend.ts).
 * Posts { ap: Float64Array [Qw], cmcCounts: Float64Array [maxRank] }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { squaredDistanceBlock } from './distance.ts';
import { MarketAccumulator } from './market.ts';
import { useBackendInThisThread } from '../../core/wasm/backend.ts';

const w = workerData as {
  qn: Float32Array; gn: Float32Array; D: number; qPids: Int32Array; qCams: Int32Array; gPids: Int32Array; gCams: Int32Array; maxRank: number; blockRows: number; backend: string;
};
useBackendInThisThread(w.backend);
// Private copies: V8 reads SharedArrayBuffer-backed arrays slower in hot loops.
const gn = Float32Array.from(w.gn);
const G = w.gPids.length;
const Q = w.qPids.length;
const acc = new MarketAccumulator(Q, w.gPids, w.gCams, w.maxRank);
const buf = new Float32Array(w.blockRows * G);
for (let q0 = 0; q0 < Q; q0 += w.blockRows) {
  const rows = Math.min(w.blockRows, Q - q0);
  squaredDistanceBlock(w.qn, q0, rows, gn, G, w.D, buf);
  for (let r = 0; r < rows; r++) acc.addQuery(q0 + r, buf, r * G, w.qPids[q0 + r], w.qCams[q0 + r]);
}
parentPort!.postMessage({ ap: acc.ap, cmcCounts: acc.cmcCounts });
