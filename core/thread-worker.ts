/**
 * A helper thread of ./thread-pool.ts: waits on its control word, takes one job from its port
 * synchronously, runs it (./thread-jobs.ts) on the main thread's wasm memory, signals completion (and
 * reports a failure on the port).
 */
import { workerData } from 'node:worker_threads';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { JOBS } from './thread-jobs.ts';
import type { Job } from './thread-pool.ts';
import { fromParent } from './wasm/memory.ts';
import { waitWhile } from './wait-while.ts';

const { ctrl, port } = workerData as { ctrl: Int32Array; port: MessagePort };

for (;;) {
  waitWhile(ctrl, 0, 0);
  Atomics.store(ctrl, 0, 0);
  let msg = receiveMessageOnPort(port);
  while (!msg) msg = receiveMessageOnPort(port);
  const job = msg.message as Job;
  try {
    (JOBS[job.name] as (...a: unknown[]) => void)(...job.args.map(fromParent));
  } catch (e) {
    port.postMessage(String((e as Error).message));
  }
  Atomics.store(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
