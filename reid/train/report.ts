/** The end of a run: the summary table and the pictures (curves, ranked retrieval, Grad-CAM heat maps). */
import { join } from 'node:path';
import type { MarketResult } from '../eval/market.ts';
import { drawTrainingCurves } from '../viz/curves.ts';
import { drawRetrievalGrid, retrievalRows, sampleQueries } from '../viz/retrieval.ts';
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

export async function writePictures(c: TrainConfig, model: ReidModel, data: ReidData, history: EpochMetrics[], start: StartMetrics | null,
  evaluation: Evaluation, batcher: ImageBatcher, reporter: Reporter): Promise<void> {
  const written: string[] = [];
  if (history.length > 0) {
    const curves = join(c.out, 'curves.png');
    drawTrainingCurves(start ? [start, ...history] : history, { title: `${c.profile} profile, seed ${c.seed}`, trainImages: data.train.length }).save(curves);
    written.push(curves);
  }
  // At least one query per camera (two each for 4 cameras), at most 16 rows.
  const cams = new Set(data.query.map((q) => q.camid)).size;
  const queries = sampleQueries(data.query, Math.min(16, Math.max(8, cams)));
  const rows = retrievalRows(data.query, data.gallery, evaluation.qf, evaluation.gf, model.featureDim, queries, 10);
  const retrieval = join(c.out, 'retrieval.png');
  drawRetrievalGrid(rows).save(retrieval);
  written.push(retrieval);
  written.push(...writeHeatmaps(c, model, data, batcher, queries));
  reporter.line(`pictures: ${written.join(', ')}`);
}
