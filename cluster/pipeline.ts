/**
 * The clustering step of each epoch, one call: features → exact k-NN → k-reciprocal Jaccard
 * distance (sparse, only entries ≤ eps kept: DBSCAN looks at nothing else) → DBSCAN → pseudo-labels.
 *
 * Input  X [N, D] L2-normalised features (Float32Array in training).
 * Output pseudo-labels (pseudo-labels.ts) and the seconds spent in each stage.
 * Defaults (DESIGN.md): k1 = 30, k2 = 6, eps = 0.4, min_samples = 4.
 */
import type { Float } from '../core/gemm.ts';
import { dbscan } from './dbscan.ts';
import { jaccardFromKnn } from './jaccard.ts';
import { knnParallel } from './knn.ts';
import type { SameCameraPenalty } from './knn-block.ts';
import { type PseudoLabels, pseudoLabels } from './pseudo-labels.ts';

export interface ClusterOptions {
  k1?: number;
  k2?: number;
  eps?: number;
  minSamples?: number;
  /** worker_threads for the k-NN GEMM (default: the machine's parallelism). */
  threads?: number;
  /** Other cameras' images first in the k-NN lists (knn-block.ts; not in the paper). */
  sameCamera?: SameCameraPenalty;
  /** Called after each stage, for progress display. */
  onStage?: (done: 'knn' | 'jaccard' | 'dbscan') => void;
}

export interface ClusterResult {
  pseudo: PseudoLabels;
  /** Raw DBSCAN labels [N]. */
  raw: Int32Array;
  seconds: { knn: number; jaccard: number; dbscan: number };
  /** Stored Jaccard entries (≤ eps). */
  jaccardEntries: number;
}

export async function clusterFeatures(X: Float, N: number, D: number, opts: ClusterOptions = {}): Promise<ClusterResult> {
  const k1 = opts.k1 ?? 30, k2 = opts.k2 ?? 6, eps = opts.eps ?? 0.4, minSamples = opts.minSamples ?? 4;
  let t = performance.now();
  const lap = () => { const now = performance.now(); const s = (now - t) / 1000; t = now; return s; };
  const lists = await knnParallel(X, N, D, k1, { threads: opts.threads, sameCamera: opts.sameCamera });
  const knnS = lap();
  opts.onStage?.('knn');
  const rows = jaccardFromKnn(X, N, D, lists, { k1, k2, maxDist: eps });
  const jaccardS = lap();
  opts.onStage?.('jaccard');
  const raw = dbscan(rows, eps, minSamples);
  const dbscanS = lap();
  opts.onStage?.('dbscan');
  return { pseudo: pseudoLabels(raw), raw, seconds: { knn: knnS, jaccard: jaccardS, dbscan: dbscanS }, jaccardEntries: rows.indices.length };
}
