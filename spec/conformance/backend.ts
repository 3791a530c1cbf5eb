/**
 * The backend conformance cases run on: `cpu` in float64 (the reference), `wasm` in float32 (its
 * kernels' precision). Returns a line naming both.
 */
import { useBackend } from '../../core/backend.ts';
import { registerWasmBackend } from '../../core/wasm/backend.ts';
import { setCaseDtype } from './autograd-case.ts';

export function useCaseBackend(backend: 'cpu' | 'wasm'): string {
  if (backend === 'wasm') {
    const failure = registerWasmBackend();
    if (failure) throw new Error(`conformance --backend wasm: the wasm backend did not load: ${failure}`);
  }
  useBackend(backend);
  setCaseDtype(backend === 'wasm' ? 'float32' : 'float64');
  return `${backend} (cases in ${backend === 'wasm' ? 'float32' : 'float64'})`;
}
