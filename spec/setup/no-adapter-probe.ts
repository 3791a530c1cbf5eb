/**
 * Child-process probe for spec/gpu-setup.test.ts: tries to create the webgpu backend without the
 * software fallback and prints the error message (or "UNEXPECTED: <adapter>" if one answered).
 */
import { createGpuBackend } from '../../gpu/backend.ts';

try {
  const be = await createGpuBackend('webgpu', { software: 'never' });
  console.log(`UNEXPECTED: ${be.describe()}`);
  await be.destroy();
} catch (e) {
  console.log(`ERROR: ${(e as Error).message}`);
}
