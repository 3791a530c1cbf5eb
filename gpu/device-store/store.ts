/**
 * The `webgpu` device backend: tensors live in GPU buffers of a WebGPU device owned by a worker
 * thread (worker-body.ts), and the registry (core/backend.ts) runs its kernels there.
 *
 *   const store = await startWebGpuStore('never' | 'fallback' | 'always')   // SwiftShader policy
 *   registerWebGpuBackend(store); useBackend('webgpu', store.describe())
 *
 * Why a worker: the autograd tape is synchronous, WebGPU's readback is not. Every command
 * (allocate, upload, clear, free, run a kernel) is posted to the worker without waiting and the
 * worker executes them in order on its one queue, recording the dispatches into batches it submits
 * together (gpu/wgsl/recorder.ts); only a download (a host read of a tensor whose
 * current copy is on the device) blocks, with Atomics.wait, until the worker has the values. So the
 * dispatch stays ordered and the host waits only where it needs a value. A failure in the worker is
 * reported by the next command or download, with the worker's message.
 *
 * Device buffers are freed when their storage is garbage-collected (FinalizationRegistry).
 * Kernels: the tiled GEMM (gpu/wgsl/), conv2d forward, dW and dX (im2col/col2im of
 * conv-wgsl.ts and the batched GEMM), BatchNorm with its per-channel arithmetic (batchnorm-wgsl.ts),
 * bias gradients, relu, reluBackward, add, addInto and Adam (elementwise-wgsl.ts), softmax, the
 * scalar unary ops, sums over an axis, mean pooling, row L2 normalisation, the finiteness flag,
 * ClusterNCE's softmax cross-entropy and the memory update (rows-wgsl.ts), the broadcasting binary
 * ops (broadcast-wgsl.ts) and max-pooling (pool-wgsl.ts): every kernel of the registry, so a
 * training iteration moves only its batch and cluster ids up (and what the host reads down).
 */
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { registerDeviceKernels } from '../../core/backend.ts';
import type { DeviceBuffer, DeviceStore } from '../../core/tensor-storage.ts';
import type { SoftwareAdapterPolicy, WebGpuInstall } from '../webgpu-setup.ts';
import { BUSY, DONE, ERR_LENGTH, FAILED, STATE, type Command, type DeviceKernelName } from './protocol.ts';
import { waitWhile } from '../../core/wait-while.ts';
import type { RowShaderName } from './rows-wgsl.ts';

/** Longest a download may wait before the store gives up with an error. */
const WAIT_MS = 10 * 60 * 1000;

interface WebGpuBuffer extends DeviceBuffer {
  readonly id: number;
}

export class WebGpuStore implements DeviceStore {
  readonly name = 'webgpu';
  private nextId = 1;
  private data = new Float32Array(new SharedArrayBuffer(4));
  private readonly freeOnCollect = new FinalizationRegistry<number>((id) => this.post({ op: 'free', id }, [], false));
  private closed = false;

  constructor(
    private readonly worker: Worker,
    private readonly ctl: Int32Array,
    private readonly err: Uint8Array,
    readonly install: WebGpuInstall,
    /** Largest buffer one binding of a kernel may address, in bytes. */
    readonly maxBindingBytes: number,
  ) {}

  describe(): string {
    return `webgpu on ${this.install.label}${this.install.software ? ', software Vulkan on the CPU' : ''} (device-resident tensors; ` +
      'every kernel on the device)';
  }

  allocate(n: number): DeviceBuffer {
    if (4 * n > this.maxBindingBytes) {
      throw new Error(`webgpu: a tensor of ${n} float32 values is more than one binding addresses (${this.maxBindingBytes} bytes)`);
    }
    const b: WebGpuBuffer = { id: this.nextId++, length: n };
    this.post({ op: 'alloc', id: b.id, n });
    this.freeOnCollect.register(b, b.id, b);
    return b;
  }

  /** A recycling scope's tensor's buffer, freed when the scope ends (core/tensor.ts). */
  release(b: DeviceBuffer): void {
    this.free(b);
  }

  /** Frees a buffer now (after the commands already posted that use it). */
  free(b: DeviceBuffer): void {
    this.freeOnCollect.unregister(b);
    this.post({ op: 'free', id: (b as WebGpuBuffer).id });
  }

