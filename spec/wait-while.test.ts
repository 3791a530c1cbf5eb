/**
 * core/wait-while.ts: a thread blocked until another thread changes a shared word keeps waiting
 * through a stale notify (one sent for an earlier round, with the word unchanged) and returns only
 * once the word has changed; it gives up after its time. The bridges to the webgpu workers and the
 * wasm thread pool rely on it (a single Atomics.wait woke on such a notify under load in CI and
 * reported a failure with no text).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { waitWhile } from '../core/wait-while.ts';

const BUSY = 0, DONE = 1;

/** A thread that sends a notify without changing the word, then changes it `afterMs` later and notifies. */
function staleThenDone(ctl: Int32Array, afterMs: number): Worker {
  return new Worker(`
    const { workerData: ctl } = require('node:worker_threads');
    const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    nap(20);
    Atomics.notify(ctl, 0);
    nap(${afterMs});
    Atomics.store(ctl, 0, ${DONE});
    Atomics.notify(ctl, 0);
  `, { eval: true, workerData: ctl });
}

describe('waitWhile', () => {
  it('sleeps through a stale notify and returns once the word has changed', async () => {
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const worker = staleThenDone(ctl, 200);
    const t0 = performance.now();
    expect(waitWhile(ctl, 0, BUSY, 10_000)).toBe(true);
    expect(Atomics.load(ctl, 0)).toBe(DONE);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    await worker.terminate();
  });

  it('returns false when the time runs out with the word unchanged', () => {
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const t0 = performance.now();
    expect(waitWhile(ctl, 0, BUSY, 50)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
  });

  it('returns at once when the word already differs', () => {
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(ctl, 0, DONE);
    expect(waitWhile(ctl, 0, BUSY, 0)).toBe(true);
  });
});
