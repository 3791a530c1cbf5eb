/**
 * `--backend`: which kernels the tensor core runs (core/backend.ts's registry).
 * - wasm (default): WebAssembly-SIMD kernels (core/wasm/) where they load, else cpu with a message;
 * - cpu: the plain-TypeScript reference kernels;
 * - gpu: gpu.js in webgpu mode (a real GPU, or the software adapter when `MLA_ALLOW_SOFTWARE_GPU=1`),
 *   webasm and gpujs-cpu: gpu.js's CPU modes. Their GEMM runs every conv, linear and attention
 *   product; the rest of the layers stay on the CPU path (see README: GPU).
 * - webgpu (experimental): the device-resident backend (gpu/device-store/): every kernel on the GPU,
 *   tensors kept there; not yet measured on a real GPU.
 * Returns the line printed at start-up, naming the backend and its adapter.
 */
import { backendDescription, registerKernel, useBackend } from '../../core/backend.ts';
import { registerWasmBackend } from '../../core/wasm/backend.ts';


export async function selectBackend(name: string): Promise<string> {
  if (name === 'cpu') {
    useBackend('cpu', 'cpu (plain TypeScript)');
    return backendDescription();
  }
  if (name === 'wasm') {
    const failure = registerWasmBackend();
    if (failure) {
      useBackend('cpu', `cpu (plain TypeScript; the wasm backend did not load: ${failure})`);
    } else {
      useBackend('wasm', 'wasm (WebAssembly SIMD, relaxed multiply-add)');
    }
    return backendDescription();
  }
  const software = process.env.MLA_ALLOW_SOFTWARE_GPU === '1' ? 'fallback' : 'never';
  const noAdapter = (e: unknown) => new Error(`--backend ${name}: ${(e as Error).message}. No GPU adapter: use --backend wasm or cpu ` +
    '(or set MLA_ALLOW_SOFTWARE_GPU=1 to run the webgpu kernels on the slow software adapter).');
  if (name === 'webgpu') {
    const { registerWebGpuBackend, startWebGpuStore } = await import('../../gpu/device-store/store.ts');
    let store;
    try {
      store = await startWebGpuStore(software);
    } catch (e) {
      throw noAdapter(e);
    }
    registerWebGpuBackend(store);
    useBackend('webgpu', `${store.describe()}; experimental`);
    return backendDescription();
  }
  const { createGpuBackend } = await import('../../gpu/backend.ts');
  const mode = name === 'gpu' ? 'webgpu' : name === 'webasm' ? 'webasm' : 'cpu';
  let gpu;
  try {
    gpu = await createGpuBackend(mode, { software });
  } catch (e) {
    throw noAdapter(e);
  }
  registerKernel({ kernel: 'gemm', backend: name, fn: gpu.gemm.bind(gpu) });
  useBackend(name, `gpu.js ${gpu.describe()}`);
  return backendDescription();
}
