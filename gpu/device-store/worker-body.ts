/**
 * The WebGPU side of the device store (see store.ts): owns this thread's GPUDevice and every device
 * buffer, by id, and runs the commands of protocol.ts one after another, in the order they were
 * posted. Dispatches, clears and copies are recorded into one batch (gpu/wgsl/recorder.ts), submitted
 * when the worker has no command left to run, when the batch is full, before an upload (which
 * queue.writeBuffer would put ahead of the recorded work) and for a download. A download copies the
 * buffer to a mappable one, waits for the mapping, writes the values into the shared data buffer and
 * wakes the main thread; every other command returns at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { installWebGpu, type SoftwareAdapterPolicy } from '../webgpu-setup.ts';
import { DONE, ERR_LENGTH, FAILED, STATE, type Command, type DeviceKernelName } from './protocol.ts';
import { ADAM, WORKGROUP, adamWords, elementwiseShader, writes } from './elementwise-wgsl.ts';
import { WgslGemm } from '../wgsl/gemm.ts';
import { DispatchRecorder } from '../wgsl/recorder.ts';
import { convShader, geometryWords, type ConvShaderName } from './conv-wgsl.ts';
import { BN_DBETA, BN_DGAMMA, BN_DX, PER_CHANNEL_GROUP, batchNormShader, bnWords, type BatchNormShaderName } from './batchnorm-wgsl.ts';
import { PER_ROW, rowShader, rowWords, type RowShaderName } from './rows-wgsl.ts';
import { BROADCAST_BACKWARD, BROADCAST_FORWARD, nestWords } from './broadcast-wgsl.ts';
import { MAX_POOL, MAX_POOL_BACKWARD, poolWords } from './pool-wgsl.ts';
import type { BinaryOp, LoopNest } from '../../core/kernels/broadcast.ts';
import { isDirect, type ConvGeometry } from '../../core/kernels/conv.ts';

// WebGPU flag values (the spec's; numbers, so nothing depends on installed globals)
const USAGE_MAP_READ = 0x0001, USAGE_COPY_SRC = 0x0004, USAGE_COPY_DST = 0x0008, USAGE_STORAGE = 0x0080;
const MAP_READ = 0x0001;

const { ctl, err, software } = workerData as { ctl: SharedArrayBuffer; err: SharedArrayBuffer; software: SoftwareAdapterPolicy };
const ctl32 = new Int32Array(ctl);
const errBytes = new Uint8Array(err);
let data: Float32Array<ArrayBufferLike> = new Float32Array(0);

/** Keeps the first failure for the main thread (later ones follow from it). */
function fail(message: string): void {
  if (Atomics.load(ctl32, FAILED)) return;
  const bytes = new TextEncoder().encode(message).subarray(0, errBytes.length);
  errBytes.set(bytes);
  Atomics.store(ctl32, ERR_LENGTH, bytes.length);
  Atomics.store(ctl32, FAILED, 1);
}

function wake(): void {
  Atomics.store(ctl32, STATE, DONE);
  Atomics.notify(ctl32, STATE);
}

