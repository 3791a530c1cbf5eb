/**
 * The paper's attention modules (nn/attention/): float64 finite-difference gradient checks of PLA,
 * HLA, DLA and an MLA bottleneck; equality with the slow loop references of
 * spec/attention-reference.ts on random shapes; and the invariants the issue names
 * (PLA with a zero conv halves its input, DLA's attention sums to 1 over c_k up to eps, HLA is
 * equivariant to permuting the batch), plus the initialisation rules.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Tensor } from '../core/tensor.ts';
import { noGrad } from '../core/autograd.ts';
import * as F from '../core/ops/index.ts';
import { Rng } from '../core/random.ts';
import { defaultInit, type Module } from '../nn/module.ts';
import { Bottleneck } from '../nn/bottleneck.ts';
import { PLA } from '../nn/attention/pla.ts';
import { HLA } from '../nn/attention/hla.ts';
import { DLA } from '../nn/attention/dla.ts';
import { MLA_DEFAULTS, mlaStages } from '../nn/attention/mla.ts';
import { gradcheck } from './gradcheck.ts';
import { dlaReference, hlaReference, plaReference } from './attention-reference.ts';

function randomInput(shape: number[], seed: number, scale = 1): Tensor {
  const rng = new Rng(seed);
  const t = Tensor.zeros(shape, 'float64');
  for (let i = 0; i < t.size; i++) t.data[i] = scale * rng.normal();
  return t;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 1e-12;
  for (let i = 0; i < b.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

/** Gradient check of a module: the input and every parameter. */
function checkModule(m: Module & { forward(x: Tensor<any>): Tensor<any> }, x: Tensor, tol = 1e-6) {
  const named = m.namedParameters();
  const r = gradcheck((xx) => m.forward(xx), [x, ...named.map(([, t]) => t)], { names: ['x', ...named.map(([n]) => n)], tol, maxPerInput: 12 });
  expect(r.worst).toBeLessThanOrEqual(tol);
  expect(r.checked).toBeGreaterThan(named.length);
}

describe('gradient checks (float64 central differences)', () => {
  it('PLA, C→C and C→1', () => {
    checkModule(new PLA(4, defaultInit(1, 'float64')), randomInput([2, 4, 5, 3], 2));
    checkModule(new PLA(4, defaultInit(3, 'float64'), { channels: '1' }), randomInput([2, 4, 3, 4], 4));
  });

  it('HLA, scale 1/√d and 1', () => {
    checkModule(new HLA(8, 3, 4, defaultInit(5, 'float64'), { heads: 2 }), randomInput([2, 8, 3, 4], 6, 0.5));
    checkModule(new HLA(8, 2, 3, defaultInit(7, 'float64'), { heads: 4, scale: 1 }), randomInput([2, 8, 2, 3], 8, 0.5));
  });

  it('DLA', () => {
    checkModule(new DLA(6, defaultInit(9, 'float64'), { ck: 5 }), randomInput([2, 6, 3, 4], 10));
  });

  it('an MLA bottleneck (PLA → HLA → DLA in place of the 3×3 conv), training-mode BN', () => {
    const ctx = defaultInit(11, 'float64');
    const opts = { ...MLA_DEFAULTS, pla: true, hla: true, dla: true, heads: 2, ck: 3 };
    const block = new Bottleneck(16, 4, 1, ctx, (w, s) => mlaStages(opts, w, s, [3, 2], ctx, 'test block'));
    checkModule(block, randomInput([2, 16, 3, 2], 12), 1e-5);
  });

  it('a PLA → conv2 → DLA bottleneck (HLA off) with stride 2', () => {
    const ctx = defaultInit(13, 'float64');
    const opts = { ...MLA_DEFAULTS, pla: true, dla: true, ck: 3 };
    const block = new Bottleneck(8, 2, 2, ctx, (w, s) => mlaStages(opts, w, s, [2, 2], ctx, 'test block'));
    expect(block.namedParameters().map(([n]) => n).filter((n) => /pla|conv2|dla/.test(n)))
      .toEqual(['pla.conv.weight', 'pla.conv.bias', 'conv2.weight', 'dla.query.weight', 'dla.query.bias', 'dla.k_d.weight', 'dla.v_d.weight']);
    checkModule(block, randomInput([2, 8, 4, 3], 14), 1e-5);
  });
});

