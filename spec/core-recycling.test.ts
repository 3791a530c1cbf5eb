/**
 * Storage recycling (core/tensor.ts): what a scope allocated is reused by the next one, zeroed by
 * `alloc` and as left by `allocUnzeroed`; poisoned mode never reuses and hands out NaN.
 * spec/train-e2e.test.ts checks the training loop itself under poisoned recycling.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alloc, allocUnzeroed, recycling, setRecycling } from '../core/tensor.ts';

afterEach(() => setRecycling('on'));

describe('recycling(fn)', () => {
  it('hands the last scope\'s buffers to the next one: alloc zeroed, allocUnzeroed as left', () => {
    const first = recycling(() => { const a = alloc('float32', 5000); a.fill(7); return a; });
    const again = recycling(() => alloc('float32', 5000));
    expect(again).toBe(first);
    expect(again.every((v) => v === 0)).toBe(true);
    again.fill(3);
    const unzeroed = recycling(() => allocUnzeroed('float32', 5000));
    expect(unzeroed).toBe(first);
    expect(unzeroed[0]).toBe(3);
  });

  it('reuses by dtype and length only, never a small buffer, and never one still handed out in the same scope', () => {
    const [big, small] = recycling(() => [alloc('float32', 5000), alloc('float32', 10)]);
    recycling(() => {
      expect(alloc('float64', 5000)).not.toBe(big);
      expect(alloc('float32', 5001)).not.toBe(big);
      expect(alloc('float32', 10)).not.toBe(small);
      const a = alloc('float32', 5000);
      const b = alloc('float32', 5000);
      expect(a).toBe(big);
      expect(b).not.toBe(a);
    });
  });

  it('takes nothing back from a scope that throws, and nests into the outer scope', () => {
    let kept: Float32Array | Float64Array | null = null;
    expect(() => recycling(() => { kept = alloc('float32', 5000); throw new Error('boom'); })).toThrow('boom');
    expect(recycling(() => alloc('float32', 5000))).not.toBe(kept);
    const [inner, second] = recycling(() => [recycling(() => alloc('float32', 6000)), alloc('float32', 6000)]);
    expect(second).not.toBe(inner); // the inner scope joined the outer one: nothing came back at its end
    const next = recycling(() => [alloc('float32', 6000), alloc('float32', 6000)]);
    expect(next).toContain(inner);
    expect(next).toContain(second);
  });

  it("'off' never reuses; 'poison' fills taken-back buffers and unzeroed outputs with NaN", () => {
    setRecycling('off');
    const a = recycling(() => alloc('float32', 5000));
    expect(recycling(() => alloc('float32', 5000))).not.toBe(a);
    setRecycling('poison');
    const p = recycling(() => { const u = allocUnzeroed('float32', 5000); expect(Number.isNaN(u[4999])).toBe(true); return alloc('float32', 5000); });
    expect(p.every((v) => Number.isNaN(v))).toBe(true);
    expect(recycling(() => alloc('float32', 5000))).not.toBe(p);
  });
});
