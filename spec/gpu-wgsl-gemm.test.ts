/**
 * The tiled WGSL GEMM (gpu/wgsl/gemm.ts, issue 12's "WGSL where gpu.js cannot") against
 * core/gemm.ts's contract and against gpu.js's naive GEMM (the reference it replaces), on the webgpu
 * backend: SwiftShader here (the test FAILS, never skips, when no adapter answers, like the other
 * gpu specs), the hardware adapter under MLA_GPU_HARDWARE=1 (gpu/device/run-on-gpu.sh).
 *
 * Bound (float32, stated): for every output,
 *   |got - ref| <= 2 (K + 3) 2^-24 (|alpha| sum_k |op(A)[i,k] op(B)[k,j]| + |beta C[i,j]|)
 * with ref computed by core/gemm.ts in float64 on the same float32 inputs: twice the classical
 * worst case (K + 2) u of recursive float32 summation plus the alpha/beta roundings, whatever the
 * order of summation (the tiles sum k in order; fma only tightens it).
 *
 *   host gemm (the synchronous face training uses, through the sync-gemm worker):
 *     random shapes with fast-check (M, N up to 100, K up to 160; transposes, offsets, leading
 *     dimensions, alpha, beta = 0 with a NaN in C), WGSL and gpu.js each within the bound;
 *     real shapes: the tiny model's conv1 dW (K = 2048), ResNet-50's layer1 1x1, layer2 3x3 dX,
 *     layer3 3x3 (K = 2304), layer4 3x3 (K = 4608) and conv1 dW (K = 8192); a 65 x 129 x 1001
 *     product (neither side a multiple of the tile) in every transpose with strides, alpha, beta,
 *     also against gpu.js; all-ones products at K = 8192 equal to exactly K in every transpose;
 *   device-resident (gpu/backend.ts matmul, bmm, bmmSumBatch on gpu.js's buffers):
 *     batched products with a broadcast operand, transposes and alpha equal the reference and
 *     gpu.js's bmm; a conv forward (gpu.js im2col -> WGSL product -> gpu.js bias) and backward;
 *   split-K (small outputs cut along K, partials reduced; on by default on hardware only), forced on:
 *     the tiny conv1 dW with beta and a transposed 65 x 129 x 1001 within the bound;
 *   limits (a backend whose WGSL binding limit is lowered to 64 KiB and its workgroups per dispatch
 *     axis to 2): operands past the binding are computed in host blocks, within the bound; K past it
 *     is refused, and a device product past it is refused, each naming the kernel and the size;
 *     grids past the workgroup limit are split into several dispatches (counted), equal to the
 *     reference. (A real split needs > 65,535 workgroups on one axis: minutes on SwiftShader.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gemm } from '../core/gemm.ts';
import { createGpuBackend, type GpuBackend } from '../gpu/backend.ts';
import { WgslGemm } from '../gpu/wgsl/gemm.ts';
import { readBuffer, uploadBuffer } from './webgpu-buffers.ts';
import { bmmReference, conv2dBackwardReference, conv2dReference, expectClose, outSize, randoms, type Geo } from './gpu-reference.ts';

const HARDWARE = process.env.MLA_GPU_HARDWARE === '1';
const software = HARDWARE ? 'never' : 'always';
const U = 2 ** -24;

interface Case {
  tA: boolean; tB: boolean; M: number; N: number; K: number; alpha: number; beta: number;
  lda?: number; ldb?: number; ldc?: number; off?: number; seed?: number;
}

/** Operands for a case, C with a NaN where beta = 0 must overwrite without reading. */
function operands(c: Case): { A: Float32Array; B: Float32Array; C0: Float32Array; lda: number; ldb: number; ldc: number; off: number } {
  const off = c.off ?? 0;
  const lda = c.lda ?? (c.tA ? c.M : c.K);
  const ldb = c.ldb ?? (c.tB ? c.K : c.N);
  const ldc = c.ldc ?? c.N;
  const seed = c.seed ?? c.M * 7 + c.N * 13 + c.K;
  const A = randoms(off + (c.tA ? c.K : c.M) * lda, seed);
  const B = randoms(off + (c.tB ? c.N : c.K) * ldb, seed + 1);
  const C0 = randoms(off + c.M * ldc, seed + 2);
  if (c.beta === 0) C0[off] = NaN;
  return { A, B, C0, lda, ldb, ldc, off };
}

