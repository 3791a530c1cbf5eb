/**
 * `--backend`: which kernels the tensor core runs. cpu is plain TypeScript (core/gemm.ts);
 * gpu is gpu.js in webgpu mode (a real GPU, or the software adapter when `MLA_ALLOW_SOFTWARE_GPU=1`),
 * webasm and gpujs-cpu are gpu.js's CPU modes. The GEMM of every conv, linear and attention product
 * is routed to the chosen backend; the rest of the layers stay on the CPU path (see README: GPU).
 * Returns the line printed at start-up, naming the backend and its adapter.
 */
import { backendName, useKernels } from '../../core/backend.ts';

export async function selectBackend(name: string): Promise<string> {
  if (name === 'cpu') {
    useKernels('cpu (plain TypeScript)', {});
    return backendName;
  }
  const { createGpuBackend } = await import('../../gpu/backend.ts');
  const mode = name === 'gpu' ? 'webgpu' : name === 'webasm' ? 'webasm' : 'cpu';
  let gpu;
  try {
    gpu = await createGpuBackend(mode, { software: process.env.MLA_ALLOW_SOFTWARE_GPU === '1' ? 'fallback' : 'never' });
  } catch (e) {
    throw new Error(`--backend ${name}: ${(e as Error).message}. No GPU adapter: use --backend cpu ` +
      '(or set MLA_ALLOW_SOFTWARE_GPU=1 to run the webgpu kernels on the slow software adapter).');
  }
  useKernels(`gpu.js ${gpu.describe()}`, { gemm: gpu.gemm.bind(gpu) });
  return backendName;
}
