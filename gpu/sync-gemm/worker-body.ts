/**
 * The webgpu side of the synchronous GEMM bridge (see bridge.ts): owns its own navigator.gpu, gpu.js
 * instance and WGSL GEMM (on gpu.js's device of this thread), runs each job posted by the main thread
 * with the engine the job names (job.engine: 'wgsl', the tiled shader, or 'gpujs', gpu.js's naive
 * kernel), writes the compact result into the shared data buffer and wakes the main thread through
 * Atomics.notify on ctl[0]. The ready message carries the WGSL GEMM's per-operand limit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { installWebGpu, type SoftwareAdapterPolicy } from '../webgpu-setup.ts';
import { KernelRunner } from '../kernel-runner.ts';
import { gemmKernel } from '../kernels/gemm.ts';
import { WgslGemm } from '../wgsl/gemm.ts';
import { STATE_DONE, STATE_ERROR, type GemmJobMessage } from './protocol.ts';

const { ctl, err, software, maxBindingBytes, maxWorkgroupsPerDimension } = workerData as {
  ctl: SharedArrayBuffer; err: SharedArrayBuffer; software: SoftwareAdapterPolicy;
  maxBindingBytes?: number; maxWorkgroupsPerDimension?: number;
};
const ctl32 = new Int32Array(ctl);
const errBytes = new Uint8Array(err);
let data: Float32Array<ArrayBufferLike> = new Float32Array(0);

function finish(state: number, message = ''): void {
  const bytes = new TextEncoder().encode(message).subarray(0, errBytes.length);
  errBytes.set(bytes);
  Atomics.store(ctl32, 1, bytes.length);
  Atomics.store(ctl32, 0, state);
  Atomics.notify(ctl32, 0);
}

try {
  const install = await installWebGpu({ software });
  const runner = new KernelRunner('webgpu', false);
  const wgsl = await WgslGemm.create({ maxBindingBytes, maxWorkgroupsPerDimension });
  parentPort!.on('message', async (job: GemmJobMessage) => {
    try {
      if (job.data) data = new Float32Array(job.data);
      const A = data.subarray(0, job.aLen);
      const B = data.subarray(job.aLen, job.aLen + job.bLen);
      const Cin = data.subarray(job.aLen + job.bLen, job.aLen + job.bLen + job.cLen);
      const outOff = job.aLen + job.bLen + job.cLen;
      let result: Float32Array;
      if (job.engine === 'wgsl') {
        result = await wgsl.gemm({
          A, B, Cin, M: job.M, N: job.N, K: job.K, lda: job.lda, ldb: job.ldb,
          transA: job.transA, transB: job.transB, alpha: job.alpha, beta: job.beta,
        });
      } else {
        result = (await runner.launch(gemmKernel, job.M * job.N, [
          A, B, Cin, job.M, job.N, job.K, 0, job.lda, 0, job.ldb, job.transA, job.transB, job.alpha, job.beta,
        ])) as Float32Array;
        const mode = runner.ranModes.get('gemm');
        if (mode !== 'webgpu') throw new Error(`gpu gemm ran in mode ${mode}, not webgpu`);
      }
      data.set(result.subarray(0, job.M * job.N), outOff);
      finish(STATE_DONE);
    } catch (e) {
      finish(STATE_ERROR, (e as Error).stack ?? String(e));
    }
  });
  parentPort!.postMessage({ kind: 'ready', install, wgslMaxElements: wgsl.maxElements, wgslMaxBindingBytes: wgsl.maxBindingBytes });
} catch (e) {
  parentPort!.postMessage({ kind: 'failed', message: (e as Error).message });
}