/** core/gemm.ts in float64 and the bound above, over the whole C array (untouched entries: bound 0 slack, equal). */
function reference(c: Case, o: ReturnType<typeof operands>): { want: Float64Array; tol: Float64Array } {
  const { A, B, C0, lda, ldb, ldc, off } = o;
  const want = Float64Array.from(C0);
  gemm(c.tA, c.tB, c.M, c.N, c.K, c.alpha, Float64Array.from(A), off, lda, Float64Array.from(B), off, ldb, c.beta, want, off, ldc);
  const mag = Float64Array.from(C0, (v) => (Number.isNaN(v) ? 0 : Math.abs(v)));
  gemm(c.tA, c.tB, c.M, c.N, c.K, Math.abs(c.alpha), Float64Array.from(A, Math.abs), off, lda, Float64Array.from(B, Math.abs), off, ldb, Math.abs(c.beta), mag, off, ldc);
  const tol = mag.map((m) => 2 * (c.K + 3) * U * m + 1e-30);
  return { want, tol };
}

function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: ArrayLike<number>, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= tol[i];
    if (!ok) throw new Error(`${what}: element ${i} is ${got[i]}, core/gemm.ts ${want[i]} (|diff| ${Math.abs(got[i] - want[i])}, bound ${tol[i]})`);
  }
}

function runHost(be: GpuBackend, c: Case, o: ReturnType<typeof operands>): Float32Array {
  const C = Float32Array.from(o.C0);
  be.gemm(c.tA, c.tB, c.M, c.N, c.K, c.alpha, o.A, o.off, o.lda, o.B, o.off, o.ldb, c.beta, C, o.off, o.ldc);
  return C;
}

const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

