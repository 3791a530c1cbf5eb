/**
 * The committed core/wasm/kernels.wasm is exactly what `npm run build:wasm` makes of its source
 * (core/wasm/assembly/): the binary can always be reproduced, and a source edit without a rebuild
 * fails here.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('core/wasm/kernels.wasm', () => {
  it('is reproduced byte for byte by npm run build:wasm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mla-wasm-'));
    try {
      const out = join(dir, 'kernels.wasm');
      execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'core/wasm/assembly/index.ts',
        '--config', 'core/wasm/asconfig.json', '--outFile', out], { stdio: 'pipe' });
      expect(Buffer.compare(readFileSync(out), readFileSync('core/wasm/kernels.wasm'))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