try {
  const install = await installWebGpu({ software });
  const adapter = (await (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu.requestAdapter())!;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  device.addEventListener('uncapturederror', (e) => fail(`webgpu: ${(e as GPUUncapturedErrorEvent).error.message}`));
  const maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
  const recorder = new DispatchRecorder(device);
  const gemm = WgslGemm.forDevice(adapter, device, recorder);
  const buffers = new Map<number, GPUBuffer>();
  /** values per buffer (a GPUBuffer's size is rounded up to 4 bytes at least) */
  const sizes = new Map<number, number>();

  const bufferOf = (id: number): GPUBuffer => {
    const b = buffers.get(id);
    if (!b) throw new Error(`webgpu: device buffer ${id} does not exist (freed, or never allocated)`);
    return b;
  };

  const pipelines = new Map<string, GPUComputePipeline>();

  /**
   * One compute pass, recorded: the shader `code` (compiled once per key) over a grid of `groups`
   * workgroups (laid out gx wide, gx ≤ the device's limit), its binding 0 the `head` words (a
   * uniform block, or a read-only storage block), then `operands` in order.
   */
  function dispatch(key: string, code: () => string, groups: number, head: (gx: number) => ArrayBufferView<ArrayBuffer>,
    operands: GPUBuffer[]): void {
    if (groups === 0) return;
    let p = pipelines.get(key);
    if (!p) {
      const module = device.createShaderModule({ code: code(), label: key });
      p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      pipelines.set(key, p);
    }
    const gx = Math.min(groups, maxGroups), gy = Math.ceil(groups / gx);
    if (gy > maxGroups) throw new Error(`webgpu ${key}: ${groups} workgroups are more than one dispatch holds (${maxGroups}²)`);
    recorder.dispatch(p, head(gx), operands.map((buffer) => ({ buffer })), [gx, gy, 1]);
  }

  function run(kernel: DeviceKernelName, ids: number[], n: number): void {
    const written = writes(kernel);
    ids.forEach((id, j) => {
      if (written[j] && ids.some((other, k) => k !== j && other === id)) {
        throw new Error(`webgpu ${kernel}: operand ${j} is written and also read as operand ${ids.indexOf(id)} (one buffer may not be both)`);
      }
    });
    dispatch(kernel, () => elementwiseShader(kernel), Math.ceil(n / WORKGROUP), (gx) => Uint32Array.of(n, gx), ids.map(bufferOf));
  }

  /** One conv data-movement shader (conv-wgsl.ts) over `total` invocations. */
  function convPass(name: ConvShaderName, g: ConvGeometry, total: number, operands: GPUBuffer[], n0 = 0): void {
    dispatch(name, () => convShader(name), Math.ceil(total / WORKGROUP), (gx) => geometryWords(g, total, gx, n0), operands);
  }

  /** Images per chunk so that a chunk's im2col columns fit one binding. */
  const imagesPerChunk = (g: ConvGeometry) => Math.max(1, Math.floor(gemm.maxElements / (g.C * g.kh * g.kw * g.Ho * g.Wo)));

  /** Calls fn(n0, count, cols, colsOff) per chunk of images: cols is x itself for a direct 1x1 conv, else their im2col. */
  function withCols(g: ConvGeometry, x: GPUBuffer, fn: (n0: number, count: number, cols: GPUBuffer, colsOff: number) => void): void {
    const CKP = g.C * g.kh * g.kw * g.Ho * g.Wo;
    if (isDirect(g)) return fn(0, g.N, x, 0);
    const per = Math.min(g.N, imagesPerChunk(g));
    const cols = device.createBuffer({ size: 4 * per * CKP, usage: USAGE_STORAGE });
    for (let n0 = 0; n0 < g.N; n0 += per) {
      const count = Math.min(per, g.N - n0);
      convPass('im2col', g, count * CKP, [x, cols], n0);
      fn(n0, count, cols, 0);
    }
    recorder.destroyAfter(cols);
  }

  function conv2d(g: ConvGeometry, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer | null, y: GPUBuffer): void {
    const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
    if (b) convPass('channelFill', g, g.N * g.O * P, [b, y]);
    withCols(g, x, (n0, count, cols, colsOff) => gemm.gemmInPlace({
      transA: false, transB: false, M: g.O, N: P, K: CK, alpha: 1, A: w, aOff: 0, lda: CK,
      B: cols, bOff: colsOff + (isDirect(g) ? n0 * CK * P : 0), ldb: P, beta: b ? 1 : 0, C: y, cOff: n0 * g.O * P, ldc: P,
      batch: count, strideA: 0, strideB: CK * P, strideC: g.O * P,
    }));
  }

  function conv2dBackpropFilter(g: ConvGeometry, x: GPUBuffer, dy: GPUBuffer, dw: GPUBuffer): void {
    const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
    withCols(g, x, (n0, count, cols, colsOff) => gemm.gemmInPlace({
      transA: false, transB: true, M: g.O, N: CK, K: P, alpha: 1, A: dy, aOff: n0 * g.O * P, lda: P,
      B: cols, bOff: colsOff + (isDirect(g) ? n0 * CK * P : 0), ldb: P, beta: 1, C: dw, cOff: 0, ldc: CK,
      batch: count, strideA: g.O * P, strideB: CK * P, sumBatch: true,
    }));
  }

  function conv2dBackpropInput(g: ConvGeometry, w: GPUBuffer, dy: GPUBuffer, dx: GPUBuffer): void {
    const P = g.Ho * g.Wo, CK = g.C * g.kh * g.kw;
    if (isDirect(g)) {
      gemm.gemmInPlace({
        transA: true, transB: false, M: g.C, N: P, K: g.O, alpha: 1, A: w, aOff: 0, lda: CK, B: dy, bOff: 0, ldb: P,
        beta: 1, C: dx, cOff: 0, ldc: P, batch: g.N, strideA: 0, strideB: g.O * P, strideC: g.C * P,
      });
      return;
    }
    const per = Math.min(g.N, imagesPerChunk(g));
    const dcols = device.createBuffer({ size: 4 * per * CK * P, usage: USAGE_STORAGE });
    for (let n0 = 0; n0 < g.N; n0 += per) {
      const count = Math.min(per, g.N - n0);
      gemm.gemmInPlace({
        transA: true, transB: false, M: CK, N: P, K: g.O, alpha: 1, A: w, aOff: 0, lda: CK, B: dy, bOff: n0 * g.O * P, ldb: P,
        beta: 0, C: dcols, cOff: 0, ldc: P, batch: count, strideA: 0, strideB: g.O * P, strideC: CK * P,
      });
      convPass('col2imAdd', g, count * g.C * g.H * g.W, [dcols, dx], n0);
    }
    recorder.destroyAfter(dcols);
  }

  /** Stand-ins for the outputs a kernel is not asked for (one each: two writable bindings may not share a buffer). */
  const dummies = [0, 1, 2].map(() => device.createBuffer({ size: 4, usage: USAGE_STORAGE }));

  /**
   * One BatchNorm shader (batchnorm-wgsl.ts): a workgroup per channel, or an invocation per value
   * (`total` of them: N·C·S, or C for the per-channel passes).
   */
  function bnPass(name: BatchNormShaderName, N: number, C: number, S: number, operands: GPUBuffer[],
    o: { training?: boolean; flags?: number; total?: number; momentum?: number; eps?: number } = {}): void {
    const perChannel = PER_CHANNEL_GROUP.has(name);
    const total = o.total ?? N * C * S;
    if (perChannel && C > maxGroups) throw new Error(`webgpu ${name}: ${C} channels are more than one dispatch row holds`);
    dispatch(name, () => batchNormShader(name), perChannel ? C : Math.ceil(total / WORKGROUP),
      (gx) => bnWords(N, C, S, { ...o, gx, total }), operands);
  }

  /** A shader of rows-wgsl.ts: a workgroup per row (softmax) or an invocation per value. */
  function rowPass(name: RowShaderName, operands: GPUBuffer[], n0: number, n1: number, n2: number, total: number, s: number): void {
    const groups = PER_ROW.has(name) ? n0 : Math.ceil(total / WORKGROUP);
    dispatch(name, () => rowShader(name), groups, (gx) => new Uint32Array(rowWords(n0, n1, n2, total, gx, s)), operands);
  }

  /** broadcast-wgsl.ts: forward over y's values (side null) or a gradient over x's values. */
  function broadcast(op: BinaryOp, side: 'a' | 'b' | null, nest: LoopNest, operands: GPUBuffer[], total: number): void {
    dispatch(side ? 'broadcast backward' : 'broadcast forward', () => (side ? BROADCAST_BACKWARD : BROADCAST_FORWARD),
      Math.ceil(total / WORKGROUP), (gx) => nestWords(op, side ?? 'a', nest, total, gx), operands);
  }

  async function download(id: number, n: number): Promise<void> {
    const src = bufferOf(id);
    const staging = device.createBuffer({ size: Math.max(4, 4 * n), usage: USAGE_MAP_READ | USAGE_COPY_DST });
    recorder.encoder().copyBufferToBuffer(src, 0, staging, 0, 4 * n);
    recorder.flush();
    await staging.mapAsync(MAP_READ);
    data.set(new Float32Array(staging.getMappedRange(), 0, n));
    staging.unmap();
    staging.destroy();
  }

  async function handle(c: Command): Promise<void> {
    switch (c.op) {
      case 'alloc':
        buffers.set(c.id, device.createBuffer({ size: Math.max(4, 4 * c.n), usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST }));
        sizes.set(c.id, c.n);
        return;
      case 'free': {
        const b = buffers.get(c.id);
        if (b) recorder.destroyAfter(b);
        buffers.delete(c.id);
        sizes.delete(c.id);
        return;
      }
      case 'upload':
        recorder.flush();
        device.queue.writeBuffer(bufferOf(c.id), 0, c.values.buffer, c.values.byteOffset, c.values.byteLength);
        return;
      case 'clear':
        recorder.encoder().clearBuffer(bufferOf(c.id));
        return;
      case 'run':
        run(c.kernel, c.ids, c.n);
        return;
      case 'gemm': {
        const [A, B, C] = c.ids.map(bufferOf);
        gemm.gemmInPlace({ ...c.shape, A, B, C });
        return;
      }
      case 'conv2d': {
        const [x, w, b, y] = c.ids;
        conv2d(c.g, bufferOf(x), bufferOf(w), b ? bufferOf(b) : null, bufferOf(y));
        return;
      }
      case 'conv2dBackpropFilter':
        conv2dBackpropFilter(c.g, ...(c.ids.map(bufferOf) as [GPUBuffer, GPUBuffer, GPUBuffer]));
        return;
      case 'conv2dBackpropInput':
        conv2dBackpropInput(c.g, ...(c.ids.map(bufferOf) as [GPUBuffer, GPUBuffer, GPUBuffer]));
        return;
      case 'broadcast': {
        // one invocation per value of what is written: y, or the gradient dx
        broadcast(c.binary, c.side, c.nest, c.ids.map(bufferOf), sizes.get(c.ids[c.ids.length - 1])!);
        return;
      }
      case 'maxPool': {
        // one invocation per output (forward) or per value of x (backward, gathered)
        const total = c.backward ? c.g.planes * c.g.H * c.g.W : c.g.planes * c.g.Ho * c.g.Wo;
        dispatch(c.backward ? 'maxPool backward' : 'maxPool', () => (c.backward ? MAX_POOL_BACKWARD : MAX_POOL),
          Math.ceil(total / WORKGROUP), (gx) => poolWords(c.g, total, gx), c.ids.map(bufferOf));
        return;
      }
      case 'row':
        rowPass(c.name, c.ids.map(bufferOf), c.n0, c.n1, c.n2, c.total, c.s);
        return;
      case 'bnStatistics':
        bnPass('bnStatistics', c.N, c.C, c.S, c.ids.map(bufferOf));
        return;
      case 'bnScaleShift': {
        const [gamma, beta, runningMean, runningVar, mean, variance, invStd, scale, shift] = c.ids.map(bufferOf);
        const o = { training: c.training, momentum: c.momentum, eps: c.eps, total: c.C };
        bnPass('bnRunning', c.n, c.C, 1, [runningMean, runningVar, mean, variance], o);
        bnPass('bnScaleShift', c.n, c.C, 1, [gamma, beta, mean, variance, invStd, scale, shift], o);
        return;
      }
      case 'bnNormalize':
        bnPass('bnNormalize', c.N, c.C, c.S, c.ids.map(bufferOf));
        return;
      case 'bnBackward': {
        const outputs = c.ids.slice(5);
        const flags = [BN_DX, BN_DGAMMA, BN_DBETA].reduce((f, bit, j) => (outputs[j] ? f | bit : f), 0);
        bnPass('bnBackward', c.N, c.C, c.S, [...c.ids.slice(0, 5).map(bufferOf), ...outputs.map((id, j) => (id ? bufferOf(id) : dummies[j]))],
          { training: c.training, flags });
        return;
      }
      case 'adam':
        dispatch('adam', () => ADAM, Math.ceil(c.n / WORKGROUP), (gx) => adamWords(c.n, gx, c.step), c.ids.map(bufferOf));
        return;
      case 'biasGradient':
        convPass('biasGradient', { N: c.N, O: c.O, Ho: c.P, Wo: 1 } as ConvGeometry, c.O, c.ids.map(bufferOf));
        return;
      case 'download':
        if (c.data) data = new Float32Array(c.data);
        try {
          if (!Atomics.load(ctl32, FAILED)) await download(c.id, c.n);
        } finally {
          wake();
        }
    }
  }

  // one command at a time, in order: a download's wait for its mapping holds back the commands after it;
  // the batch is submitted once the commands that have arrived are recorded
  let queue = Promise.resolve();
  let idleFlush = false;
  parentPort!.on('message', (c: Command) => {
    queue = queue.then(() => handle(c)).catch((e: Error) => fail(`webgpu ${c.op}: ${e.stack ?? e}`));
    if (idleFlush) return;
    idleFlush = true;
    setImmediate(() => {
      queue = queue.then(() => {
        idleFlush = false;
        recorder.flush();
      }).catch((e: Error) => fail(`webgpu submit: ${e.stack ?? e}`));
    });
  });
  parentPort!.postMessage({ kind: 'ready', install, maxBindingBytes: device.limits.maxStorageBufferBindingSize });
} catch (e) {
  parentPort!.postMessage({ kind: 'failed', message: (e as Error).message });
}