describe('tiled WGSL GEMM on webgpu', () => {
  let be: GpuBackend; // gemm: 'wgsl' (the default)
  let ref: GpuBackend; // gemm: 'gpujs', the reference
  beforeAll(async () => {
    [be, ref] = await Promise.all([
      createGpuBackend('webgpu', { software }),
      createGpuBackend('webgpu', { software, gemm: 'gpujs' }),
    ]);
  });
  afterAll(async () => {
    await be?.destroy();
    await ref?.destroy();
  });

  it('is the default GEMM engine of the webgpu backend; gpu.js stays selectable', () => {
    expect(be.gemmEngine).toBe('wgsl');
    expect(ref.gemmEngine).toBe('gpujs');
    if (HARDWARE) expect(be.install!.software).toBe(false);
  });

  it('host gemm on random shapes equals core/gemm.ts within the bound, as gpu.js does (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          M: fc.integer({ min: 1, max: 100 }), N: fc.integer({ min: 1, max: 100 }), K: fc.integer({ min: 1, max: 160 }),
          tA: fc.boolean(), tB: fc.boolean(), pad: fc.integer({ min: 0, max: 3 }), off: fc.integer({ min: 0, max: 5 }),
          alpha: fc.constantFrom(1, -0.5, 2), beta: fc.constantFrom(0, 1, 0.25), seed: fc.integer({ min: 1, max: 2 ** 30 }),
        }),
        async ({ M, N, K, tA, tB, pad, off, alpha, beta, seed }) => {
          const c: Case = { M, N, K, tA, tB, alpha, beta, off, seed, lda: (tA ? M : K) + pad, ldb: (tB ? K : N) + pad, ldc: N + pad };
          const o = operands(c);
          const { want, tol } = reference(c, o);
          const what = `${M}x${N}x${K} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`;
          expectWithin(runHost(be, c, o), want, tol, `wgsl ${what}`);
          expectWithin(runHost(ref, c, o), want, tol, `gpu.js ${what}`);
        },
      ),
      { numRuns: 6 },
    );
    expect(be.ranEngines.get('gemm')).toBe('wgsl');
    expect(ref.ranEngines.get('gemm')).toBe('gpujs');
  });

  // [name, transA, transB, M, N, K, gpu.js too (the cheaper ones: its naive kernel is slow on SwiftShader)]
  const REAL: [string, boolean, boolean, number, number, number, boolean][] = [
    ['tiny conv1 dW (128x64)', false, true, 8, 147, 2048, true],
    ['ResNet-50 layer1 1x1 64->256 forward', false, false, 256, 2048, 64, false],
    ['ResNet-50 layer2 3x3 dX (W^T x dy)', true, false, 1152, 512, 128, false],
    ['ResNet-50 layer3 3x3 forward', false, false, 256, 128, 2304, false],
    ['ResNet-50 layer4 3x3 forward, 32 of 512 rows', false, false, 32, 128, 4608, false],
    ['ResNet-50 conv1 dW (256x128)', false, true, 64, 147, 8192, false],
  ];
  it.each(REAL)('host gemm at %s equals core/gemm.ts within the bound', (name, tA, tB, M, N, K, alsoGpuJs) => {
    const c: Case = { tA, tB, M, N, K, alpha: 1, beta: 0 };
    const o = operands(c);
    const { want, tol } = reference(c, o);
    expectWithin(runHost(be, c, o), want, tol, `wgsl ${name}`);
    if (alsoGpuJs) expectWithin(runHost(ref, c, o), want, tol, `gpu.js ${name}`);
  });

  it.each(TRANSPOSES)('65 x 129 x 1001 with strides, alpha, beta (transA=%s, transB=%s) equals core/gemm.ts and gpu.js', (tA, tB) => {
    const [M, N, K] = [65, 129, 1001];
    const c: Case = { tA, tB, M, N, K, alpha: -0.5, beta: 0.25, off: 3, lda: (tA ? M : K) + 2, ldb: (tB ? K : N) + 1, ldc: N + 5 };
    const o = operands(c);
    const { want, tol } = reference(c, o);
    const got = runHost(be, c, o);
    expectWithin(got, want, tol, 'wgsl');
    const gj = runHost(ref, c, o);
    expectWithin(gj, want, tol, 'gpu.js');
    // and so the two GPU GEMMs agree within twice the bound
    expectWithin(got, gj, tol.map((t) => 2 * t), 'wgsl vs gpu.js');
  });

  it('all-ones products at K = 8192 give exactly K in every transpose (no loop cap)', () => {
    const [M, N, K] = [3, 5, 8192];
    const A = new Float32Array(M * K).fill(1);
    const B = new Float32Array(K * N).fill(1);
    for (const [tA, tB] of TRANSPOSES) {
      const C = new Float32Array(M * N);
      be.gemm(tA, tB, M, N, K, 1, A, 0, tA ? M : K, B, 0, tB ? K : N, 0, C, 0, N);
      expect(Array.from(C), `transA=${tA} transB=${tB}`).toEqual(new Array(M * N).fill(K));
    }
  });

  it('device bmm and bmmSumBatch (broadcast A, transposes, alpha) equal the reference and gpu.js', async () => {
    const [batch, M, N, K] = [3, 37, 70, 129];
    for (const [tA, tB] of TRANSPOSES) {
      for (const sA of tA === tB ? [0] : [M * K]) {
        const A = randoms(sA === 0 ? M * K : batch * M * K, 11), B = randoms(batch * K * N, 12);
        const opts = { transA: tA, transB: tB, strideA: sA, alpha: 0.5 };
        const want = bmmReference(A, B, batch, M, N, K, sA, K * N, tA, tB, 0.5);
        const wantSum = new Float64Array(M * N);
        for (let b = 0; b < batch; b++) for (let i = 0; i < M * N; i++) wantSum[i] += want[b * M * N + i];
        const what = `tA=${tA} tB=${tB} strideA=${sA}`;
        for (const g of [be, ref]) {
          const [dA, dB] = [await g.upload(A), await g.upload(B)];
          const out = await g.bmm(dA, dB, batch, M, N, K, opts);
          expectClose(await g.read(out), want, K, `bmm (${g.gemmEngine}) ${what}`);
          const sum = await g.bmmSumBatch(dA, dB, batch, M, N, K, opts);
          expectClose(await g.read(sum), wantSum, batch * K, `bmmSumBatch (${g.gemmEngine}) ${what}`);
          const one = await g.matmul(dA, dB, M, N, K, { transA: tA, transB: tB });
          expectClose(await g.read(one), bmmReference(A, B, 1, M, N, K, 0, 0, tA, tB, 1), K, `matmul (${g.gemmEngine}) ${what}`);
          g.free(dA, dB, out, sum, one);
        }
      }
    }
    for (const k of ['bmm', 'bmmSumBatch']) {
      expect(be.ranEngines.get(k), k).toBe('wgsl');
      expect(be.ranModes.get(k), k).toBe('webgpu');
      expect(ref.ranEngines.get(k), k).toBe('gpujs');
    }
  });

  it('device conv2d forward (gpu.js im2col -> WGSL -> gpu.js bias) and backward at the tiny conv1, batch 2', async () => {
    const g: Geo = { B: 2, C: 3, H: 128, W: 64, kh: 7, kw: 7, sh: 2, sw: 2, ph: 3, pw: 3 };
    const Cout = 8;
    const { Ho, Wo } = outSize(g);
    const R = g.C * g.kh * g.kw, P = Ho * Wo;
    const x = randoms(g.B * g.C * g.H * g.W, 21), w = randoms(Cout * R, 22), bias = randoms(Cout, 23), dy = randoms(g.B * Cout * P, 24);
    const [dx0, dw0, db0, ddy] = [await be.upload(x), await be.upload(w), await be.upload(bias), await be.upload(dy)];
    const fwd = await be.conv2dForward(dx0, dw0, db0, Cout, g);
    expectClose(await be.read(fwd.y), conv2dReference(x, w, bias, Cout, g), R, 'conv2d y');
    const bwd = await be.conv2dBackward(ddy, dw0, fwd.cols, Cout, g);
    const r = conv2dBackwardReference(x, w, dy, Cout, g);
    expectClose(await be.read(bwd.dw), r.dw, g.B * P, 'conv2d dW');
    expectClose(await be.read(bwd.dx), r.dx, Cout * g.kh * g.kw, 'conv2d dX');
    expectClose(await be.read(bwd.db), r.db, g.B * P, 'conv2d db');
    for (const k of ['im2col', 'addChannelBias', 'col2im', 'sumChannels', 'bmm', 'bmmSumBatch']) expect(be.ranModes.get(k), k).toBe('webgpu');
    be.free(dx0, dw0, db0, ddy, fwd.y, fwd.cols, bwd.dx, bwd.dw, bwd.db);
  });

  it('split-K (forced on: off by default on a software adapter) equals core/gemm.ts within the bound', async () => {
    const w = await WgslGemm.create({ splitKTarget: 128 });
    // tiny conv1 dW with beta (3 tiles, 128 slabs: 16 partials), 65 x 129 x 1001 transposed with alpha, beta
    const cases: Case[] = [
      { tA: false, tB: true, M: 8, N: 147, K: 2048, alpha: 1, beta: 1 },
      { tA: true, tB: true, M: 65, N: 129, K: 1001, alpha: -0.5, beta: 0.25 },
    ];
    for (const c of cases) {
      const o = operands(c);
      const { want, tol } = reference(c, o);
      const before = w.dispatches;
      const got = await w.gemm({
        A: o.A, B: o.B, Cin: o.C0, M: c.M, N: c.N, K: c.K, lda: o.lda, ldb: o.ldb,
        transA: c.tA ? 1 : 0, transB: c.tB ? 1 : 0, alpha: c.alpha, beta: c.beta,
      });
      expect(w.dispatches - before, 'a split product: the partials, then the reduction').toBe(2);
      expectWithin(got, want, tol, `split-K ${c.M}x${c.N}x${c.K}`);
    }
    w.destroy();
  });

  it('split in place (forced on): along K into C where it lies (cOff, ldc) and at ClusterNCE\'s backward, and along the summed batch of the tiny conv1\'s dW, within the bound', async () => {
    const w = await WgslGemm.create({ splitKTarget: 128 });
    const dev = w.device;
    const upload = (a: Float32Array) => uploadBuffer(dev, a);
    const download = (b: GPUBuffer, n: number) => readBuffer(dev, b, n);
    // C updated in place: (a) a 20 x 30 block of a 40-wide C from offset 5, K = 1024 (64 slabs: 8
    // partials); (a') ClusterNCE's backward at its real shape, ∂L/∂f [64, 2048] += P [64, 700] · M [700, 2048]
    const inPlace: Case[] = [
      { tA: true, tB: false, M: 20, N: 30, K: 1024, alpha: 0.5, beta: 0.75, ldc: 40, off: 5 },
      { tA: false, tB: false, M: 64, N: 2048, K: 700, alpha: 20, beta: 1 },
    ];
    let before = 0;
    for (const c of inPlace) {
      const o = operands(c);
      const { want, tol } = reference(c, o);
      const [A, B, C] = [o.A, o.B, o.C0].map(upload);
      before = w.dispatches;
      w.gemmInPlace({ transA: c.tA, transB: c.tB, M: c.M, N: c.N, K: c.K, alpha: c.alpha, A, aOff: o.off, lda: o.lda, B, bOff: o.off, ldb: o.ldb,
        beta: c.beta, C, cOff: o.off, ldc: o.ldc });
      expect(w.dispatches - before, 'the partials, then the reduction').toBe(2);
      expectWithin(await download(C, o.C0.length), want, tol, `in place, split along K, ${c.M}x${c.N}x${c.K}`);
    }
    // (b) a conv dW at the tiny model's conv1 (8 x 3·7·7, 64 x 32 outputs of a 128 x 64 image, K = 2048
    // per image): dw [O, CK] += Σ_n dy_n [O, P] · cols_nᵀ over 8 images (the batch split in 8 partials)
    const [O, CK, P, N] = [8, 147, 2048, 8];
    const dy = randoms(N * O * P, 1), cols = randoms(N * CK * P, 2), dw0 = randoms(O * CK, 3);
    const wantDw = Float64Array.from(dw0), mag = Float64Array.from(dw0, Math.abs);
    for (let i = 0; i < N; i++) {
      gemm(false, true, O, CK, P, 1, Float64Array.from(dy), i * O * P, P, Float64Array.from(cols), i * CK * P, P, 1, wantDw, 0, CK);
      gemm(false, true, O, CK, P, 1, Float64Array.from(dy, Math.abs), i * O * P, P, Float64Array.from(cols, Math.abs), i * CK * P, P, 1, mag, 0, CK);
    }
    const [dyB, colsB, dwB] = [dy, cols, dw0].map(upload);
    before = w.dispatches;
    w.gemmInPlace({ transA: false, transB: true, M: O, N: CK, K: P, alpha: 1, A: dyB, aOff: 0, lda: P, B: colsB, bOff: 0, ldb: P,
      beta: 1, C: dwB, cOff: 0, ldc: CK, batch: N, strideA: O * P, strideB: CK * P, sumBatch: true });
    expect(w.dispatches - before, 'the partials, then the reduction').toBe(2);
    expectWithin(await download(dwB, O * CK), wantDw, mag.map((m) => 2 * (N * P + 3) * U * m + 1e-30), 'conv dW, split along the batch');
    w.destroy();
  });

  it("binds gpu.js's device with its whole maxStorageBufferBindingSize", async () => {
    const w = await WgslGemm.create();
    expect(w.maxBindingBytes).toBe(Math.min(w.device.limits.maxStorageBufferBindingSize, w.device.limits.maxBufferSize));
    expect(w.maxElements).toBe(Math.min(Math.floor(w.maxBindingBytes / 4), 2 ** 32 - 1));
    expect(w.splitKTarget).toBe(be.install!.software ? 0 : 128);
    expect(() => w.checkOperand('wgsl-gemm', 'A', w.maxElements + 1)).toThrow(
      new RegExp(`^gpu wgsl-gemm: A of ${w.maxElements + 1} elements .* is more than one storage binding addresses on this device`),
    );
    w.destroy();
  });
});

