/**
 * `npm run ablation -- [options] [-- train flags...]`: the paper's ablation (Tables 6 and 7: the six
 * rows of nn/attention/mla.ts ABLATION_ROWS) on the default profile, each row trained once per seed
 * (`--jobs` runs at a time, the cores shared among them), then the table of the final mAP and CMC:
 * mean over seeds with a 95 % t-interval (reid/train/confidence.ts), each seed, and the mAP before
 * training; printed as Markdown and written as <out>/ablation.json and <out>/ablation.png; then each
 * row against the baseline beside the paper's own difference (ablation-claims.ts: supports / refutes /
 * cannot separate, by a 95 % Welch interval of the difference of mean mAP).
 * `--help` prints the usage and trains nothing.
 */
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ABLATION_ROW_NAMES, type AblationRow } from '../../nn/attention/mla.ts';
import { RAW_CLUSTERING, collectAblation, formatAblation, isFinished, rowFlags, runDir } from './ablation-table.ts';
import { drawAblation } from './ablation-plot.ts';
import { checkClaims, formatClaims } from './ablation-claims.ts';

const list = (flag: string, parse: (s: string) => unknown, expected: string) => (v: string) => v.split(',').map((s) => {
  const x = parse(s.trim());
  if (x === undefined) throw new InvalidArgumentError(`${flag}: '${s}' is not ${expected}`);
  return x;
});

const program = new Command('npm run ablation --')
  .description('The paper\'s ablation (Tables 6/7): baseline, HLA, PLA, PLA+HLA, DLA, ALL, each trained once per seed with `npm run train`,\n' +
    'then mean and 95 % confidence interval (Student t over seeds) of mAP and rank-1 per row, as a table, JSON and PNG.')
  .option('--seeds <list>', 'seeds, comma-separated', list('--seeds', (s) => (/^\d+$/.test(s) ? Number(s) : undefined), 'a seed (a non-negative integer)'), [1, 2, 3, 4, 5])
  .option('--rows <list>', `rows to train (the table shows every row with runs): ${ABLATION_ROW_NAMES.join(',')}`,
    list('--rows', (s) => ABLATION_ROW_NAMES.find((r) => r.toLowerCase() === s.toLowerCase()), `a row (${ABLATION_ROW_NAMES.join(', ')})`), [...ABLATION_ROW_NAMES])
  .option('--jobs <n>', 'training runs at a time (the cores are shared among them)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--jobs needs a positive integer, got '${v}'`);
    return n;
  }, 1)
  .addOption(new Option('--clustering <which>', `profile: the profile's clustering; raw: the paper's (adds ${RAW_CLUSTERING.join(' ')} to every run)`)
    .choices(['profile', 'raw']).default('profile'))
  .option('--out <dir>', 'folder of the runs (<out>/<row>-s<seed>) and of ablation.json / ablation.png (default runs/ablation, runs/ablation-raw with --clustering raw)')
  .option('--table-only', 'train nothing: rebuild the table, JSON and PNG from the runs\' metrics.jsonl')
  .option('--redo', 'train again where a run folder already holds a run (passes --overwrite to npm run train); without it a finished run is kept and a stopped one resumed')
  .addHelpText('after', `
Flags after a second -- go to every training run, as npm run train takes them.
The interval: mean ± t(0.975, n-1) · s / sqrt(n), s the sample standard deviation of the n seeds' values.

Examples:
  npm run ablation                                       # 6 rows x seeds 1-5, the default (cpu) profile
  npm run ablation -- --clustering raw --jobs 2          # the paper's raw clustering, two runs at a time
  npm run ablation -- --rows HLA --seeds 1,2,3 -- --epochs 4 --confound 0.9
  npm run ablation -- --table-only                       # table, JSON and PNG from finished runs`);

/**
 * One training run; its output goes to <dir>/train.log when it shares the terminal with others.
 * A finished run is kept and a stopped one resumed from its last checkpoint, unless `redo`.
 */
function train(out: string, row: AblationRow, flags: string[], seed: number, jobs: number, redo: boolean): Promise<void> {
  const dir = runDir(out, row, seed);
  if (!redo && isFinished(dir)) {
    console.log(`== ${row}, seed ${seed}: finished in ${dir} (kept; --redo trains it again)`);
    return Promise.resolve();
  }
  const resume = !redo && existsSync(join(dir, 'last.safetensors')) ? ['--resume'] : [];
  mkdirSync(dir, { recursive: true });
  const log = jobs > 1 ? openSync(join(dir, 'train.log'), resume.length ? 'a' : 'w') : 'inherit';
  const threads = String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  console.log(`== ${row}, seed ${seed}${resume.length ? ', resumed from its last checkpoint' : ''}${jobs > 1 ? ` (log: ${join(dir, 'train.log')})` : ''}`);
  const child = spawn('npx', ['tsx', 'reid/train/cli.ts', '--seed', String(seed), ...rowFlags(row), '--no-pictures', '--out', dir, ...flags, ...resume],
    { stdio: ['ignore', log, log], env: { ...process.env, MLA_THREADS: threads } });
  return new Promise((resolve, reject) => child.on('exit', (code) =>
    (code === 0 ? resolve() : reject(new Error(`${row}, seed ${seed}: training exited with status ${code} (see ${jobs > 1 ? join(dir, 'train.log') : 'above'}; ` +
      `--redo trains it again, --table-only only tabulates)`)))));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dash = argv.indexOf('--');
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  program.parse(dash >= 0 ? argv.slice(0, dash) : argv, { from: 'user' });
  const o = program.opts<{ seeds: number[]; rows: AblationRow[]; jobs: number; clustering: 'profile' | 'raw'; out?: string; tableOnly?: boolean; redo?: boolean }>();
  const out = o.out ?? (o.clustering === 'raw' ? 'runs/ablation-raw' : 'runs/ablation');
  const trainFlags = [...(o.clustering === 'raw' ? RAW_CLUSTERING : []), ...extra];
  if (!o.tableOnly) {
    const flags = o.redo ? [...trainFlags, '--overwrite'] : trainFlags;
    const queue = o.seeds.flatMap((seed) => o.rows.map((row) => () => train(out, row, flags, seed, o.jobs, o.redo ?? false)));
    const worker = async () => { for (let job = queue.shift(); job; job = queue.shift()) await job(); };
    await Promise.all(Array.from({ length: o.jobs }, worker));
  }
  const table = collectAblation(out, o.seeds, { clustering: o.clustering === 'raw' ? 'raw (the paper)' : 'the profile\'s', trainFlags });
  if (table.rows.every((r) => r.stats === null)) console.log(`\nno finished run under ${out} for seeds ${o.seeds.join(',')} (train them without --table-only)`);
  const claims = checkClaims(table);
  console.log(['', ...formatAblation(table), '', 'The paper\'s claims (each row against the baseline):', '', ...formatClaims(claims, table)].join('\n'));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'ablation.json'), `${JSON.stringify({ ...table, claims }, null, 2)}\n`);
  drawAblation(table).save(join(out, 'ablation.png'));
  console.log(`\nwritten: ${join(out, 'ablation.json')}, ${join(out, 'ablation.png')}`);
}

main().catch((e: Error) => {
  console.error(`npm run ablation: ${e.message}`);
  process.exit(1);
});
