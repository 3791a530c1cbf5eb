/** The ablation table (ablation-table.ts) as a picture: per method, mAP and rank-1 bars at the mean over seeds, error bars over the t-interval, one dot per seed. */
import { type BarGroup, drawBarChart } from '../viz/bars.ts';
import type { Canvas } from '../viz/canvas.ts';
import type { AblationTable } from './ablation-table.ts';

export function drawAblation(t: AblationTable): Canvas {
  const groups: BarGroup[] = t.rows.map((r) => ({
    name: r.row,
    bars: (['mAP', 'rank1'] as const).map((k) => {
      const s = r.stats?.[k];
      if (!s) return null;
      return { mean: 100 * s.mean, lo: s.lo === null ? null : 100 * s.lo, hi: s.hi === null ? null : 100 * s.hi, points: r.seeds.map((x) => 100 * x[k]) };
    }),
  }));
  const counts = [...new Set(t.rows.map((r) => r.seeds.length).filter((n) => n > 0))].sort((a, b) => a - b);
  const seeds = counts.length === 0 ? 'no' : counts.join('/');
  const missing = t.rows.filter((r) => r.seeds.length === 0).map((r) => r.row);
  const level = `${Math.round(t.level * 100)} % CI`;
  return drawBarChart(groups, [{ name: 'mAP' }, { name: 'rank-1' }], {
    title: `Ablation (paper Tables 6/7): ${seeds} seeds per row, clustering: ${t.setting.clustering}`,
    yLabel: '%',
    intervalLabel: level,
    footer: [`bar: mean over seeds; error bar: ${level}, mean ± t(0.975, n−1) · s / √n`, ...(t.setting.trainFlags.length ? [`train flags: ${t.setting.trainFlags.join(' ')}`] : []),
      ...(missing.length ? [`no run yet: ${missing.join(', ')}`] : [])],
  });
}
