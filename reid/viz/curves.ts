/**
 * Training curves as one PNG: a panel each for mAP / rank-1 (%), number of clusters, number of
 * outliers (beside the number of training images, when given) and loss, per epoch (integer ticks).
 * Several runs (e.g. baseline vs. MLA) can be drawn together.
 */
import { Canvas } from './canvas.ts';
import { PALETTE, type Series, drawLineChart } from './chart.ts';

export interface EpochRecord {
  epoch: number;
  /** In [0, 1] (drawn as %). */
  mAP?: number;
  rank1?: number;
  clusters?: number;
  outliers?: number;
  loss?: number;
}

export interface Run {
  name: string;
  history: EpochRecord[];
}

export const CURVE_TITLES = { accuracy: 'mAP and rank-1 (%)', clusters: 'number of clusters (DBSCAN)', outliers: 'outliers (unclustered images)', loss: 'loss (ClusterNCE, eq. 1)' };

export function drawTrainingCurves(runs: EpochRecord[] | Run[], opts: { panelWidth?: number; panelHeight?: number; title?: string; trainImages?: number } = {}): Canvas {
  const list: Run[] = runs.length > 0 && 'history' in (runs[0] as object) ? (runs as Run[]) : [{ name: 'run', history: runs as EpochRecord[] }];
  const pw = opts.panelWidth ?? 360, ph = opts.panelHeight ?? 220;
  const head = opts.title ? 16 : 0;
  const c = new Canvas(pw * 2 + 10, ph * 2 + 10 + head);
  if (opts.title) c.text(opts.title, 6, 4, [0, 0, 0], 1);
  const series = (key: keyof EpochRecord, scale = 1, suffix = ''): Series[] =>
    list.map((r, i) => ({
      name: r.name + suffix,
      colour: PALETTE[i % PALETTE.length],
      points: r.history.filter((e) => e[key] !== undefined).map((e) => [e.epoch, (e[key] as number) * scale] as [number, number]),
    }));
  // mAP and rank-1 share a panel: rank-1 drawn in a lighter shade when there is one run.
  const acc: Series[] = list.length === 1
    ? [{ ...series('mAP', 100)[0], name: 'mAP' }, { ...series('rank1', 100)[0], name: 'rank-1', colour: PALETTE[1] }]
    : [...series('mAP', 100, ' mAP'), ...series('rank1', 100, ' R1').map((s) => ({ ...s, colour: s.colour.map((v) => Math.round(v * 0.5 + 127)) as Series['colour'] }))];
  drawLineChart(c, 0, head, pw, ph, CURVE_TITLES.accuracy, acc);
  drawLineChart(c, pw + 10, head, pw, ph, CURVE_TITLES.clusters, series('clusters'), { integerY: true });
  // The outliers beside the whole training set, so that "600" reads as "600 of 960".
  const outliers = series('outliers');
  const epochs = list.flatMap((r) => r.history.filter((e) => e.outliers !== undefined).map((e) => e.epoch));
  const n = opts.trainImages;
  const withTotal: Series[] = n !== undefined && epochs.length > 0
    ? [...outliers.map((s) => (list.length === 1 ? { ...s, name: 'outliers' } : s)),
      { name: `all ${n} training images`, colour: [150, 150, 150], points: [[Math.min(...epochs), n], [Math.max(...epochs), n]] }]
    : outliers;
  drawLineChart(c, 0, head + ph + 10, pw, ph, n !== undefined ? `${CURVE_TITLES.outliers}, of ${n} training images` : CURVE_TITLES.outliers, withTotal, { yMin: 0, integerY: true });
  drawLineChart(c, pw + 10, head + ph + 10, pw, ph, CURVE_TITLES.loss, series('loss'));
  return c;
}
