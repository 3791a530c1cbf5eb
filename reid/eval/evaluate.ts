/**
 * evaluate(): features in, Market-1501 mAP and CMC out (the project's one entry point for scores).
 *
 * Symbols: qf[Q, D], gf[G, D] float32 row-major features (L2-normalised here), pids/camids per item.
 * dist = squared Euclidean distance of the normalised features (reid/eval/distance.ts), computed
 * `blockRows` queries at a time (one GEMM per block) and consumed by the protocol (reid/eval/market.ts)
 * at once, so memory stays at blockRows x G floats: Market-1501's 3,368 x 15,913 never exists whole.
 * With `rerank`, the k-reciprocal re-ranking is applied first (reid/eval/rerank-features.ts: the
 * numbers of the dense definition in reid/eval/rerank.ts without its (Q+G)² matrices; it holds the
 * Q x G result).
 */
import { l2NormalizeRows, squaredDistanceBlock } from './distance.ts';
import { TensorStorage } from '../../core/tensor-storage.ts';
import { type Ids, type MarketResult, MarketAccumulator, checkProtocolInputs, evalMarket } from './market.ts';
import type { RerankOptions } from './rerank.ts';
import { reRankFeatures } from './rerank-features.ts';
import { Rng } from '../../core/random.ts';

export interface EvaluateOptions {
  /** CMC length (default 50, as the community's eval_market1501). */
  maxRank?: number;
  /** Queries per distance block (default 128: 128 x G floats live at once). */
  blockRows?: number;
  /** Apply k-reciprocal re-ranking. */
  rerank?: boolean | RerankOptions;
}

export interface Labels {
  pids: Ids;
  camids: Ids;
}

/** Items as the data loaders produce them carry pid and camid; this extracts the id arrays. */
export function labelsOf(items: readonly { pid: number; camid: number }[]): Labels {
  return { pids: Int32Array.from(items, (x) => x.pid), camids: Int32Array.from(items, (x) => x.camid) };
}

export function evaluate(
  qf: Float32Array, gf: Float32Array, dim: number, query: Labels, gallery: Labels, opts: EvaluateOptions = {},
): MarketResult {
  const Q = query.pids.length;
  const G = gallery.pids.length;
  if (qf.length !== Q * dim) throw new Error(`evaluate: query features have ${qf.length} values, expected ${Q} queries x ${dim}`);
  if (gf.length !== G * dim) throw new Error(`evaluate: gallery features have ${gf.length} values, expected ${G} items x ${dim}`);
  checkProtocolInputs(Q, G, query.pids, gallery.pids, query.camids, gallery.camids);
  const maxRank = opts.maxRank ?? 50;
  const qn = l2NormalizeRows(qf, Q, dim);
  const gn = l2NormalizeRows(gf, G, dim);
  if (opts.rerank) {
    const ro = typeof opts.rerank === 'object' ? opts.rerank : {};
    const final = reRankFeatures(qn, gn, Q, G, dim, { ...ro, blockRows: opts.blockRows });
    return evalMarket(final, Q, G, query.pids, gallery.pids, query.camids, gallery.camids, maxRank);
  }
  const block = Math.max(1, Math.min(opts.blockRows ?? 128, Q));
  const acc = new MarketAccumulator(Q, gallery.pids, gallery.camids, maxRank);
  const buf = new Float32Array(block * G);
  const [q, g] = [new TensorStorage(qn), new TensorStorage(gn)]; // on a device backend: there once, not once per block
  for (let q0 = 0; q0 < Q; q0 += block) {
    const rows = Math.min(block, Q - q0);
    squaredDistanceBlock(q, q0, rows, g, G, dim, buf);
    for (let r = 0; r < rows; r++) acc.addQuery(q0 + r, buf, r * G, query.pids[q0 + r], query.camids[q0 + r]);
  }
  return acc.result();
}

/**
 * The floor a ranking must beat: mean mAP of standard-normal features (draw s from Rng(seed + s),
 * query then gallery) under the same protocol.
 */
export function randomFeaturesMAP(query: Labels, gallery: Labels, dim: number, draws: number, seed: number): number {
  let sum = 0;
  for (let s = 0; s < draws; s++) {
    const rng = new Rng(seed + s);
    const qf = Float32Array.from({ length: query.pids.length * dim }, () => rng.normal());
    const gf = Float32Array.from({ length: gallery.pids.length * dim }, () => rng.normal());
    sum += evaluate(qf, gf, dim, query, gallery).mAP;
  }
  return sum / draws;
}

/** The top `k` gallery indices of each query by ascending distance (for retrieval pictures). */
export function topK(qf: Float32Array, gf: Float32Array, dim: number, Q: number, G: number, k: number): Int32Array[] {
  const qn = l2NormalizeRows(qf, Q, dim);
  const gn = l2NormalizeRows(gf, G, dim);
  const buf = new Float32Array(G);
  const out: Int32Array[] = [];
  const [qs, gs] = [new TensorStorage(qn), new TensorStorage(gn)];
  for (let q = 0; q < Q; q++) {
    squaredDistanceBlock(qs, q, 1, gs, G, dim, buf);
    const order = Array.from({ length: G }, (_, i) => i).sort((a, b) => buf[a] - buf[b] || a - b);
    out.push(Int32Array.from(order.slice(0, Math.min(k, G))));
  }
  return out;
}
