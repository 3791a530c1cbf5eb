/** npm run ablation without training: the t-interval math, the table and JSON from synthetic metrics.jsonl files, --help, --table-only. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ABLATION_ROWS, ABLATION_ROW_NAMES } from '../nn/attention/mla.ts';
import { collectAblation, formatAblation, isFinished, readRun, rowFlags, runDir } from '../reid/train/ablation-table.ts';
import { differenceInterval, meanInterval, studentTCdf, studentTQuantile } from '../reid/train/confidence.ts';
import { PAPER_MARKET_MAP, checkClaims, formatClaims, verdict } from '../reid/train/ablation-claims.ts';

/** scipy.stats.t.ppf(0.975, df), scipy 1.10. */
const T975: [number, number][] = [[1, 12.706204736174698], [2, 4.302652729749464], [3, 3.182446305284263], [4, 2.7764451051977987],
  [9, 2.2621571628540993], [29, 2.045229642132703], [100, 1.9839715184496334]];

describe('t-interval', () => {
  it('t quantiles equal scipy\'s', () => {
    for (const [df, want] of T975) expect(Math.abs(studentTQuantile(0.975, df) - want)).toBeLessThan(1e-9 * want);
  });

  it('quantiles equal the closed forms for 1 and 2 degrees of freedom, and invert the CDF', () => {
    fc.assert(fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.double({ min: 0.5, max: 200, noNaN: true }), (p, df) => {
      // ν = 1 (Cauchy): tan(π(p − ½)); ν = 2: (2p − 1) / √(2p(1 − p))
      expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 7);
      expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 9);
      expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 10);
    }), { numRuns: 100 });
  });

  it('mean ± t(0.975, n−1)·s/√n, by hand for 5 values', () => {
    const v = [0.1, 0.2, 0.3, 0.4, 0.5];
    const r = meanInterval(v);
    const s = Math.sqrt((0.04 + 0.01 + 0 + 0.01 + 0.04) / 4); // 0.1581...
    expect(r.mean).toBeCloseTo(0.3, 15);
    expect(r.sd).toBeCloseTo(s, 15);
    expect(r.half).toBeCloseTo((2.7764451051977987 * s) / Math.sqrt(5), 12);
    expect(r.lo! + r.hi!).toBeCloseTo(0.6, 15);
  });

  it('Welch difference interval: by hand, and 2(n−1) degrees of freedom for equal sizes and spreads', () => {
    const a = [0.5, 0.6, 0.7], b = [0.1, 0.2, 0.3, 0.4];
    const va = 0.01 / 3, vb = (0.05 / 3) / 4; // s_a² = 0.01, s_b² = 0.05/3
    const df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 3);
    const d = differenceInterval(a, b);
    expect(d.diff).toBeCloseTo(0.35, 14);
    expect(d.df).toBeCloseTo(df, 10);
    expect(d.half).toBeCloseTo(studentTQuantile(0.975, df) * Math.sqrt(va + vb), 12);
    fc.assert(fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 8 }), fc.double({ min: -1, max: 1, noNaN: true }), (x, shift) => {
      fc.pre(Math.max(...x) - Math.min(...x) > 1e-6);
      const e = differenceInterval(x.map((v) => v + shift), x);
      expect(e.df).toBeCloseTo(2 * (x.length - 1), 9);
      expect(e.diff).toBeCloseTo(shift, 9);
    }), { numRuns: 50 });
    expect(differenceInterval([0.3], [0.1, 0.2]).half).toBeNull();
  });

  it('one value has no interval; equal values a zero-width one; bad input is named', () => {
    expect(meanInterval([0.4])).toMatchObject({ n: 1, mean: 0.4, half: null, lo: null, hi: null });
    expect(meanInterval([0.25, 0.25, 0.25]).half).toBe(0);
    expect(() => meanInterval([])).toThrow(/no values/);
    expect(() => meanInterval([1, NaN])).toThrow(/non-finite/);
  });
});

/** A metrics.jsonl as the training loop writes it: epoch 0 evaluation, epochs without evaluation, the last with one. */
function writeRun(out: string, row: string, seed: number, start: number, final: number) {
  const dir = runDir(out, row, seed);
  mkdirSync(dir, { recursive: true });
  const lines = [
    { epoch: 0, mAP: start, rank1: start, rank5: start, rank10: start, seconds: 1 },
    { epoch: 1, clusters: 10, outliers: 5, loss: 3, lr: 1e-3, seconds: 2 },
    { epoch: 2, clusters: 11, outliers: 4, loss: 2, lr: 1e-3, seconds: 2, mAP: final, rank1: final + 0.01, rank5: final + 0.1, rank10: final + 0.2 },
  ];
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ profile: 'cpu', epochs: 2, clusterOn: 'raw', seed, mla: {} }));
}

