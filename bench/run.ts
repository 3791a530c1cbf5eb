/**
 * The benchmark dispatcher.
 *   npm run bench              runs every suite: each bench/<suite>.ts that exports `run()`
 *   npm run bench -- SUITE...  runs the named suites
 * Each suite prints its table and writes bench/results/<suite>.json (see bench/common.ts).
 * Benchmarks are never part of `npm test`.
 */
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Files in bench/ that are helpers or this dispatcher, never suites. */
const NOT_SUITES = new Set(['run', 'common']);

type Suite = { run?: () => Promise<void> };

async function load(name: string): Promise<Suite> {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) throw new Error(`bench: no suite '${name}' (expected ${file}); available: ${available().join(', ') || 'none'}`);
  return (await import(pathToFileURL(file).href)) as Suite;
}

function available(): string[] {
  return readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3)).filter((n) => !NOT_SUITES.has(n)).sort();
}

const USAGE = `usage: npm run bench [-- SUITE...]   runs every suite, or the named ones (bench/<suite>.ts)
env: BENCH_SAMPLES (timed samples, default 3), BENCH_BACKEND (cpu|wasm, suites cluster and eval),
     BENCH_TFJS_CPU=1 (core: add tfjs-cpu), RESNET_BENCH_ONLY=cpu|resnet50, RESNET_BENCH_ITERS`;

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  if (asked.includes('--help') || asked.includes('-h')) {
    console.log(`${USAGE}\nsuites: ${available().join(', ')}`);
    return;
  }
  const flag = asked.find((a) => a.startsWith('-'));
  if (flag) {
    console.error(`bench: unknown flag '${flag}' (suites are given by name; --help for usage)`);
    process.exit(2);
  }
  const names = asked.length ? asked : available();
  for (const name of names) {
    const suite = await load(name);
    if (typeof suite.run !== 'function') {
      if (asked.length) throw new Error(`bench: bench/${name}.ts does not export run()`);
      continue; // a helper file, not a suite
    }
    console.log(`\n== bench ${name} ==`);
    const t0 = performance.now();
    await suite.run();
    console.log(`== ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s ==`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
