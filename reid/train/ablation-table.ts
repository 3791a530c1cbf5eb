/**
 * The ablation's runs and table: each row's train flags and folder, and the table from the runs' metrics.jsonl files: per row (nn/attention/mla.ts ABLATION_ROWS)
 * the final evaluation of each seed, and the mean with a 95 % t-interval over seeds (confidence.ts)
 * of mAP, rank-1, rank-5 and rank-10; as a Markdown table and as JSON. No training here.
 *
 * A run's final evaluation is the last metrics.jsonl line with an mAP at an epoch > 0; its "before
 * training" value is the epoch-0 line. A run counts once that line is at the epochs its config.json
 * asks for: a missing file or an unfinished run (stopped, or still training) is left out; an
 * unreadable one is an error naming the file and line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ABLATION_ROWS, type AblationRow, type ModuleSet } from '../../nn/attention/mla.ts';
import { INTERVAL_FORMULA, type Interval, meanInterval } from './confidence.ts';

export const METRICS = ['mAP', 'rank1', 'rank5', 'rank10'] as const;
export type Metric = (typeof METRICS)[number];
type Scores = Record<Metric, number>;

/** The settings of a run (from its config.json) that must agree across an ablation's runs. */
export const SHARED_SETTINGS = ['profile', 'dataset', 'dataDir', 'arch', 'epochs', 'iters', 'clusterOn', 'sameCameraPenalty', 'eps', 'k1', 'k2', 'lr'] as const;

export interface SeedResult extends Scores {
  seed: number;
  /** SHARED_SETTINGS of the run's config.json (empty when the folder has none, e.g. older runs). */
  settings: Record<string, unknown>;
  /** Epoch of the final evaluation. */
  epoch: number;
  /** mAP before training (epoch 0), when evaluated. */
  startMAP: number | null;
}

export interface RowSummary {
  row: AblationRow;
  modules: ModuleSet;
  seeds: SeedResult[];
  /** Mean and 95 % interval over seeds; null when the row has no finished run. */
  stats: Record<Metric, Interval> | null;
}

export interface AblationTable {
  /** What the runs were given beyond the row's modules (e.g. the clustering flags). */
  setting: { clustering: string; trainFlags: string[] };
  level: number;
  formula: string;
  rows: RowSummary[];
}

/** Train flags of one row: every module named explicitly, so the profile's defaults do not matter. */
export function rowFlags(row: AblationRow): string[] {
  const m = ABLATION_ROWS[row];
  return (['pla', 'hla', 'dla'] as const).map((k) => (m[k] ? `--${k}` : `--no-${k}`));
}

/** The paper's clustering (section 3): raw features, plain k-NN (`npm run ablation -- --clustering raw`). */
export const RAW_CLUSTERING = ['--cluster-on', 'raw', '--same-camera-penalty', '0'];

/** Folder of one run: <out>/<row in lower case>-s<seed> (e.g. runs/ablation/pla+hla-s3). */
export const runDir = (out: string, row: string, seed: number): string => join(out, `${row.toLowerCase()}-s${seed}`);

/** The final and the starting evaluation of one run, or null when it is not finished (see above). */
export function readRun(file: string, seed: number): SeedResult | null {
  const lines = readFileSync(file, 'utf8').split('\n');
  let final: (Scores & { epoch: number }) | null = null;
  let startMAP: number | null = null;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
    if (typeof m.epoch !== 'number') throw new Error(`${file}:${i + 1}: no "epoch" number`);
    if (m.mAP === undefined) return;
    for (const k of METRICS) {
      if (typeof m[k] !== 'number' || !Number.isFinite(m[k])) throw new Error(`${file}:${i + 1}: "${k}" is ${JSON.stringify(m[k])}, expected a number`);
    }
    if (m.epoch === 0) startMAP = m.mAP as number;
    else final = { epoch: m.epoch, mAP: m.mAP as number, rank1: m.rank1 as number, rank5: m.rank5 as number, rank10: m.rank10 as number };
  });
  if (!final) return null;
  const settings = readSettings(join(dirname(file), 'config.json'));
  const done = final as Scores & { epoch: number };
  return typeof settings.epochs === 'number' && done.epoch < settings.epochs ? null : { seed, ...done, startMAP, settings };
}