  upload(src: Float32Array, dst: DeviceBuffer): void {
    const values = src.slice(); // the worker gets its own copy (the host array may change, or be shared memory)
    this.post({ op: 'upload', id: (dst as WebGpuBuffer).id, values }, [values.buffer as ArrayBuffer]);
  }

  clear(dst: DeviceBuffer): void {
    this.post({ op: 'clear', id: (dst as WebGpuBuffer).id });
  }

  download(src: DeviceBuffer, dst: Float32Array): void {
    const n = src.length;
    let data: SharedArrayBuffer | undefined;
    if (this.data.length < n) {
      data = new SharedArrayBuffer(4 * Math.max(n, 2 * this.data.length));
      this.data = new Float32Array(data);
    }
    Atomics.store(this.ctl, STATE, BUSY);
    this.post({ op: 'download', id: (src as WebGpuBuffer).id, n, data });
    if (!waitWhile(this.ctl, STATE, BUSY, WAIT_MS)) {
      throw new Error(`webgpu: the device did not return ${n} values within ${WAIT_MS / 1000} s`);
    }
    this.check();
    dst.set(this.data.subarray(0, n));
  }

  /** Runs `kernel` on device buffers (elementwise-wgsl.ts), over n values. */
  run(kernel: DeviceKernelName, operands: DeviceBuffer[], n: number): void {
    this.post({ op: 'run', kernel, ids: operands.map((b) => (b as WebGpuBuffer).id), n });
  }

  /** A command on device buffers (worker-body.ts runs it). */
  send(c: Command): void {
    this.post(c);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private post(c: Command, transfer: ArrayBuffer[] = [], check = true): void {
    if (this.closed) {
      if (check) throw new Error('webgpu: the device store is closed');
      return;
    }
    if (check) this.check();
    this.worker.postMessage(c, transfer);
  }

  /** Throws the worker's first failure, if any. */
  private check(): void {
    if (Atomics.load(this.ctl, FAILED)) {
      throw new Error(new TextDecoder().decode(this.err.slice(0, Atomics.load(this.ctl, ERR_LENGTH))));
    }
  }
}

/** Starts the worker and its WebGPU device; rejects with the reason when there is no adapter. */
export async function startWebGpuStore(software: SoftwareAdapterPolicy): Promise<WebGpuStore> {
  const ctl = new SharedArrayBuffer(12);
  const err = new SharedArrayBuffer(8192);
  // SHARE_ENV: the worker's choice of the software Vulkan driver (VK_ICD_FILENAMES) must reach the real environment Dawn reads
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { ctl, err, software }, env: SHARE_ENV });
  interface Ready { kind: string; install?: WebGpuInstall; maxBindingBytes?: number; message?: string }
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once('message', (m: Ready) => (m.kind === 'ready' ? resolve(m) : reject(new Error(m.message))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`webgpu device worker exited with code ${code} before it was ready`)));
  });
  worker.unref();
  const ctl32 = new Int32Array(ctl);
  Atomics.store(ctl32, STATE, DONE);
  return new WebGpuStore(worker, ctl32, new Uint8Array(err), ready.install!, ready.maxBindingBytes!);
}

const id = (b: DeviceBuffer) => (b as WebGpuBuffer).id;

