/**
 * A GEMM worker of ./gemm-parallel.ts: waits on its control word, takes one job from its port
 * synchronously, computes that slice of C with the single-thread kernel, signals completion.
 */
import { workerData } from 'node:worker_threads';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { gemm } from './gemm.ts';

const { ctrl, port } = workerData as { ctrl: Int32Array; port: MessagePort };

for (;;) {
  Atomics.wait(ctrl, 0, 0);
  Atomics.store(ctrl, 0, 0);
  let msg = receiveMessageOnPort(port);
  while (!msg) msg = receiveMessageOnPort(port);
  try {
    gemm(...(msg.message as Parameters<typeof gemm>));
  } catch (e) {
    port.postMessage(String((e as Error).message));
  }
  Atomics.store(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
