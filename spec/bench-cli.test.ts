/** `npm run bench -- --help` prints the usage and runs no suite; an unknown flag exits 2 (never taken for a suite name). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { encoding: 'utf8' });

describe('bench dispatcher', () => {
  it('--help lists the suites and exits 0 without running one', () => {
    const r = bench('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/suites: .*core/);
    expect(r.stdout).not.toMatch(/== bench/);
  });

  it('an unknown flag exits 2 naming it', () => {
    const r = bench('--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown flag '--bogus'/);
  });
});
