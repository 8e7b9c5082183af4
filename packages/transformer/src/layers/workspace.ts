import { allocF32, persistent, Tensor } from '@stade/tensor';

/**
 * Scratch buffers of a forward pass, owned by one model and reused by every call: each named buffer is one
 * allocation that grows to the largest size asked for and is never freed (a forward pass over T tokens needs
 * the same buffers for every block and every window, so memory stays bounded by design, not by the GC).
 *
 * Rules: a tensor from `get` is valid until the next `get` of the same name; nothing that outlives a call
 * (weights, rope tables, statistics, a block's returned output) may live here; taps see scratch tensors and
 * must not keep them. Every name is its own buffer, so two names never alias (matmul checks this).
 */
export class Workspace {
  private readonly buffers = new Map<string, Float32Array>();

  /** A contiguous tensor of `shape` over the buffer called `name` (contents unspecified). */
  get(name: string, shape: readonly number[]): Tensor {
    let n = 1;
    for (const d of shape) n *= d;
    let buf = this.buffers.get(name);
    if (!buf || buf.length < n) {
      buf = persistent(() => allocF32(n)); // reused by every call: never from the caller's arena
      this.buffers.set(name, buf);
    }
    // an exact-length view at offset 0, as the *Into ops want
    return new Tensor(buf.length === n ? buf : new Float32Array(buf.buffer, 0, n), shape);
  }

  /** Bytes held by the workspace. */
  get bytes(): number {
    let b = 0;
    for (const a of this.buffers.values()) b += a.byteLength;
    return b;
  }

  /** Drops every buffer (the next call allocates again). */
  clear(): void {
    this.buffers.clear();
  }
}
