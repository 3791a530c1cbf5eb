/**
 * `npm run conformance -- [--backend cpu|wasm] PATH...`: one row per case, then `N passed, M failed`;
 * exit 1 on any failure. `cpu` (default) runs the cases in float64, `wasm` in float32 on its kernels.
 */
import { collectCaseFiles, formatRow, runCase } from './runner.ts';
import { useCaseBackend } from './backend.ts';

const args = process.argv.slice(2);
const at = args.indexOf('--backend');
const backend = at >= 0 ? args.splice(at, 2)[1] : 'cpu';
const paths = args;
if (paths.length === 0 || (backend !== 'cpu' && backend !== 'wasm')) {
  console.error('usage: npm run conformance -- [--backend cpu|wasm] PATH...   (case files or folders of them, e.g. spec/fixtures/conformance)');
  process.exit(2);
}
console.log(`backend: ${useCaseBackend(backend)}`);
let files: string[];
try {
  files = collectCaseFiles(paths);
} catch (e) {
  console.error(`conformance: ${(e as Error).message}`);
  process.exit(2);
}
let passed = 0;
let failed = 0;
for (const f of files) {
  let line: string;
  try {
    const row = await runCase(f);
    row.passed ? passed++ : failed++;
    line = formatRow(row);
  } catch (e) {
    failed++;
    line = `FAIL  ${f}  ${(e as Error).message}`;
  }
  console.log(line);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