describe('tiled WGSL GEMM past its limits (binding lowered to 64 KiB = 16384 elements, 2 workgroups per axis)', () => {
  let be: GpuBackend;
  beforeAll(async () => {
    be = await createGpuBackend('webgpu', { software, maxBindingBytes: 65536, maxWorkgroupsPerDimension: 2 });
  });
  afterAll(async () => {
    await be?.destroy();
  });

  it('a host product whose operands and output pass the limit is computed in blocks, within the bound', () => {
    const c: Case = { tA: true, tB: false, M: 70, N: 300, K: 400, alpha: 2, beta: 1, ldc: 301 }; // A 28,000, B 120,000, C 21,070
    const o = operands(c);
    const { want, tol } = reference(c, o);
    expectWithin(runHost(be, c, o), want, tol, 'blocked wgsl');
  });

  it('grids past the workgroups-per-axis limit are split into several dispatches, equal to the reference', async () => {
    // 64 x 64 tiles: N = 150 is 3 workgroups along x (2 dispatches), batch 5 along z (3 dispatches)
    const [batch, M, N, K] = [5, 20, 150, 7];
    const A = randoms(batch * M * K, 31), B = randoms(batch * K * N, 32);
    const want = bmmReference(A, B, batch, M, N, K, M * K, K * N, false, true, 1);
    const [dA, dB] = [await be.upload(A), await be.upload(B)];
    const before = be.wgslDispatches;
    const out = await be.bmm(dA, dB, batch, M, N, K, { transB: true });
    expect(be.wgslDispatches - before, 'dispatches').toBe(6);
    expectClose(await be.read(out), want, K, 'split bmm');
    const sum = await be.bmmSumBatch(dA, dB, batch, M, N, K, { transB: true });
    expect(be.wgslDispatches - before, 'dispatches').toBe(8);
    const wantSum = new Float64Array(M * N);
    for (let b = 0; b < batch; b++) for (let i = 0; i < M * N; i++) wantSum[i] += want[b * M * N + i];
    expectClose(await be.read(sum), wantSum, batch * K, 'split bmmSumBatch');
    be.free(dA, dB, out, sum);
  });

  it('a host product with K past the limit is refused, naming the size', () => {
    const K = 20000;
    const A = new Float32Array(K), B = new Float32Array(K), C = new Float32Array(1);
    expect(() => be.gemm(false, false, 1, 1, K, 1, A, 0, K, B, 0, 1, 0, C, 0, 1)).toThrow(
      /^gpu gemm: K = 20000 is more than 16384 float32 elements, what one storage binding of the WGSL GEMM addresses \(maxStorageBufferBindingSize 65536 bytes\)/,
    );
  });

  it('a device product past the limit is refused before it runs, naming the kernel and the size', async () => {
    const dA = await be.upload(randoms(10, 1));
    const dB = await be.upload(randoms(20000, 2));
    await expect(be.matmul(dA, dB, 1, 2000, 10)).rejects.toThrow(
      /^gpu bmm: B of 20000 elements \(80000 bytes\) is more than one storage binding addresses on this device \(16384 float32 elements; maxStorageBufferBindingSize 65536 bytes\); refused before running/,
    );
    await expect(be.bmmSumBatch(dA, dB, 1, 1, 2000, 10)).rejects.toThrow(/^gpu bmmSumBatch: B of 20000 elements/);
    be.free(dA, dB);
  });
});