function syntheticRuns(): string {
  const out = mkdtempSync(join(tmpdir(), 'ablation-'));
  ABLATION_ROW_NAMES.forEach((row, r) => {
    if (row === 'DLA') return; // one row without runs
    for (const seed of [1, 2, 3]) writeRun(out, row, seed, 0.02, 0.05 + 0.01 * r + 0.002 * seed);
  });
  writeRun(out, 'DLA', 7, 0.03, 0.2); // a seed not asked for is not read
  return out;
}

describe('ablation table', () => {
  it('every one of the paper\'s six rows is defined once, in its order', () => {
    expect(ABLATION_ROW_NAMES).toEqual(['baseline', 'HLA', 'PLA', 'PLA+HLA', 'DLA', 'ALL']);
    expect(ABLATION_ROWS.HLA).toEqual({ pla: false, hla: true, dla: false });
    // every run names all three modules, so the profile's defaults cannot leak into a row
    expect(rowFlags('HLA')).toEqual(['--no-pla', '--hla', '--no-dla']);
    expect(rowFlags('baseline')).toEqual(['--no-pla', '--no-hla', '--no-dla']);
    expect(rowFlags('ALL')).toEqual(['--pla', '--hla', '--dla']);
    expect(runDir('runs/ablation', 'PLA+HLA', 3)).toBe(join('runs/ablation', 'pla+hla-s3'));
  });

  it('means and intervals per row from metrics.jsonl files; rows without runs say so', () => {
    const out = syntheticRuns();
    const t = collectAblation(out, [1, 2, 3], { clustering: 'raw (the paper)', trainFlags: ['--cluster-on', 'raw'] });
    expect(t.rows.map((r) => r.row)).toEqual(ABLATION_ROW_NAMES);
    const hla = t.rows[1];
    expect(hla.seeds.map((s) => s.seed)).toEqual([1, 2, 3]);
    expect(hla.seeds.map((s) => s.epoch)).toEqual([2, 2, 2]);
    expect(hla.seeds[0].startMAP).toBe(0.02);
    const want = meanInterval([0.062, 0.064, 0.066]);
    expect(hla.stats!.mAP.mean).toBeCloseTo(0.064, 15);
    expect(hla.stats!.mAP.half).toBeCloseTo(want.half!, 15);
    expect(hla.stats!.rank1.mean).toBeCloseTo(0.074, 15);
    expect(t.rows[4]).toMatchObject({ row: 'DLA', seeds: [], stats: null });
    const md = formatAblation(t);
    expect(md[2]).toBe(`| baseline | 3 | 5.4 ± ${(100 * meanInterval([0.052, 0.054, 0.056]).half!).toFixed(1)} | 6.4 ± 0.5 | 15.4 | 25.4 | 5.2 / 5.4 / 5.6 | 2.0 / 2.0 / 2.0 |`);
    expect(md[6]).toBe('| DLA | 0 | (no run) | | | | | |');
    expect(md.at(-1)).toMatch(/epoch 2.*t\(0\.975, n−1\).*raw \(the paper\).*--cluster-on raw/);
    // the clustering named is the runs' own (config.json) when they all say it
    writeRun(out, 'DLA', 1, 0.02, 0.05);
    writeFileSync(join(runDir(out, 'DLA', 1), 'config.json'), JSON.stringify({ clusterOn: 'camera-centred', sameCameraPenalty: 0.4 }));
    expect(collectAblation(out, [1], { clustering: 'cli', trainFlags: [] }).setting.clustering).toBe('cli'); // runs disagree or do not say
    for (const row of ABLATION_ROW_NAMES) writeFileSync(join(runDir(out, row, 1), 'config.json'), JSON.stringify({ clusterOn: 'raw', sameCameraPenalty: 0 }));
    expect(collectAblation(out, [1], { clustering: 'cli', trainFlags: [] }).setting.clustering).toBe('raw features (the paper)');
    rmSync(runDir(out, 'DLA', 1), { recursive: true });
    expect(hla.seeds[0].settings).toEqual({ profile: 'cpu', epochs: 2, clusterOn: 'raw' });
    expect(md.some((l) => l.startsWith('WARNING'))).toBe(false);
    // a run made with other settings is called out
    writeFileSync(join(runDir(out, 'ALL', 2), 'config.json'), JSON.stringify({ profile: 'cpu', epochs: 2, clusterOn: 'camera-centred' }));
    const mixed = formatAblation(collectAblation(out, [1, 2, 3], t.setting));
    expect(mixed.find((l) => l.startsWith('WARNING'))).toBe('WARNING: the runs differ in clusterOn: "raw" vs "camera-centred" (see each run\'s config.json)');
    // a run whose config asks for more epochs than it has evaluated is unfinished: left out
    writeFileSync(join(runDir(out, 'ALL', 2), 'config.json'), JSON.stringify({ profile: 'cpu', epochs: 8, clusterOn: 'raw' }));
    expect(isFinished(runDir(out, 'ALL', 2))).toBe(false);
    expect(isFinished(runDir(out, 'ALL', 1))).toBe(true);
    expect(collectAblation(out, [1, 2, 3], t.setting).rows[5].seeds.map((s) => s.seed)).toEqual([1, 3]);
    // JSON round trip keeps every number
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });

  it('claims: supports / refutes / cannot separate by the sign of the paper and the interval', () => {
    const d = (lo: number | null, hi: number | null) => ({ diff: 0, half: null, lo, hi, df: null });
    expect(verdict(1.8, d(0.01, 0.05))).toBe('supports');
    expect(verdict(-1.3, d(0.01, 0.05))).toBe('refutes');
    expect(verdict(-79.7, d(-0.05, -0.01))).toBe('supports');
    expect(verdict(2.5, d(-0.05, -0.01))).toBe('refutes');
    expect(verdict(2.5, d(-0.01, 0.01))).toBe('cannot separate');
    expect(verdict(2.5, d(null, null))).toBe('cannot separate');
    expect(PAPER_MARKET_MAP.ALL - PAPER_MARKET_MAP.baseline).toBeCloseTo(2.5, 9);
    const t = collectAblation(syntheticRuns(), [1, 2, 3], { clustering: 'x', trainFlags: [] });
    const claims = checkClaims(t);
    // rows r = 1.. sit 1 point per row above the baseline with the same spread: every row separates upward
    expect(claims.map((c) => [c.row, c.verdict])).toEqual([['HLA', 'refutes'], ['PLA', 'supports'], ['PLA+HLA', 'refutes'], ['ALL', 'supports']]);
    expect(claims[0].here.diff).toBeCloseTo(0.01, 12);
    expect(formatClaims(claims)[2]).toMatch(/^\| HLA \| -79\.7 \| \+1\.0 \[\+0\.\d, \+1\.\d\] \| refutes \|$/);
    const noBase = { ...t, rows: t.rows.filter((r) => r.row !== 'baseline') };
    expect(checkClaims(noBase)).toEqual([]);
    expect(formatClaims([], noBase)).toEqual(['(no comparison: the baseline has no finished run)']);
    expect(formatClaims([], { ...t, rows: t.rows.filter((r) => r.row === 'baseline') })).toEqual(['(no comparison: no other row has a finished run)']);
  });

  it('a broken metrics line is an error naming the file and line', () => {
    const out = mkdtempSync(join(tmpdir(), 'ablation-bad-'));
    const f = join(out, 'metrics.jsonl');
    writeFileSync(f, '{"epoch":0,"mAP":0.1,"rank1":0.1,"rank5":0.1,"rank10":0.1}\n{"epoch":1,"mAP":0.2,\n');
    expect(() => readRun(f, 1)).toThrow(new RegExp(`${f.replace(/[/\\.]/g, '\\$&')}:2: not a JSON line`));
    writeFileSync(f, '{"epoch":0,"mAP":0.1,"rank1":0.1,"rank5":0.1,"rank10":0.1}\n');
    expect(readRun(f, 1)).toBeNull(); // evaluated before training only: not a finished run
  });
});

