/**
 * vitest globalSetup: makes sure the SwiftShader software Vulkan driver (gpu/swiftshader.ts) is
 * cached before any test worker starts, so spec/gpu*.test.ts has a WebGPU adapter on a machine
 * without a GPU. On a fresh machine this runs `apt-get download chromium-common libvulkan1` and
 * `dpkg -x` (a few seconds; measured 2.3 s here). VK_ICD_FILENAMES is exported before the workers
 * fork so they inherit it (the gpu tests also set it themselves through installWebGpu).
 * A failure here is reported, not thrown: only the gpu tests need the driver, and they fail with
 * the reason when no adapter answers.
 */
import { cachedSwiftShader, ensureSwiftShader } from '../../gpu/swiftshader.ts';

export default function setup(): void {
  // On a GPU machine (gpu/device/run-on-gpu.sh) the tests must use the hardware adapter.
  if (process.env.MLA_GPU_HARDWARE === '1') return;
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const t0 = performance.now();
  const wasCached = cachedSwiftShader() !== null;
  try {
    const p = ensureSwiftShader();
    process.env.VK_ICD_FILENAMES ??= p.icdJson;
    if (!wasCached) {
      console.log(`[setup] SwiftShader fetched into ${p.dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } catch (e) {
    console.warn(`[setup] SwiftShader set-up failed; WebGPU tests will fail without a GPU: ${(e as Error).message}`);
  }
}
