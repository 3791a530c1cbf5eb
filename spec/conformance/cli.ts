/** `npm run conformance -- PATH...`: one row per case, then `N passed, M failed`; exit 1 on any failure. */
import { collectCaseFiles, formatRow, runCase } from './runner.ts';

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: npm run conformance -- PATH...   (case files or folders of them, e.g. spec/fixtures/conformance)');
  process.exit(2);
}
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
