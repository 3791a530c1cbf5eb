/** The end of a run: the summary table and the pictures (curves, ranked retrieval, Grad-CAM heat maps). */
import { join } from 'node:path';
import type { MarketResult } from '../eval/market.ts';
import { drawTrainingCurves } from '../viz/curves.ts';
import { drawRetrievalGrid, retrievalRows } from '../viz/grids.ts';
import type { EpochMetrics, StartMetrics } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import type { ReidData } from './data.ts';
import type { Evaluation } from './loop.ts';
import type { ReidModel } from './model.ts';
import type { Reporter } from './progress.ts';
import { writeHeatmaps } from './heatmaps.ts';
import type { ImageBatcher } from './data.ts';

export function printSummary(reporter: Reporter, r: MarketResult, title: string): void {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`.padStart(7);
  reporter.line('');
  reporter.line(`Result (${title}, Market-1501 protocol: ${r.validQueries} queries)`);
  reporter.line('    mAP   rank-1   rank-5  rank-10');
  reporter.line(`${pct(r.mAP)}  ${pct(r.cmc[0])}  ${pct(r.cmc[4])}  ${pct(r.cmc[9])}`);
}

/** Evenly spaced query indices, one per identity where possible (deterministic). */
function sampleQueries(data: ReidData, n: number): number[] {
  const firstOfPid = new Map<number, number>();
  data.query.forEach((q, i) => { if (!firstOfPid.has(q.pid)) firstOfPid.set(q.pid, i); });
  const pool = [...firstOfPid.values()];
  const step = Math.max(1, Math.floor(pool.length / n));
  return pool.filter((_, i) => i % step === 0).slice(0, n);
}

export async function writePictures(c: TrainConfig, model: ReidModel, data: ReidData, history: EpochMetrics[], start: StartMetrics | null,
  evaluation: Evaluation, batcher: ImageBatcher, reporter: Reporter): Promise<void> {
  const written: string[] = [];
  if (history.length > 0) {
    const curves = join(c.out, 'curves.png');
    drawTrainingCurves(start ? [start, ...history] : history, { title: `${c.profile} profile, seed ${c.seed}` }).save(curves);
    written.push(curves);
  }
  const queries = sampleQueries(data, 8);
  const rows = retrievalRows(data.query, data.gallery, evaluation.qf, evaluation.gf, model.featureDim, queries, 10);
  const retrieval = join(c.out, 'retrieval.png');
  drawRetrievalGrid(rows).save(retrieval);
  written.push(retrieval);
  written.push(...writeHeatmaps(c, model, data, batcher, queries));
  reporter.line(`pictures: ${written.join(', ')}`);
}
