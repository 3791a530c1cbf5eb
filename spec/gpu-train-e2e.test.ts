/**
 * `npm run train -- --backend webgpu` end to end, on SwiftShader (software Vulkan; the hardware
 * adapter under MLA_GPU_HARDWARE=1): one epoch of two iterations of the default profile on a tiny
 * synthetic set, every kernel of the backbone on the device, against the same run on `--backend
 * cpu`. The device computes in float32 with float32 state and sums in another order, so the bound is
 * float32's: the same clusters and outliers, the epoch's loss within 1e-5 relative, and mAP and
 * rank-1 within one query's worth (1/36).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'mla-webgpu-e2e-'));
const config = join(root, 'tiny.json');
writeFileSync(config, JSON.stringify({
  dataDir: join(root, 'data'),
  synthetic: { trainIdentities: 16, testIdentities: 12, cameras: 3, imagesPerCamera: 3, height: 64, width: 32, distractors: 6, confound: 0.3 },
  height: 64, width: 32, epochs: 1, iters: 2, P: 4, K: 4, k1: 10, k2: 4, eps: 0.5, evalEvery: 1, evalAtStart: false,
}));

/** The run's last metrics line, trained by the CLI on `backend`. */
function train(backend: string): Record<string, number> {
  const out = join(root, backend);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'reid/train/cli.ts', '--no-pictures', '--config', config, '--backend', backend, '--out', out],
    { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', MLA_ALLOW_SOFTWARE_GPU: process.env.MLA_GPU_HARDWARE === '1' ? '0' : '1' } });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  if (backend === 'webgpu') expect(r.stdout + r.stderr).toMatch(/backend: webgpu on /);
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

describe('npm run train -- --backend webgpu', () => {
  it('trains an epoch with the cpu backend\'s clusters, loss and mAP, within float32', () => {
    const cpu = train('cpu');
    const gpu = train('webgpu');
    expect(gpu.clusters).toBe(cpu.clusters);
    expect(gpu.outliers).toBe(cpu.outliers);
    expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss, `loss: webgpu ${gpu.loss}, cpu ${cpu.loss}`).toBeLessThan(1e-5);
    expect(Math.abs(gpu.mAP - cpu.mAP), `mAP: webgpu ${gpu.mAP}, cpu ${cpu.mAP}`).toBeLessThanOrEqual(1 / 36);
    expect(Math.abs(gpu.rank1 - cpu.rank1)).toBeLessThanOrEqual(1 / 36 + 1e-12);
  }, 900_000);
});
