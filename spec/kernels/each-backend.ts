/**
 * One spec body, run against every CPU backend (tfjs's `describeWithFlags`): `describeEachBackend`
 * declares the body once per backend, with that backend active (core/backend.ts) while its tests
 * run. `device-sim` (spec/device-sim.ts) is a simulated device: its operands cross to a memory of
 * its own and back, as a GPU backend's do. The bodies compare with the slow references of spec/reference/, so every backend is held to
 * the same definition. A backend that fails to load fails its block, it is never skipped.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { backendName, useBackend } from '../../core/backend.ts';
import { registerWasmBackend } from '../../core/wasm/backend.ts';
import { registerDeviceSim } from '../device-sim.ts';

export const CPU_BACKENDS = ['cpu', 'wasm', 'device-sim'] as const;
export type CpuBackend = (typeof CPU_BACKENDS)[number];

export function activate(backend: CpuBackend): void {
  if (backend === 'wasm') {
    const failure = registerWasmBackend();
    if (failure) throw new Error(`the wasm backend did not load: ${failure}`);
  }
  if (backend === 'device-sim') registerDeviceSim();
  useBackend(backend);
}

export function describeEachBackend(title: string, body: (backend: CpuBackend) => void): void {
  for (const backend of CPU_BACKENDS) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(() => activate(backend));
      afterAll(() => useBackend('cpu'));
      body(backend);
    });
  }
}

/** The backend whose kernels are active now (for assertions that a test ran where it says). */
export function activeBackend(): string {
  return backendName();
}
