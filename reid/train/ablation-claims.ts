/**
 * The paper's ablation claims checked against an ablation table (ablation-table.ts): for each row,
 * the difference of its mean mAP from the baseline's with a 95 % Welch interval over seeds
 * (confidence.ts differenceInterval), beside the paper's own difference on Market-1501 (Table 6).
 *
 * Verdict: "supports" when the interval excludes 0 on the side of the paper's sign, "refutes" when it
 * excludes 0 on the other side, "cannot separate" when it contains 0 (or there are too few seeds).
 * Five comparisons at 95 % each, with no correction for their number: about one in four tables of
 * rows that truly do not differ would show at least one spurious separation.
 */
import type { AblationRow } from '../../nn/attention/mla.ts';
import { type DifferenceInterval, differenceInterval } from './confidence.ts';
import type { AblationTable } from './ablation-table.ts';

/** The paper's mAP (%) on Market-1501 per ablation row (its Table 6; README "The paper's own numbers"). */
export const PAPER_MARKET_MAP: Record<AblationRow, number> = { baseline: 80.6, HLA: 0.9, PLA: 82.4, 'PLA+HLA': 79.3, DLA: 82.4, ALL: 83.1 };

export type Verdict = 'supports' | 'refutes' | 'cannot separate';

export interface Claim {
  row: AblationRow;
  /** The paper's mAP difference from its baseline, in points (%). */
  paperDiff: number;
  /** Ours: mean mAP difference from the baseline (fraction), with its interval. */
  here: DifferenceInterval;
  verdict: Verdict;
}

export function verdict(paperDiff: number, d: DifferenceInterval): Verdict {
  if (d.lo === null || d.hi === null) return 'cannot separate';
  if (d.lo > 0) return paperDiff > 0 ? 'supports' : 'refutes';
  if (d.hi < 0) return paperDiff < 0 ? 'supports' : 'refutes';
  return 'cannot separate';
}

/** Every row with runs against the baseline (empty when the baseline has none). */
export function checkClaims(t: AblationTable): Claim[] {
  const base = t.rows.find((r) => r.row === 'baseline');
  if (!base || base.seeds.length === 0) return [];
  return t.rows.filter((r) => r.row !== 'baseline' && r.seeds.length > 0).map((r) => {
    const here = differenceInterval(r.seeds.map((s) => s.mAP), base.seeds.map((s) => s.mAP), t.level);
    const paperDiff = Number((PAPER_MARKET_MAP[r.row] - PAPER_MARKET_MAP.baseline).toFixed(1));
    return { row: r.row, paperDiff, here, verdict: verdict(paperDiff, here) };
  });
}

export function formatClaims(claims: Claim[], t?: AblationTable): string[] {
  if (claims.length === 0) {
    const baseRuns = t?.rows.find((r) => r.row === 'baseline')?.seeds.length ?? 0;
    return [baseRuns === 0 ? '(no comparison: the baseline has no finished run)' : '(no comparison: no other row has a finished run)'];
  }
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
  return [
    '| row vs baseline | paper, Market-1501 (mAP points) | here (mAP points, 95 % Welch CI) | this benchmark |',
    '|---|---|---|---|',
    ...claims.map((c) => `| ${c.row} | ${c.paperDiff >= 0 ? '+' : ''}${c.paperDiff.toFixed(1)} | ${pct(c.here.diff)}` +
      `${c.here.lo === null ? ' (too few seeds)' : ` [${pct(c.here.lo)}, ${pct(c.here.hi!)}]`} | ${c.verdict} |`),
  ];
}
