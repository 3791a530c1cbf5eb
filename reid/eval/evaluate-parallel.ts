/**
 * evaluateParallel(): evaluate() (./evaluate.ts) with the queries split over worker_threads.
 * Each worker computes its queries' distance blocks (GEMM) and protocol terms; the main thread sums
 * them. Same numbers as evaluate() up to the order of the final AP sum (~1e-16). Falls back to
 * evaluate() for one thread, for re-ranking, or when the tsx loader the workers need is missing.
 */
import { availableParallelism } from 'node:os';
import { startTsWorker, tsWorkersAvailable } from '../../core/ts-worker.ts';
import { backendName } from '../../core/backend.ts';
import { l2NormalizeRows } from './distance.ts';
import { type EvaluateOptions, type Labels, evaluate } from './evaluate.ts';
import { type MarketResult, checkProtocolInputs } from './market.ts';

const workerUrl = new URL('./evaluate-worker.ts', import.meta.url);

const shared = (a: Float32Array): Float32Array => {
  const s = new Float32Array(new SharedArrayBuffer(a.length * 4) as unknown as ArrayBuffer);
  s.set(a);
  return s;
};

export async function evaluateParallel(
  qf: Float32Array, gf: Float32Array, dim: number, query: Labels, gallery: Labels, opts: EvaluateOptions & { threads?: number } = {},
): Promise<MarketResult> {
  const Q = query.pids.length;
  const G = gallery.pids.length;
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), 64, Q));
  if (threads === 1 || opts.rerank || !tsWorkersAvailable()) return evaluate(qf, gf, dim, query, gallery, opts);
  if (qf.length !== Q * dim) throw new Error(`evaluate: query features have ${qf.length} values, expected ${Q} queries x ${dim}`);
  if (gf.length !== G * dim) throw new Error(`evaluate: gallery features have ${gf.length} values, expected ${G} items x ${dim}`);
  checkProtocolInputs(Q, G, query.pids, gallery.pids, query.camids, gallery.camids);
  const maxRank = opts.maxRank ?? 50;
  const blockRows = opts.blockRows ?? 128;
  const qn = l2NormalizeRows(qf, Q, dim);
  const gn = shared(l2NormalizeRows(gf, G, dim));
  const gPids = Int32Array.from(gallery.pids), gCams = Int32Array.from(gallery.camids);
  const per = Math.ceil(Q / threads);
  const parts = await Promise.all(Array.from({ length: threads }, (_, w) => {
    const a = w * per, b = Math.min(Q, a + per);
    return new Promise<{ ap: Float64Array; cmcCounts: Float64Array }>((resolve, reject) => {
      const worker = startTsWorker(workerUrl, {
        workerData: {
          qn: qn.slice(a * dim, b * dim), gn, D: dim, maxRank, blockRows, backend: backendName(),
          qPids: Int32Array.from(query.pids).subarray(a, b), qCams: Int32Array.from(query.camids).subarray(a, b), gPids, gCams,
        },
      });
      let done = false;
      worker.once('message', (m) => { done = true; resolve(m); void worker.terminate(); });
      worker.once('error', reject);
      worker.once('exit', (code) => { if (!done) reject(new Error(`evaluate worker ${w} exited (code ${code}) before finishing`)); });
    });
  }));
  const ap = new Float64Array(Q);
  const cmcCounts = new Float64Array(maxRank);
  parts.forEach((p, w) => {
    ap.set(p.ap, w * per);
    for (let k = 0; k < maxRank; k++) cmcCounts[k] += p.cmcCounts[k];
  });
  let sum = 0, valid = 0;
  for (const v of ap) if (!Number.isNaN(v)) { sum += v; valid++; }
  const cmc = Float64Array.from(cmcCounts, (c) => (valid ? c / valid : 0));
  return { mAP: valid ? sum / valid : 0, cmc, validQueries: valid, ap };
}
