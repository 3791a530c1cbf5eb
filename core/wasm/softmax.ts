/**
 * The wasm softmax kernels (core/wasm/assembly/softmax.ts) with the cpu kernels' signatures:
 * operands outside the wasm memory copied in, results copied back out. Float64 operands (ClusterNCE
 * on host backends, the equation-level tests) run the cpu kernels (core/kernels/softmax.ts).
 */
import type { HostKernels } from '../backend.ts';
import * as cpu from '../kernels/softmax.ts';
import { allF32, wasmCall } from './kernels.ts';

export const softmax: HostKernels['softmax'] = (rows, n, x, y) => {
  const c = allF32(x, y) ? wasmCall('softmax') : null;
  if (!c) return cpu.softmax(rows, n, x, y);
  const len = rows * n;
  const xp = c.arena.put(x as Float32Array, 0, len);
  const yp = c.arena.out(y as Float32Array, 0, len);
  c.w.softmax(xp, yp, rows, n);
  c.arena.get(yp, 1, len, 0, y as Float32Array, 0);
};

export const softmaxBackward: HostKernels['softmaxBackward'] = (rows, n, y, dy, dx) => {
  const c = allF32(y, dy, dx) ? wasmCall('softmaxBackward') : null;
  if (!c) return cpu.softmaxBackward(rows, n, y, dy, dx);
  const len = rows * n;
  const yp = c.arena.put(y as Float32Array, 0, len);
  const gp = c.arena.put(dy as Float32Array, 0, len);
  const dp = c.arena.put(dx as Float32Array, 0, len);
  c.w.softmaxBackward(yp, gp, dp, rows, n);
  c.arena.get(dp, 1, len, 0, dx as Float32Array, 0);
};
