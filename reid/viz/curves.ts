/**
 * Training curves as one PNG: a panel each for mAP / rank-1 (%), number of clusters, number of
 * outliers and loss, per epoch. Several runs (e.g. baseline vs. MLA) can be drawn together.
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

export function drawTrainingCurves(runs: EpochRecord[] | Run[], opts: { panelWidth?: number; panelHeight?: number; title?: string } = {}): Canvas {
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
  drawLineChart(c, 0, head, pw, ph, 'MAP AND RANK-1 (%)', acc);
  drawLineChart(c, pw + 10, head, pw, ph, 'NUMBER OF CLUSTERS', series('clusters'));
  drawLineChart(c, 0, head + ph + 10, pw, ph, 'OUTLIERS (UNCLUSTERED)', series('outliers'));
  drawLineChart(c, pw + 10, head + ph + 10, pw, ph, 'LOSS', series('loss'));
  return c;
}
