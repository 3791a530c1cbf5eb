/**
 * Synchronous GEMM on WebGPU: the CPU tensor core calls gemm() synchronously, but WebGPU can only
 * read results back asynchronously. The bridge runs the webgpu gemm kernel in a worker thread and
 * blocks the calling thread with Atomics.wait until the worker has written the result into shared
 * memory. Cost per call beyond the kernel: copying the operands into the shared buffer and back,
 * plus one message round trip (tens of microseconds).
 *
 *   const bridge = await startSyncGemmBridge('always'|'fallback'|'never', { engine: 'wgsl'|'gpujs' })
 *   bridge.compute(job) -> compact [M, N] Float32Array   (a GemmCompute for host-gemm.ts)
 *   bridge.limit        -- what one compute call addresses (host-gemm.ts blocks larger products)
 *   bridge.install      -- the worker's adapter;  bridge.close()
 *
 * engine 'wgsl' (the default) runs the tiled WGSL GEMM (gpu/wgsl/gemm.ts; one storage binding per
 * operand, u32 indices); 'gpujs' runs gpu.js's naive kernel (gpu/kernels/gemm.ts; 2^24 per operand),
 * kept as the reference the spec checks the WGSL one against and the bench compares it with.
 */
import { Worker } from 'node:worker_threads';
import type { SoftwareAdapterPolicy, WebGpuInstall } from '../webgpu-setup.ts';
import { GPUJS_GEMM_LIMIT, type CompactGemm, type GemmLimit } from '../host-gemm.ts';
import { waitWhile } from '../../core/wait-while.ts';
import { STATE_BUSY, STATE_DONE, type GemmEngine, type GemmJobMessage } from './protocol.ts';

export type { GemmEngine } from './protocol.ts';

export interface SyncGemmBridgeOptions {
  /** default 'wgsl' */
  engine?: GemmEngine;
  /** WGSL only: lower the per-binding limit below the device's (tests of the blocking) */
  maxBindingBytes?: number;
  /** WGSL only: lower the workgroups per dispatch axis (tests of the split dispatch) */
  maxWorkgroupsPerDimension?: number;
}

/** Longest a single GEMM may block before the bridge gives up with an error. */
const WAIT_MS = 10 * 60 * 1000;

export interface SyncGemmBridge {
  install: WebGpuInstall;
  engine: GemmEngine;
  limit: GemmLimit;
  compute(job: CompactGemm): Float32Array;
  close(): Promise<void>;
}

export async function startSyncGemmBridge(software: SoftwareAdapterPolicy, opts: SyncGemmBridgeOptions = {}): Promise<SyncGemmBridge> {
  const engine = opts.engine ?? 'wgsl';
  const ctl = new SharedArrayBuffer(8);
  const err = new SharedArrayBuffer(8192);
  const ctl32 = new Int32Array(ctl);
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: { ctl, err, software, maxBindingBytes: opts.maxBindingBytes, maxWorkgroupsPerDimension: opts.maxWorkgroupsPerDimension },
  });
  interface Ready { kind: string; install?: WebGpuInstall; message?: string; wgslMaxElements?: number; wgslMaxBindingBytes?: number }
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once('message', (m: Ready) => {
      if (m.kind === 'ready') resolve(m);
      else reject(new Error(m.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`gpu gemm worker exited with code ${code} before it was ready`)));
  });
  worker.unref();
  const install = ready.install!;
  const limit: GemmLimit = engine === 'gpujs' ? GPUJS_GEMM_LIMIT : {
    elements: ready.wgslMaxElements!,
    reason: `${ready.wgslMaxElements} float32 elements, what one storage binding of the WGSL GEMM addresses ` +
      `(maxStorageBufferBindingSize ${ready.wgslMaxBindingBytes} bytes)`,
  };
  let dataBuf = new SharedArrayBuffer(0);
  let data: Float32Array<ArrayBufferLike> = new Float32Array(dataBuf);

  function compute(job: CompactGemm): Float32Array {
    const need = job.A.length + job.B.length + job.Cin.length + job.M * job.N;
    const msg: GemmJobMessage = {
      aLen: job.A.length, bLen: job.B.length, cLen: job.Cin.length,
      M: job.M, N: job.N, K: job.K, lda: job.lda, ldb: job.ldb,
      transA: job.transA, transB: job.transB, alpha: job.alpha, beta: job.beta, engine,
    };
    if (data.length < need) {
      dataBuf = new SharedArrayBuffer(4 * Math.max(need, 2 * data.length));
      data = new Float32Array(dataBuf);
      msg.data = dataBuf;
    }
    data.set(job.A, 0);
    data.set(job.B, job.A.length);
    data.set(job.Cin, job.A.length + job.B.length);
    Atomics.store(ctl32, 0, STATE_BUSY);
    worker.postMessage(msg);
    if (!waitWhile(ctl32, 0, STATE_BUSY, WAIT_MS)) {
      throw new Error(`gpu gemm: the webgpu worker did not answer within ${WAIT_MS / 1000} s (M=${job.M} N=${job.N} K=${job.K})`);
    }
    if (Atomics.load(ctl32, 0) !== STATE_DONE) {
      const text = new TextDecoder().decode(new Uint8Array(err).slice(0, Atomics.load(ctl32, 1)));
      throw new Error(`gpu gemm (webgpu worker): ${text}`);
    }
    const off = job.A.length + job.B.length + job.Cin.length;
    return data.slice(off, off + job.M * job.N);
  }

  return { install, engine, limit, compute, close: async () => void (await worker.terminate()) };
}