describe('npm run ablation (no training)', () => {
  const run = (...args: string[]) => execFileSync('npx', ['tsx', 'reid/train/ablation.ts', ...args], { encoding: 'utf8' });

  it('--help prints the usage and trains nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'ablation-help-'));
    const text = run('--help', '--out', out);
    expect(text).toMatch(/Usage: npm run ablation/);
    expect(text).toMatch(/--clustering/);
    expect(text).toMatch(/t\(0\.975, n-1\)/);
    expect(() => readFileSync(join(out, 'ablation.json'))).toThrow(/ENOENT/);
  });

  it('a finished run is kept, not trained again', () => {
    const out = syntheticRuns();
    const text = run('--rows', 'HLA', '--seeds', '1', '--out', out);
    expect(text).toMatch(/== HLA, seed 1: finished in .*hla-s1 \(kept; --redo trains it again\)/);
    expect(text).toMatch(/\| HLA \| 1 \|/);
  });

  it('--table-only writes the table as JSON and as a PNG', () => {
    const out = syntheticRuns();
    const text = run('--table-only', '--seeds', '1,2,3', '--clustering', 'raw', '--out', out, '--', '--epochs', '2');
    expect(text).toMatch(/\| PLA\+HLA \| 3 \|/);
    const json = JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8'));
    expect(json.setting.trainFlags).toEqual(['--cluster-on', 'raw', '--same-camera-penalty', '0', '--epochs', '2']);
    expect(json.rows).toHaveLength(6);
    expect(json.claims.map((c: { row: string }) => c.row)).toEqual(['HLA', 'PLA', 'PLA+HLA', 'ALL']);
    expect(text).toMatch(/\| PLA \| \+1\.8 \| .* \| supports \|/);
    const png = PNG.sync.read(readFileSync(join(out, 'ablation.png')));
    expect(png.width).toBeGreaterThan(300);
  });
});