/** Whether the run folder `dir` holds a finished run (one the table counts). */
export function isFinished(dir: string): boolean {
  const file = join(dir, 'metrics.jsonl');
  return existsSync(file) && readRun(file, 0) !== null;
}

function readSettings(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return Object.fromEntries(SHARED_SETTINGS.filter((k) => k in c).map((k) => [k, c[k]]));
}

/** The SHARED_SETTINGS on which the table's runs disagree, each with the values seen (an honest table compares like with like). */
export function settingConflicts(t: AblationTable): string[] {
  const runs = t.rows.flatMap((r) => r.seeds);
  return SHARED_SETTINGS.flatMap((k) => {
    const seen = [...new Set(runs.filter((x) => k in x.settings).map((x) => JSON.stringify(x.settings[k])))];
    return seen.length > 1 ? [`${k}: ${seen.join(' vs ')}`] : [];
  });
}

/** Every row's finished runs under `out` for `seeds`, with means and intervals. */
export function collectAblation(out: string, seeds: readonly number[], setting: AblationTable['setting'], level = 0.95): AblationTable {
  const rows = (Object.keys(ABLATION_ROWS) as AblationRow[]).map((row): RowSummary => {
    const results = seeds.flatMap((seed) => {
      const file = join(runDir(out, row, seed), 'metrics.jsonl');
      const r = existsSync(file) ? readRun(file, seed) : null;
      return r ? [r] : [];
    });
    const stats = results.length === 0 ? null
      : Object.fromEntries(METRICS.map((k) => [k, meanInterval(results.map((r) => r[k]), level)])) as Record<Metric, Interval>;
    return { row, modules: ABLATION_ROWS[row], seeds: results, stats };
  });
  return { setting: { ...setting, clustering: clusteringOfRuns(rows) ?? setting.clustering }, level, formula: INTERVAL_FORMULA, rows };
}

/** The clustering the runs were made with, from their config.json, when they all say and agree (else null). */
export function clusteringOfRuns(rows: RowSummary[]): string | null {
  const runs = rows.flatMap((r) => r.seeds);
  const names = new Set(runs.map((x) => {
    const on = x.settings.clusterOn, p = x.settings.sameCameraPenalty;
    if (typeof on !== 'string' || typeof p !== 'number') return null;
    return `${on} features${p > 0 ? `, same-camera penalty ${p}` : ''}${on === 'raw' && p === 0 ? ' (the paper)' : ''}`;
  }));
  return runs.length > 0 && names.size === 1 && !names.has(null) ? [...names][0] : null;
}

const pct = (v: number) => (100 * v).toFixed(1);
/** "7.7 ± 2.1" (or "7.7" for one seed). */
const withHalf = (s: Interval) => (s.half === null ? pct(s.mean) : `${pct(s.mean)} ± ${pct(s.half)}`);

/** The table as Markdown lines (values in %). */
export function formatAblation(t: AblationTable): string[] {
  const lines = [
    `| method | seeds | mAP (95 % CI) | rank-1 (95 % CI) | rank-5 | rank-10 | mAP per seed | mAP before training |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of t.rows) {
    if (!r.stats) { lines.push(`| ${r.row} | 0 | (no run) | | | | | |`); continue; }
    const s = r.stats;
    const starts = r.seeds.map((x) => (x.startMAP === null ? '-' : pct(x.startMAP))).join(' / ');
    lines.push(`| ${r.row} | ${s.mAP.n} | ${withHalf(s.mAP)} | ${withHalf(s.rank1)} | ${pct(s.rank5.mean)} | ${pct(s.rank10.mean)} | ` +
      `${r.seeds.map((x) => pct(x.mAP)).join(' / ')} | ${starts} |`);
  }
  const epochs = [...new Set(t.rows.flatMap((r) => r.seeds.map((x) => x.epoch)))];
  const conflicts = settingConflicts(t);
  if (conflicts.length) lines.push('', `WARNING: the runs differ in ${conflicts.join('; ')} (see each run's config.json)`);
  lines.push('', `Values in %, final evaluation (epoch ${epochs.join(', ') || '-'}); ± is the half-width of the ${Math.round(t.level * 100)} % ` +
    `interval: ${t.formula}. Clustering: ${t.setting.clustering}${t.setting.trainFlags.length ? `; train flags: ${t.setting.trainFlags.join(' ')}` : ''}.`);
  return lines;
}
