/**
 * gpu/wgsl/recorder.ts on SwiftShader (the hardware adapter under MLA_GPU_HARDWARE=1): dispatches
 * recorded into one batch each read their own parameter block, in the uniform and the read-only
 * storage form alike, across the batches that a full ring or the dispatch cap starts; a buffer freed
 * while recorded work uses it lives until the submit; the submits are far fewer than the dispatches.
 */
/// <reference types="@webgpu/types" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installWebGpu } from '../gpu/webgpu-setup.ts';
import { DispatchRecorder } from '../gpu/wgsl/recorder.ts';
import { readBuffer } from './webgpu-buffers.ts';

let device: GPUDevice;
beforeAll(async () => {
  await installWebGpu({ software: process.env.MLA_GPU_HARDWARE === '1' ? 'never' : 'always' });
  const adapter = (await (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu.requestAdapter())!;
  device = await adapter.requestDevice();
});
afterAll(() => device?.destroy());

/** y[slot] = head.value + head.slot, the head a uniform or a read-only storage block. */
const shader = (space: 'uniform' | 'storage, read') => `
struct H { slot: u32, value: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<${space}> h: H;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { y[h.slot] = h.value + f32(h.slot); }`;

describe('DispatchRecorder', () => {
  it('gives each of 5000 recorded dispatches its own parameter block, uniform and storage, over many batches', async () => {
    const n = 5000;
    const pipelines = (['uniform', 'storage, read'] as const).map((space) =>
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader(space) }), entryPoint: 'main' } }));
    const y = device.createBuffer({ size: 4 * n, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const recorder = new DispatchRecorder(device);
    const head = new ArrayBuffer(16);
    for (let i = 0; i < n; i++) {
      new Uint32Array(head)[0] = i;
      new Float32Array(head)[1] = 0.5;
      recorder.dispatch(pipelines[i % 2], new Uint32Array(head), [{ buffer: y }], [1, 1, 1]);
    }
    recorder.flush();
    const got = await readBuffer(device, y, n);
    expect(Array.from(got).findIndex((v, i) => v !== i + 0.5)).toBe(-1);
    expect(recorder.dispatches).toBe(n);
    expect(recorder.submits).toBeGreaterThan(1);
    expect(recorder.submits).toBeLessThan(n / 50);
    recorder.destroy();
  });

  it('destroys a buffer freed while recorded work uses it only after the submit', async () => {
    const recorder = new DispatchRecorder(device);
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader('uniform') }), entryPoint: 'main' } });
    const temp = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const y = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    // slot 0 (its bits are those of 0.0), value 7
    recorder.dispatch(pipeline, Float32Array.of(0, 7, 0, 0), [{ buffer: temp }], [1, 1, 1]);
    recorder.encoder().copyBufferToBuffer(temp, 0, y, 0, 16);
    recorder.destroyAfter(temp);
    device.pushErrorScope('validation');
    recorder.flush();
    const error = await device.popErrorScope();
    expect(error?.message ?? null).toBeNull();
    expect((await readBuffer(device, y, 4))[0]).toBe(7);
    recorder.destroy();
  });
});
