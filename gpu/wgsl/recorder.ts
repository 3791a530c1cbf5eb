/// <reference types="@webgpu/types" />
/**
 * DispatchRecorder: compute dispatches recorded into one command encoder and submitted together,
 * rather than one submit per dispatch (a submit costs tens of microseconds of driver time on a
 * hardware adapter; a ResNet-50 training step is thousands of dispatches).
 *
 * Each dispatch's parameter block (its binding 0: a uniform block, or a read-only storage block) is
 * a slot of one ring buffer, aligned to the device's offset alignment; the host copy of the ring is
 * written to the device once per batch, just before the batch's submit, so every dispatch of the
 * batch reads its own values. The batch is submitted (`flush`) when the ring or the dispatch cap is
 * full, and by the owner wherever the host must see the queue in order: before a
 * queue.writeBuffer of an operand (it would run before the recorded work), for a readback, and
 * when idle. Buffers freed while work that uses them is recorded are destroyed after the submit.
 */

const USAGE_UNIFORM = 0x0040, USAGE_STORAGE = 0x0080, USAGE_COPY_DST = 0x0008;

/** Bytes of parameter blocks one batch holds. */
const RING_BYTES = 1 << 16;
/** Dispatches per batch at most, so a long stretch without a readback still feeds the device as it goes. */
const MAX_PENDING = 128;

export class DispatchRecorder {
  /** dispatches recorded so far */
  dispatches = 0;
  /** submits so far */
  submits = 0;
  private readonly ring: GPUBuffer;
  private readonly ringHost = new Uint8Array(RING_BYTES);
  private readonly align: number;
  private used = 0;
  private pending = 0;
  private enc: GPUCommandEncoder | null = null;
  private doomed: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice) {
    this.ring = device.createBuffer({ size: RING_BYTES, usage: USAGE_UNIFORM | USAGE_STORAGE | USAGE_COPY_DST });
    this.align = Math.max(device.limits.minUniformBufferOffsetAlignment, device.limits.minStorageBufferOffsetAlignment);
  }

  /** The batch's encoder, for copies and clears that must stay in order with the dispatches. */
  encoder(): GPUCommandEncoder {
    return (this.enc ??= this.device.createCommandEncoder());
  }

  /**
   * Records `pipeline` over a grid of workgroups, its binding 0 the parameter block `head` (the ring
   * serves a uniform block and a read-only storage block alike), then `operands` from binding 1 on.
   */
  dispatch(pipeline: GPUComputePipeline, head: ArrayBufferView, operands: GPUBufferBinding[], grid: [number, number, number]): void {
    const size = Math.ceil(Math.max(16, head.byteLength) / 16) * 16;
    if (size > RING_BYTES) throw new Error(`webgpu: a parameter block of ${head.byteLength} bytes is more than the ring holds (${RING_BYTES})`);
    if (this.used + size > RING_BYTES || this.pending === MAX_PENDING) this.flush();
    const offset = this.used;
    this.ringHost.fill(0, offset, offset + size);
    this.ringHost.set(new Uint8Array(head.buffer, head.byteOffset, head.byteLength), offset);
    this.used = Math.ceil((offset + size) / this.align) * this.align;
    const group = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: this.ring, offset, size } }, ...operands.map((resource, j) => ({ binding: j + 1, resource }))],
    });
    const pass = this.encoder().beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...grid);
    pass.end();
    this.pending++;
    this.dispatches++;
  }

  /** Destroys `b` once the work recorded so far is submitted (at once if none is). */
  destroyAfter(b: GPUBuffer): void {
    if (this.enc) this.doomed.push(b);
    else b.destroy();
  }

  /** Submits what is recorded: the parameter blocks first, then the batch. */
  flush(): void {
    if (!this.enc) return;
    if (this.used > 0) this.device.queue.writeBuffer(this.ring, 0, this.ringHost, 0, this.used);
    this.device.queue.submit([this.enc.finish()]);
    this.submits++;
    this.enc = null;
    this.used = 0;
    this.pending = 0;
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
  }

  destroy(): void {
    this.flush();
    this.ring.destroy();
  }
}
