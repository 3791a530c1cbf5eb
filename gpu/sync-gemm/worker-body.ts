/**
 * The webgpu side of the synchronous GEMM bridge (see bridge.ts): owns its own navigator.gpu and
 * gpu.js instance, runs each job posted by the main thread, writes the compact result into the
 * shared data buffer and wakes the main thread through Atomics.notify on ctl[0].
 */
import { parentPort, workerData } from 'node:worker_threads';
import { installWebGpu, type SoftwareAdapterPolicy } from '../webgpu-setup.ts';
import { KernelRunner } from '../kernel-runner.ts';
import { gemmKernel } from '../kernels/gemm.ts';
import { STATE_DONE, STATE_ERROR, type GemmJobMessage } from './protocol.ts';

const { ctl, err, software } = workerData as { ctl: SharedArrayBuffer; err: SharedArrayBuffer; software: SoftwareAdapterPolicy };
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
  parentPort!.on('message', async (job: GemmJobMessage) => {
    try {
      if (job.data) data = new Float32Array(job.data);
      const A = data.subarray(0, job.aLen);
      const B = data.subarray(job.aLen, job.aLen + job.bLen);
      const Cin = data.subarray(job.aLen + job.bLen, job.aLen + job.bLen + job.cLen);
      const outOff = job.aLen + job.bLen + job.cLen;
      const result = (await runner.launch(gemmKernel, job.M * job.N, [
        A, B, Cin, job.M, job.N, job.K, 0, job.lda, 0, job.ldb, job.transA, job.transB, job.alpha, job.beta,
      ])) as Float32Array;
      const mode = runner.ranModes.get('gemm');
      if (mode !== 'webgpu') throw new Error(`gpu gemm ran in mode ${mode}, not webgpu`);
      data.set(result.subarray(0, job.M * job.N), outOff);
      finish(STATE_DONE);
    } catch (e) {
      finish(STATE_ERROR, (e as Error).stack ?? String(e));
    }
  });
  parentPort!.postMessage({ kind: 'ready', install });
} catch (e) {
  parentPort!.postMessage({ kind: 'failed', message: (e as Error).message });
}