describe('modules equal the loop references on random shapes', () => {
  const dims = fc.record({ N: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 4 }), W: fc.integer({ min: 1, max: 4 }), seed: fc.nat(1000) });

  it('HLA', () => {
    fc.assert(fc.property(dims, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), ({ N, H, W, seed }, heads, d, unit) => {
      const C = heads * d;
      const m = new HLA(C, H, W, defaultInit(seed, 'float64'), { heads, scale: unit ? 1 : 'invsqrt' });
      const x = randomInput([N, C, H, W], seed + 1);
      const y = noGrad(() => m.forward(x as Tensor<any>));
      const ref = hlaReference(x.data as Float64Array, [N, C, H, W], {
        wq: m.query.weight.data, bq: m.query.bias!.data, wk: m.key.weight.data, bk: m.key.bias!.data,
        wv: m.value.weight.data, bv: m.value.bias!.data, relH: m.relH.data, relW: m.relW.data,
      } as any, heads, m.scale);
      expect(maxRelDiff(y.data, ref)).toBeLessThan(1e-12);
    }), { numRuns: 25 });
  });

  it('DLA', () => {
    fc.assert(fc.property(dims, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), ({ N, H, W, seed }, C, ck) => {
      const m = new DLA(C, defaultInit(seed, 'float64'), { ck });
      const x = randomInput([N, C, H, W], seed + 1);
      const y = noGrad(() => m.forward(x as Tensor<any>));
      const ref = dlaReference(x.data as Float64Array, [N, C, H, W], m.query.weight.data as Float64Array, m.query.bias!.data as Float64Array,
        m.kD.weight.data as Float64Array, m.vD.weight.data as Float64Array, ck, m.eps);
      expect(maxRelDiff(y.data, ref)).toBeLessThan(1e-12);
    }), { numRuns: 25 });
  });

  it('PLA, C→C and C→1', () => {
    fc.assert(fc.property(dims, fc.integer({ min: 1, max: 5 }), fc.boolean(), ({ N, H, W, seed }, C, one) => {
      const m = new PLA(C, defaultInit(seed, 'float64'), { channels: one ? '1' : 'C' });
      const x = randomInput([N, C, H, W], seed + 1);
      const y = noGrad(() => m.forward(x as Tensor<any>));
      const ref = plaReference(x.data as Float64Array, [N, C, H, W], m.conv.weight.data as Float64Array, m.conv.bias!.data as Float64Array, one ? 1 : C);
      expect(maxRelDiff(y.data, ref)).toBeLessThan(1e-12);
    }), { numRuns: 25 });
  });
});

