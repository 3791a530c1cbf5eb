/**
 * Where a tensor's values live: on the host (a Float32Array or Float64Array, in ordinary memory or
 * in the wasm backend's), on a device (a GPU buffer of a `DeviceStore`), or on both, with a note of
 * which copy is current (tfjs-core's idea: a tensor holds a handle whose bytes belong to a backend).
 *
 * Kernels name what they do with each operand (core/backend.ts: KERNEL_OPERANDS), and the registry
 * asks the operand's storage for the copy the kernel runs on:
 *
 *   read()       host values, downloaded first if the device holds the current copy (zeros if
 *                never written: a gradient before its first contribution)
 *   write()      the same, for a kernel that updates them: the device copy is stale afterwards
 *   overwrite()  host memory for a kernel that writes every value: nothing is downloaded
 *   readOn(s), writeOn(s), overwriteOn(s)   the same on device store s (uploading where needed)
 *
 * Every transfer is counted in `transfers` (one home for "what crossed between host and device"),
 * so a test can bound what a training step moves. Float64 storage never goes to a device.
 */
import { allocLasting, allocUnzeroed, dtypeOf, inRecyclingScope, releaseAtScopeEnd, type DType, type Storage } from './tensor.ts';

/** A device's buffer of float32 values (its owner is the store that allocated it). */
export interface DeviceBuffer {
  readonly length: number;
}

/** A backend's device memory (a GPU); transfers are synchronous for the caller. */
export interface DeviceStore {
  readonly name: string;
  /** A buffer of n float32 values, contents undefined. */
  allocate(n: number): DeviceBuffer;
  upload(src: Float32Array, dst: DeviceBuffer): void;
  download(src: DeviceBuffer, dst: Float32Array): void;
  /** Sets every value of `dst` to 0 (on the device: nothing crosses). */
  clear(dst: DeviceBuffer): void;
  /** Frees `b` (a tensor of a recycling scope that has ended); without it, the garbage collector's business. */
  release?(b: DeviceBuffer): void;
}

/** Bytes and transfers between host and devices since the last `resetTransfers()`. */
export const transfers = { uploads: 0, uploadBytes: 0, downloads: 0, downloadBytes: 0 };

export function resetTransfers(): void {
  transfers.uploads = transfers.uploadBytes = transfers.downloads = transfers.downloadBytes = 0;
}

/** Counts a move of n float32 values. */
function countTransfer(direction: 'up' | 'down', n: number): void {
  if (direction === 'up') {
    transfers.uploads++;
    transfers.uploadBytes += 4 * n;
  } else {
    transfers.downloads++;
    transfers.downloadBytes += 4 * n;
  }
}

export class TensorStorage {
  readonly dtype: DType;
  readonly length: number;
  private host: Storage | null;
  private device: DeviceBuffer | null = null;
  private store: DeviceStore | null = null;
  /** Whether each copy holds the current values (at least one does, once anything was written). */
  private hostCurrent: boolean;
  private deviceCurrent = false;
  /** Made inside a recycling scope: its device buffer goes back when the scope ends, as its host memory does. */
  private readonly scoped = inRecyclingScope();

  /** Storage of `host`'s values, or with no values yet (for a kernel's output: memory is taken where the kernel writes). */
  constructor(host: Storage);
  constructor(dtype: DType, length: number);
  constructor(hostOrDtype: Storage | DType, length?: number) {
    if (typeof hostOrDtype === 'string') {
      this.host = null;
      this.dtype = hostOrDtype;
      this.length = length!;
      this.hostCurrent = false;
    } else {
      this.host = hostOrDtype;
      this.dtype = dtypeOf(hostOrDtype);
      this.length = hostOrDtype.length;
      this.hostCurrent = true;
    }
  }

  /** Where the current values are: 'host', 'device', 'both', or 'none' (never written). */
  get where(): 'host' | 'device' | 'both' | 'none' {
    return this.hostCurrent ? (this.deviceCurrent ? 'both' : 'host') : this.deviceCurrent ? 'device' : 'none';
  }

  read(): Storage {
    if (!this.hostCurrent) {
      const host = (this.host ??= this.allocHost());
      if (this.deviceCurrent) {
        this.store!.download(this.device!, host as Float32Array);
        countTransfer('down', this.length);
      } else host.fill(0);
      this.hostCurrent = true;
    }
    return this.host!;
  }

  write(): Storage {
    const host = this.read();
    this.deviceCurrent = false;
    return host;
  }

  overwrite(): Storage {
    this.host ??= this.allocHost();
    this.hostCurrent = true;
    this.deviceCurrent = false;
    return this.host;
  }

  readOn(store: DeviceStore): DeviceBuffer {
    this.checkStore(store);
    if (!this.deviceCurrent) {
      const device = this.deviceFor(store);
      if (this.hostCurrent) {
        store.upload(this.host as Float32Array, device);
        countTransfer('up', this.length);
      } else store.clear(device); // never written: zeros, made where they are needed
      this.deviceCurrent = true;
    }
    return this.device!;
  }

  writeOn(store: DeviceStore): DeviceBuffer {
    const device = this.readOn(store);
    this.hostCurrent = false;
    return device;
  }

  overwriteOn(store: DeviceStore): DeviceBuffer {
    const device = this.deviceFor(store);
    this.deviceCurrent = true;
    this.hostCurrent = false;
    return device;
  }

  /** Host memory: a recycling scope's if this storage was made in one, else memory that outlives the scope it is taken in. */
  private allocHost(): Storage {
    return (this.scoped ? allocUnzeroed : allocLasting)(this.dtype, this.length);
  }

  private checkStore(store: DeviceStore): void {
    if (this.dtype !== 'float32') throw new Error(`${store.name}: a float64 tensor cannot go to the device (float64 runs on the cpu backend)`);
    if (this.store && this.store !== store) throw new Error(`${store.name}: this tensor already lives on ${this.store.name}`);
  }

  private deviceFor(store: DeviceStore): DeviceBuffer {
    this.checkStore(store);
    this.store = store;
    if (!this.device) {
      const device = (this.device = store.allocate(this.length));
      if (this.scoped && store.release) releaseAtScopeEnd(() => store.release!(device));
    }
    return this.device;
  }
}
