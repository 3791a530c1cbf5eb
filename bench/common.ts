/**
 * Shared benchmark helpers.
 *
 *   timeMedian(name, fn, opts)  -> median seconds per call: benchmark.js samples for kernels under
 *                                  half a second, call-by-call timing for slower ones, and a single
 *                                  call for a peer whose warm-up exceeds `slowSeconds`
 *   timeInterleaved(variants, rounds) -> median seconds per call of each variant, timed in turns
 *                                  (variant 1, 2, ..., then again), so that all of them see the
 *                                  same phases of a machine whose speed drifts (this one's does, by ±30 %)
 *   gflops(flop, seconds)        -> GFLOP/s
 *   machine()                    -> "CPU model, cores, Node version" (stamped on every row)
 *   writeResults(suite, rows)    -> bench/results/<suite>.json (atomic); mergeResults(file, rows)
 *                                  the same, keeping the cases a partial run did not run; and
 *   printTable(rows)             -> the same rows as an aligned table on stdout
 *
 * A row is {case, metric, value, unit, peer, ratio, machine}. Rows with `peer: null` are this
 * project's measurements; a row with `peer: 'tfjs-wasm'` (say) holds that peer's value for the same
 * case, and `ratio` is how many times faster ours is: ours / peer's for a rate (GFLOP/s),
 * peer's / ours for a time (metric 'time'). Above 1: the project is faster.
 */
import Benchmark from 'benchmark';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/safetensors.ts';

export interface Row {
  case: string;
  metric: string;
  value: number;
  unit: string;
  peer: string | null;
  ratio: number | null;
  machine: string;
}

export interface TimeOptions {
  /** Number of timed calls (benchmark.js samples); the median is reported. */
  samples?: number;
  /** A kernel whose warm-up call takes longer than this (seconds) is timed call by call, not by benchmark.js. */
  directAbove?: number;
  /** A warm-up call slower than this (seconds) is itself the one sample reported (peers that take minutes). */
  slowSeconds?: number;
}

// The closures benchmarked read variables from their scope: run them as they are, never
// decompiled and recompiled by benchmark.js.
(Benchmark as unknown as { support: { decompilation: boolean } }).support.decompilation = false;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median seconds per call of `fn`. One untimed warm-up call first; then
 * - kernels under `directAbove` seconds: benchmark.js, `samples` samples of one call each;
 * - slower ones: `samples` calls timed one by one (benchmark.js would spend two calls per sample);
 * - a warm-up slower than `slowSeconds` (peers that take minutes) is itself the one sample.
 */
export function timeMedian(name: string, fn: () => void, opts: TimeOptions = {}): number {
  const { samples = 3, slowSeconds = 8, directAbove = 0.5 } = opts;
  const t0 = performance.now();
  fn();
  const warm = (performance.now() - t0) / 1000;
  let result: number[] = [];
  let how: string;
  if (warm > slowSeconds) {
    result = [warm];
    how = 'one call';
  } else if (warm > directAbove) {
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      fn();
      result.push((performance.now() - t) / 1000);
    }
    how = `median of ${samples} calls`;
  } else {
    const bench = new Benchmark(name, fn, {
      initCount: 1,
      minSamples: samples,
      maxTime: 0,
      minTime: 0,
      async: false,
      onComplete(this: Benchmark) {
        result = this.stats.sample.slice(0, samples);
      },
    });
    bench.run();
    if ((bench as unknown as { error?: Error }).error) throw (bench as unknown as { error: Error }).error;
    how = `benchmark.js, median of ${result.length} samples`;
  }
  if (result.length === 0) throw new Error(`bench ${name}: no samples`);
  const m = median(result);
  process.stderr.write(`  ${name}: ${(m * 1000).toFixed(1)} ms (${how})\n`);
  return m;
}

/** A variant for timeInterleaved: `setup` (untimed: choose the backend, the threads) before each turn of `fn`. */
export interface Variant { name: string; setup?: () => void; fn: () => void }

/**
 * Median seconds per call of each variant, measured in `rounds` turns: each round times every
 * variant once, in order, each turn repeating fn until it has run at least `turnSeconds`. After one
 * untimed warm-up call of each. Ratios between the variants are then taken over the same stretch of
 * the machine's time, not over minutes apart.
 */
export function timeInterleaved(variants: readonly Variant[], rounds = 7, turnSeconds = 0.15): number[] {
  const reps = variants.map((v) => {
    v.setup?.();
    const t0 = performance.now();
    v.fn();
    const warm = (performance.now() - t0) / 1000;
    return Math.max(1, Math.ceil(turnSeconds / Math.max(warm, 1e-6)));
  });
  const times: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    variants.forEach((v, i) => {
      v.setup?.();
      const t0 = performance.now();
      for (let k = 0; k < reps[i]; k++) v.fn();
      times[i].push((performance.now() - t0) / 1000 / reps[i]);
    });
  }
  return variants.map((v, i) => {
    const m = median(times[i]);
    process.stderr.write(`  ${v.name}: ${(m * 1000).toFixed(2)} ms (median of ${rounds} interleaved turns of ${reps[i]} calls)\n`);
    return m;
  });
}

export function gflops(flop: number, seconds: number): number {
  return flop / seconds / 1e9;
}

export function machine(): string {
  const c = cpus();
  return `${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} cores, Node ${process.version}`;
}

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/**
 * Writes `rows` to `file` (JSON), keeping the rows of cases not run this time from the last run that
 * had them (a partial run: one model size, one N).
 */
export function mergeResults(file: string, rows: readonly { case: unknown }[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const ran = new Set(rows.map((r) => r.case));
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { case: unknown }[]).filter((r) => !ran.has(r.case)) : [];
  writeFileAtomic(file, JSON.stringify([...rows, ...kept], null, 2) + '\n');
}

export function writeResults(suite: string, rows: Row[]): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${suite}.json`);
  writeFileAtomic(path, JSON.stringify(rows, null, 2) + '\n');
  return path;
}

function fmt(v: number | null): string {
  if (v === null) return '';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [r.case, r.peer ?? 'ours', `${fmt(r.value)} ${r.unit}`, r.ratio === null ? '' : `${fmt(r.ratio)}x`]);
  const head = ['case', 'impl', 'value', 'ours faster by'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i >= 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  if (rows[0]) console.log(`machine: ${rows[0].machine}`);
}

/** A row of ours, and the rows of its peers with ratios against it. */
export function rowsFor(name: string, metric: string, unit: string, ours: number, peers: [string, number | null][]): Row[] {
  const m = machine();
  const out: Row[] = [{ case: name, metric, value: ours, unit, peer: null, ratio: null, machine: m }];
  for (const [peer, v] of peers) if (v !== null) out.push({ case: name, metric, value: v, unit, peer, ratio: metric === 'time' ? v / ours : ours / v, machine: m });
  return out;
}

/**
 * The backend our side of a suite runs on: `BENCH_BACKEND` (cpu or wasm; default wasm, the
 * training default). Returns its name, for the rows' case names.
 */
export async function useBenchBackend(): Promise<string> {
  const name = process.env.BENCH_BACKEND ?? 'wasm';
  if (name !== 'cpu' && name !== 'wasm') throw new Error(`BENCH_BACKEND=${name}: expected cpu or wasm`);
  const { useBackend } = await import('../core/backend.ts');
  if (name === 'wasm') {
    const { registerWasmBackend } = await import('../core/wasm/backend.ts');
    const failure = registerWasmBackend();
    if (failure) throw new Error(`bench: the wasm backend did not load: ${failure}`);
  }
  useBackend(name);
  return name;
}
