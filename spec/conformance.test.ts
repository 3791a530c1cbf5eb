/**
 * Every fixture case whose op the project implements must pass (README of ../shared/conformance),
 * on the cpu backend in float64 and on the wasm backend in float32.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectCaseFiles, formatRow, loadCase, runCase } from './conformance/runner.ts';
import { getOp, loadOps } from './conformance/registry.ts';
import { useCaseBackend } from './conformance/backend.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'conformance');
await loadOps();

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`conformance cases [${backend}]`, () => {
    beforeAll(() => { useCaseBackend(backend); });
    afterAll(() => { useCaseBackend('cpu'); });
    for (const file of collectCaseFiles([fixtures])) {
      const op = loadCase(file).spec.op;
      it.runIf(getOp(op) !== undefined)(`${op}: ${file.split('/').pop()}`, async () => {
        const row = await runCase(file);
        expect(row.passed, formatRow(row)).toBe(true);
      });
    }
  });
}
