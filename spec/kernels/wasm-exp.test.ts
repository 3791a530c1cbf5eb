/**
 * The wasm exponential (core/wasm/assembly/exp.ts: fdlibm's exp as lane selects, used by the
 * softmax and the sigmoid) equals V8's Math.exp bit for bit, which is what makes those wasm kernels
 * the cpu kernels bit for bit: on random t over the whole float64 range of e^t and on runs of
 * neighbouring doubles at each of fdlibm's branch points (|t| = 0.5 ln 2, 1.5 ln 2, 2^-28, 1, the
 * exponent limits k = −1021 and k = 1024, the underflow and overflow thresholds), ±0, ±∞ and NaN.
 */
import { describe, expect, it } from 'vitest';
import { registerWasmBackend } from '../../core/wasm/backend.ts';
import { wasmCall } from '../../core/wasm/kernels.ts';
import { Rng } from '../../core/random.ts';

const N = 1 << 16;

/** The branch points, as |t|. */
const EDGES = [0.3465735912322998, 1.0397205352783203, 3.725290298461914e-9, 1, 708.3964185322641, 709.436139303104, 709.782712893384, 745.1332191019411];

/** The n doubles either side of v (by their bits). */
function neighbours(v: number, n: number): number[] {
  const f = new Float64Array(1), b = new BigInt64Array(f.buffer);
  f[0] = v;
  const at = b[0];
  return Array.from({ length: 2 * n + 1 }, (_, i) => { b[0] = at + BigInt(i - n); return f[0]; });
}

describe('the wasm exponential', () => {
  it('equals Math.exp bit for bit', () => {
    expect(registerWasmBackend()).toBeNull();
    const rng = new Rng(745);
    const ts: number[] = [0, -0, Number.NaN, -Infinity, Infinity, -Number.MIN_VALUE, Number.MIN_VALUE, -1e-300];
    for (const e of EDGES) ts.push(...neighbours(-e, 200), ...neighbours(e, 200));
    while (ts.length < N) {
      const u = rng.uniform(0, 1);
      const sign = ts.length % 4 < 2 ? -1 : 1;
      ts.push(sign * (ts.length % 2 ? 800 * u : Math.exp(60 * u - 50)));
    }
    const c = wasmCall('expF64')!;
    const tp = c.arena.take(2 * N), op = c.arena.take(2 * N);
    new Float64Array(c.w.memory.buffer as ArrayBuffer, tp, N).set(ts);
    c.w.expF64(tp, op, N);
    const got = new Float64Array(c.w.memory.buffer as ArrayBuffer, op, N);
    const bad = ts.map((t, i) => [t, got[i], Math.exp(t)]).filter(([, g, w]) => !Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)));
    expect(bad.slice(0, 5), `${bad.length} of ${N} differ: [t, wasm, Math.exp]`).toEqual([]);
  });
});
