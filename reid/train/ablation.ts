/**
 * `npm run ablation -- [--seeds 1,2] [--rows baseline,PLA,...] [--jobs 1] [--out runs/ablation] [--table-only] [-- train flags...]`:
 * the paper's ablation (Tables 6 and 7: baseline, PLA, DLA, PLA+HLA, ALL) on the default profile,
 * each row trained once per seed (`--jobs` runs at a time, the cores shared among them), then one
 * Markdown table of the final mAP and CMC (mean over seeds, and each seed) beside the mAP before
 * training. `--rows` trains only those rows (the table still shows every row that has runs).
 * `--table-only` rebuilds the table from the runs' metrics.jsonl. Any further flags
 * (e.g. `--confound 0.9`) go to every run, as `npm run train` would take them.
 */
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
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
const rowNames = arg('--rows', ROWS.map(([row]) => row).join(',')).split(',');
for (const name of rowNames) {
  if (!ROWS.some(([row]) => row === name)) throw new Error(`--rows: unknown row '${name}' (rows: ${ROWS.map(([row]) => row).join(', ')})`);
}
const out = arg('--out', 'runs/ablation');
const dash = process.argv.indexOf('--');
const extra = dash >= 0 ? process.argv.slice(dash + 1) : [];
const dirOf = (row: string, seed: number) => join(out, `${row.toLowerCase()}-s${seed}`);

/** One training run; its output goes to <dir>/train.log when it shares the terminal with others. */
function train(row: string, flags: string[], seed: number, jobs: number): Promise<void> {
  const dir = dirOf(row, seed);
  mkdirSync(dir, { recursive: true });
  const log = jobs > 1 ? openSync(join(dir, 'train.log'), 'w') : 'inherit';
  const threads = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  console.log(`== ${row}, seed ${seed}${jobs > 1 ? ` (log: ${join(dir, 'train.log')})` : ''}`);
  const child = spawn('npx', ['tsx', 'reid/train/cli.ts', '--seed', String(seed), ...flags, '--no-pictures', '--out', dir, ...extra],
    { stdio: ['ignore', log, log], env: { ...process.env, MLA_THREADS: threads } });
  return new Promise((resolve, reject) => child.on('exit', (code) =>
    (code === 0 ? resolve() : reject(new Error(`${row}, seed ${seed}: training exited with status ${code}`)))));
}

if (!process.argv.includes('--table-only')) {
  const jobs = Math.max(1, Number(arg('--jobs', '1')));
  const queue = seeds.flatMap((seed) => ROWS.filter(([row]) => rowNames.includes(row)).map(([row, flags]) => () => train(row, flags, seed, jobs)));
  const worker = async () => { for (let job = queue.shift(); job; job = queue.shift()) await job(); };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
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