/** Registers the `webgpu` backend's device kernels on `store`. */
export function registerWebGpuBackend(store: WebGpuStore): void {
  const row = (name: RowShaderName, operands: DeviceBuffer[], n0: number, n1: number, n2: number, total: number, s = 0) =>
    store.send({ op: 'row', name, ids: operands.map(id), n0, n1, n2, total, s });
  registerDeviceKernels('webgpu', store, {
    relu: (x, y) => store.run('relu', [x, y], y.length),
    reluBackward: (x, dy, dx) => store.run('reluBackward', [x, dy, dx], dx.length),
    add: (a, b, y) => store.run('add', [a, b, y], y.length),
    addInto: (y, x) => store.run('addInto', [y, x], y.length),
    gemm: (transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) =>
      store.send({ op: 'gemm', ids: [id(A), id(B), id(C)], shape: { transA, transB, M, N, K, alpha, aOff, lda, bOff, ldb, beta, cOff, ldc } }),
    conv2d: (g, x, w, b, y) => store.send({ op: 'conv2d', ids: [id(x), id(w), b ? id(b) : 0, id(y)], g }),
    conv2dBackpropFilter: (g, x, dy, dw) => store.send({ op: 'conv2dBackpropFilter', ids: [id(x), id(dy), id(dw)], g }),
    conv2dBackpropInput: (g, w, dy, dx) => store.send({ op: 'conv2dBackpropInput', ids: [id(w), id(dy), id(dx)], g }),
    biasGradient: (N, O, P, dy, db) => store.send({ op: 'biasGradient', ids: [id(dy), id(db)], N, O, P }),
    broadcastBinary: (op, nest, a, b, y) => store.send({ op: 'broadcast', binary: op, side: null, nest, ids: [id(a), id(b), id(y)] }),
    broadcastBinaryBackward: (op, side, nest, dy, a, b, dx) =>
      store.send({ op: 'broadcast', binary: op, side, nest, ids: [id(a), id(b), id(dy), id(dx)] }),
    maxPool2d: (g, x, y, argmax) => store.send({ op: 'maxPool', backward: false, g, ids: [id(x), id(y), id(argmax)] }),
    maxPool2dBackward: (g, dy, argmax, dx) => store.send({ op: 'maxPool', backward: true, g, ids: [id(dy), id(argmax), id(dx)] }),
    softmax: (rows, n, x, y) => row('softmax', [x, y], rows, n, 0, 0),
    softmaxBackward: (rows, n, y, dy, dx) => row('softmaxBackward', [y, dy, dx], rows, n, 0, 0),
    unary: (op, s, x, y) => row(op, [x, y], 0, 0, 0, y.length, s),
    unaryBackward: (op, s, _x, y, dy, dx) => row(`${op}Backward`, op === 'sigmoid' ? [y, dy, dx] : [dy, dx], 0, 0, 0, dx.length, s),
    sumAxis: (outer, n, inner, x, y) => row('sumAxis', [x, y], outer, n, inner, outer * inner),
    sumAxisBackward: (outer, n, inner, dy, dx) => row('sumAxisBackward', [dy, dx], outer, n, inner, outer * n * inner),
    meanPool: (rows, P, x, y) => row('meanPool', [x, y], rows, P, 0, rows),
    meanPoolBackward: (rows, P, dy, dx) => row('meanPoolBackward', [dy, dx], rows, P, 0, rows * P),
    nonFinite: (n, x, flags, slot) => row('nonFinite', [x, flags], 1, n, slot, 0),
    l2Normalize: (rows, D, eps, x, y, norms) => row('l2Normalize', [x, y, norms], rows, D, 0, 0, eps),
    l2NormalizeBackward: (rows, D, eps, y, norms, dy, dx) => row('l2NormalizeBackward', [y, norms, dy, dx], rows, D, 0, 0, eps),
    batchNormStatistics: ({ N, C, S }, x, mean, variance) => store.send({ op: 'bnStatistics', ids: [id(x), id(mean), id(variance)], N, C, S }),
    batchNormScaleShift: (C, { training, momentum, eps, n }, ...perChannel) =>
      store.send({ op: 'bnScaleShift', ids: perChannel.map(id), C, n, training, momentum, eps }),
    batchNormNormalize: ({ N, C, S }, x, scale, shift, y) => store.send({ op: 'bnNormalize', ids: [id(x), id(scale), id(shift), id(y)], N, C, S }),
    batchNormBackward: ({ N, C, S }, x, dy, mean, invStd, scale, training, dx, dGamma, dBeta) =>
      store.send({ op: 'bnBackward', ids: [x, dy, mean, invStd, scale, dx, dGamma, dBeta].map((b) => (b ? id(b) : 0)), N, C, S, training }),
    adamUpdate: (n, step, theta, grad, m, v) => store.send({ op: 'adam', ids: [id(theta), id(grad), id(m), id(v)], n, step }),
    softmaxCrossEntropy: (rows, n, x, targets, p, losses) => row('softmaxCrossEntropy', [x, targets, p, losses], rows, n, 0, 0),
    softmaxCrossEntropyBackward: (rows, n, scale, p, targets, dx) => row('softmaxCrossEntropyBackward', [p, targets, dx], 0, n, 0, rows * n, scale),
    memoryUpdate: (D, B, momentum, hard, M, f, targets) => row('memoryUpdate', [M, f, targets], B, D, hard ? 1 : 0, 0, momentum),
  });
}
