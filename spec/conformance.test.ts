/** Every fixture case whose op the project implements must pass (README of ../shared/conformance). */
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectCaseFiles, formatRow, loadCase, runCase } from './conformance/runner.ts';
import { getOp, loadOps } from './conformance/registry.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'conformance');
await loadOps();

describe('conformance cases', () => {
  for (const file of collectCaseFiles([fixtures])) {
    const op = loadCase(file).spec.op;
    it.runIf(getOp(op) !== undefined)(`${op}: ${file.split('/').pop()}`, async () => {
      const row = await runCase(file);
      expect(row.passed, formatRow(row)).toBe(true);
    });
  }
});
