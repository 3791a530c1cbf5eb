/**
 * A simulated device backend for the specs: `device-sim` keeps its buffers in memory of its own
 * (new buffers full of NaN, so a kernel that reads what it was meant to overwrite shows), moves
 * values only through the DeviceStore calls that core/tensor-storage.ts counts, and runs the cpu
 * reference kernels on its buffers. So every op gives the cpu backend's numbers bit for bit when
 * the registry moves each operand as KERNEL_OPERANDS says, and the transfer counts are exactly
 * those a real device backend with the same kernel set would make (the GPU issue's bound is
 * checked on it without a GPU).
 */
import { getKernel, kernels, registerDeviceKernels, type DeviceKernels, type KernelName, KERNEL_OPERANDS } from '../core/backend.ts';
import type { DeviceBuffer, DeviceStore } from '../core/tensor-storage.ts';

export class SimBuffer implements DeviceBuffer {
  readonly values: Float32Array;
  constructor(readonly length: number) {
    this.values = new Float32Array(length).fill(Number.NaN);
  }
}

export const simStore: DeviceStore = {
  name: 'device-sim',
  allocate: (n) => new SimBuffer(n),
  upload: (src, dst) => (dst as SimBuffer).values.set(src),
  download: (src, dst) => dst.set((src as SimBuffer).values),
  clear: (dst) => (dst as SimBuffer).values.fill(0),
  // a released buffer is poisoned: a tensor used after its recycling scope ended reads NaN
  release: (b) => (b as SimBuffer).values.fill(Number.NaN),
};

/** Registers `device-sim` with the cpu kernels `names` (default: all of them) running on its buffers. */
export function registerDeviceSim(names = Object.keys(KERNEL_OPERANDS) as KernelName[]): void {
  const set: Partial<DeviceKernels> = {};
  for (const name of names) {
    const cpu = getKernel(name, 'cpu') as (...a: unknown[]) => void;
    set[name] = ((...args: unknown[]) => {
      for (const i of Object.keys(KERNEL_OPERANDS[name]).map(Number)) {
        if (args[i] !== null && !(args[i] instanceof SimBuffer)) throw new Error(`device-sim ${name}: operand ${i} is not on the device`);
        if (args[i] instanceof SimBuffer) args[i] = (args[i] as SimBuffer).values;
      }
      // a cpu conv kernel calls the active backend's GEMM: here it is one device kernel, whose
      // inner products run on device memory too
      const gemm = kernels.gemm;
      kernels.gemm = getKernel('gemm', 'cpu')!;
      try {
        cpu(...args);
      } finally {
        kernels.gemm = gemm;
      }
    }) as never;
  }
  registerDeviceKernels('device-sim', simStore, set);
}
