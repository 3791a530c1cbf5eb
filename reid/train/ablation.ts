/**
 * `npm run ablation -- [--seeds 1,2] [--out runs/ablation] [--table-only] [-- train flags...]`:
 * the paper's ablation (Tables 6 and 7: baseline, PLA, DLA, PLA+HLA, ALL) on the default profile,
 * each row trained once per seed in this process, then one Markdown table of the final mAP and
 * CMC (mean over seeds, and each seed). `--table-only` rebuilds the table from the runs' metrics.jsonl.
 * Any further flags (e.g. `--confound 0.9`) go to every run, as `npm run train` would take them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { EpochMetrics } from './checkpoint.ts';

export const ROWS: [string, string[]][] = [
  ['baseline', ['--baseline']],
  ['PLA', ['--no-hla', '--no-dla']],
  ['DLA', ['--no-pla', '--no-hla']],
  ['PLA+HLA', ['--no-dla']],
  ['ALL', []],
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const seeds = arg('--seeds', '1,2').split(',').map(Number);
const out = arg('--out', 'runs/ablation');
const dash = process.argv.indexOf('--');
const extra = dash >= 0 ? process.argv.slice(dash + 1) : [];
const dirOf = (row: string, seed: number) => join(out, `${row.toLowerCase()}-s${seed}`);

if (!process.argv.includes('--table-only')) {
  for (const seed of seeds) {
    for (const [row, flags] of ROWS) {
      console.log(`== ${row}, seed ${seed}`);
      const r = spawnSync('npx', ['tsx', 'reid/train/cli.ts', '--seed', String(seed), ...flags, '--no-pictures', '--out', dirOf(row, seed), ...extra],
        { stdio: 'inherit' });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
  }
}

type Scores = Pick<EpochMetrics, 'epoch' | 'mAP' | 'rank1' | 'rank5' | 'rank10'>;
const pct = (v: number) => (100 * v).toFixed(1);
console.log('\n| method | mAP | rank-1 | rank-5 | rank-10 | mAP per seed | mAP before training |');
console.log('|---|---|---|---|---|---|---|');
for (const [row] of ROWS) {
  const runs = seeds.map((s) => {
    const file = join(dirOf(row, s), 'metrics.jsonl');
    if (!existsSync(file)) return null;
    const evaluated = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Scores).filter((m) => m.mAP !== undefined);
    const final = evaluated.at(-1);
    return final && final.epoch > 0 ? { final, start: evaluated.find((m) => m.epoch === 0) } : null;
  }).filter((r) => r !== null);
  if (runs.length === 0) {
    console.log(`| ${row} | (no run) | | | | | |`);
    continue;
  }
  const mean = (k: 'mAP' | 'rank1' | 'rank5' | 'rank10') => runs.reduce((a, r) => a + r.final[k]!, 0) / runs.length;
  const starts = runs.map((r) => (r.start ? pct(r.start.mAP!) : '-')).join(' / ');
  console.log(`| ${row} | ${pct(mean('mAP'))} | ${pct(mean('rank1'))} | ${pct(mean('rank5'))} | ${pct(mean('rank10'))} | ${runs.map((r) => pct(r.final.mAP!)).join(' / ')} | ${starts} |`);
}
