/**
 * WebGPU set-up: with no Vulkan driver reachable (VK_ICD_FILENAMES pointing nowhere, software
 * fallback off) creating the webgpu backend fails with a clear message instead of falling back to
 * cpu; with the software policy it reports the SwiftShader adapter.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { installWebGpu } from '../gpu/webgpu-setup.ts';

describe('webgpu set-up', () => {
  it('rejects with a clear error when no adapter answers', () => {
    const probe = fileURLToPath(new URL('./setup/no-adapter-probe.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', probe], {
      env: { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain('ERROR: webgpu: no WebGPU adapter found');
    expect(out).toContain('/nonexistent/icd.json');
  });

  it('reports the software adapter it installed as navigator.gpu', async () => {
    const r = await installWebGpu({ software: 'always' });
    expect(r.software).toBe(true);
    expect(r.label.toLowerCase()).toContain('swiftshader');
    const nav = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ info: { vendor: string } }> } } }).navigator;
    expect((await nav.gpu.requestAdapter()).info.vendor).toBe(r.adapter.vendor);
  });
});
