/// <reference types="@webgpu/types" />
/** Moving float32 values into and out of a WebGPU buffer, for the specs that drive a device directly. */

/** A storage buffer holding `values` (also a copy source and destination). */
export function uploadBuffer(device: GPUDevice, values: Float32Array): GPUBuffer {
  const b = device.createBuffer({ size: 4 * values.length, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(b, 0, values);
  return b;
}

/** The first n values of `b`, after everything submitted before. */
export async function readBuffer(device: GPUDevice, b: GPUBuffer, n: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: 4 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, staging, 0, 4 * n);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}