describe('invariants', () => {
  it('PLA with a zero conv halves its input (σ(0) = 1/2)', () => {
    for (const channels of ['C', '1'] as const) {
      const m = new PLA(3, defaultInit(1, 'float64'), { channels });
      m.conv.weight.data.fill(0);
      m.conv.bias!.data.fill(0);
      const x = randomInput([2, 3, 4, 5], 3);
      const y = noGrad(() => m.forward(x as Tensor<any>));
      for (let i = 0; i < x.size; i++) expect(y.data[i]).toBe(x.data[i] / 2);
    }
  });

  it("DLA's attention sums to 1 over the c_k units at every position, up to eps", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 9 }), fc.nat(1000),
      (N, C, ck, P, seed) => {
        const m = new DLA(C, defaultInit(seed, 'float64'), { ck });
        const x = randomInput([N, C, P, 1], seed + 7, 3);
        const a = noGrad(() => m.attention(x as Tensor<any>));
        expect(a.shape).toEqual([N, ck, P]);
        // T_p = Σ_u softmax_p(k_D q)[u, p], the sum before Norm
        const raw = noGrad(() => F.softmax(F.reshape(m.kD.forward(m.query.forward(x as Tensor<any>)), [N, ck, P])));
        for (let n = 0; n < N; n++)
          for (let p = 0; p < P; p++) {
            let s = 0, T = 0;
            for (let u = 0; u < ck; u++) { s += a.data[(n * ck + u) * P + p]; T += raw.data[(n * ck + u) * P + p]; }
            // Σ_u a/(eps + T) = T/(eps + T) = 1 − eps/(eps + T): 1 up to eps
            expect(s).toBeLessThanOrEqual(1);
            expect(Math.abs(s - T / (m.eps + T))).toBeLessThan(1e-14);
            expect(1 - s).toBeLessThanOrEqual(m.eps / T + 1e-15);
          }
      }), { numRuns: 30 });
  });

  it('HLA is equivariant to permuting the batch', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 4 }), fc.nat(1000), (N, seed) => {
      const [C, H, W] = [8, 3, 2];
      const m = new HLA(C, H, W, defaultInit(seed, 'float64'), { heads: 2 });
      const x = randomInput([N, C, H, W], seed + 1);
      const perm = new Rng(seed).shuffle([...Array(N).keys()]);
      const S = C * H * W;
      const xp = Tensor.zeros([N, C, H, W], 'float64');
      perm.forEach((src, dst) => xp.data.set(x.data.subarray(src * S, (src + 1) * S), dst * S));
      const y = noGrad(() => m.forward(x as Tensor<any>));
      const yp = noGrad(() => m.forward(xp as Tensor<any>));
      perm.forEach((src, dst) => {
        for (let i = 0; i < S; i++) expect(yp.data[dst * S + i]).toBeCloseTo(y.data[src * S + i], 12);
      });
    }), { numRuns: 15 });
  });
});

describe('initialisation and names', () => {
  it('DLA: k_D and v_D start as transposes of each other', () => {
    const m = new DLA(5, defaultInit(2), { ck: 3 });
    for (let u = 0; u < 3; u++) for (let c = 0; c < 5; c++) expect(m.vD.weight.data[c * 3 + u]).toBe(m.kD.weight.data[u * 5 + c]);
    expect(m.kD.bias).toBeNull();
    expect(m.vD.bias).toBeNull();
    expect([...m.stateDict().keys()]).toEqual(['query.weight', 'query.bias', 'k_d.weight', 'v_d.weight']);
  });

  it('HLA: rel_h, rel_w standard normal; q/k/v biased 1×1; no output projection', () => {
    const m = new HLA(64, 16, 8, defaultInit(3), { heads: 4 });
    expect(m.relH.shape).toEqual([4, 16, 16]);
    expect(m.relW.shape).toEqual([4, 16, 8]);
    const v = [...m.relH.data, ...m.relW.data];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
    expect(m.scale).toBeCloseTo(1 / 4, 12);
    expect([...m.stateDict().keys()]).toEqual(['rel_h', 'rel_w', 'query.weight', 'query.bias', 'key.weight', 'key.bias', 'value.weight', 'value.bias']);
  });

  it('HLA refuses a map of another size, naming the sizes', () => {
    const m = new HLA(8, 4, 2, defaultInit(3), { heads: 2 });
    expect(() => m.forward(Tensor.zeros([1, 8, 8, 4]) as Tensor<any>)).toThrow(/HLA.*4x2.*\[1,8,8,4\]/);
  });

  it('PLA conv: PyTorch default bounds (|w| ≤ 1/√(9C), |b| ≤ 1/√(9C))', () => {
    const m = new PLA(16, defaultInit(4));
    const bound = 1 / Math.sqrt(9 * 16);
    for (const v of m.conv.weight.data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    for (const v of m.conv.bias!.data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
  });
});
