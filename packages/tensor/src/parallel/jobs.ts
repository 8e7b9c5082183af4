/**
 * Jobs through shared memory (Node's pool workers): instead of posting every job's arguments through a MessagePort
 * (a structured clone per call, then a receive on the worker), the caller writes them into a shared record of
 * float64 slots that a polling worker reads at once (protocol.ts has the header words).
 *
 * - Each distinct argument layout (kernel name + keys + kind of each value) is a "shape", and each shared buffer or
 *   shared wasm memory a "buffer"; both get small ids, registered once with every worker by a message
 *   (`Registration`). The record then holds numbers (booleans as 0/1), and for a typed array its buffer id, byte
 *   offset and length; the worker rebuilds the argument object from its own tables.
 * - Calls the record cannot carry (strings, plain-buffer copies, huge buffers, too many slots) post the whole
 *   argument object instead (kind JOB_MSG), as before.
 * - The worker keeps the registered buffers alive, so the registry is bounded: at most MAX_BUFFERS buffers and
 *   MAX_HELD_BYTES bytes outside the resident arena (the arena is kept alive anyway); beyond that the registry is
 *   reset (every worker drops its tables) and starts over. Buffers above MAX_BUFFER_BYTES are never registered.
 */
import { arenaOffset } from '../wasm/arena.js';
import { isSharedWasmMemory } from './args.js';
import type { Kernel } from './types.js';

/** Float64 slots in a job record. */
export const REC_SLOTS = 128;
export const MAX_BUFFERS = 4096;
export const MAX_HELD_BYTES = 256 * 2 ** 20;
export const MAX_BUFFER_BYTES = 64 * 2 ** 20;

type Ctor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;
/** One kind code per typed-array constructor (codes from 16 up); 1 number, 2 boolean, 3 null, 4 undefined, 5 memory. */
const CTORS: Ctor[] = [
  Float32Array,
  Float64Array,
  Int8Array,
  Int16Array,
  Int32Array,
  Uint8Array,
  Uint8ClampedArray,
  Uint16Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
] as unknown as Ctor[];
const K_NUM = 1;
const K_BOOL = 2;
const K_NULL = 3;
const K_UNDEF = 4;
const K_MEM = 5;
const K_VIEW = 16;

function viewKind(v: ArrayBufferView): number {
  const c = v.constructor;
  for (let i = 0; i < CTORS.length; i++) if (CTORS[i] === c) return K_VIEW + i;
  return -1;
}

/** What a worker must learn before it can decode records (posted in order, before the job that needs it). */
export interface Registration {
  /** Drop every buffer and shape registered so far (first). */
  reset?: boolean;
  buffers?: [number, unknown][];
  shapes?: [number, string, string[], number[]][];
}

interface Shape {
  id: number;
  keys: string[];
  kinds: number[];
}

/** The caller's side: ids of shapes and buffers every worker knows, and the registrations not yet posted. */
export class JobEncoder {
  constructor(
    private readonly limits = { buffers: MAX_BUFFERS, heldBytes: MAX_HELD_BYTES, bufferBytes: MAX_BUFFER_BYTES },
  ) {}

  private buffers = new Map<unknown, number>();
  private shapes = new Map<string, Shape[]>();
  private nextBuffer = 1;
  private nextShape = 1;
  private held = 0;
  private resets = 0;
  private pending: Registration | null = null;

  /** Forgets everything (the workers are told by the next registration), e.g. when a new worker starts. */
  reset(): void {
    this.resets++;
    this.buffers.clear();
    this.shapes.clear();
    this.held = 0;
    this.pending = { reset: true };
  }

  /** The registration being built (one per job at most). */
  private registration(): Registration {
    this.pending ??= {};
    this.pending.buffers ??= [];
    this.pending.shapes ??= [];
    return this.pending;
  }

  /** Registrations to post to every worker before the next job (null when none), and clears them. */
  takePending(): Registration | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  /** The id of a buffer, registering it; -1 when it is too large to keep. */
  private bufferId(b: object, bytes: number, arena: boolean): number {
    const known = this.buffers.get(b);
    if (known !== undefined) return known;
    const lim = this.limits;
    if (!arena && bytes > lim.bufferBytes) return -1;
    if (this.buffers.size >= lim.buffers || (!arena && this.held + bytes > lim.heldBytes)) this.reset();
    const id = this.nextBuffer++;
    this.buffers.set(b, id);
    if (!arena) this.held += bytes;
    this.registration().buffers!.push([id, b]);
    return id;
  }

  private shapeId(name: string, keys: string[], kinds: number[]): number {
    let list = this.shapes.get(name);
    if (!list) {
      list = [];
      this.shapes.set(name, list);
    }
    for (const s of list) {
      if (s.keys.length !== keys.length) continue;
      let same = true;
      for (let i = 0; i < keys.length && same; i++) same = s.keys[i] === keys[i] && s.kinds[i] === kinds[i];
      if (same) return s.id;
    }
    const id = this.nextShape++;
    list.push({ id, keys, kinds });
    this.registration().shapes!.push([id, name, keys, kinds]);
    return id;
  }

  /**
   * Writes `args` (already validated by shareArgs, typed arrays on shared memory) into `rec`; returns the shape
   * id, or 0 when the record cannot carry them (the job is then posted whole).
   */
  encode(name: string, args: Record<string, unknown>, rec: Float64Array): number {
    const resets = this.resets;
    const id = this.encodeOnce(name, args, rec);
    // A reset while encoding dropped the ids of the arguments before it: encode again from empty tables.
    return this.resets === resets ? id : this.encodeOnce(name, args, rec);
  }

  private encodeOnce(name: string, args: Record<string, unknown>, rec: Float64Array): number {
    const resets = this.resets;
    const keys = Object.keys(args);
    const kinds: number[] = new Array(keys.length);
    let p = 0;
    for (let i = 0; i < keys.length; i++) {
      const v = args[keys[i]!];
      if (p + 3 > rec.length) return 0;
      if (typeof v === 'number') {
        kinds[i] = K_NUM;
        rec[p++] = v;
      } else if (typeof v === 'boolean') {
        kinds[i] = K_BOOL;
        rec[p++] = v ? 1 : 0;
      } else if (v === null) kinds[i] = K_NULL;
      else if (v === undefined) kinds[i] = K_UNDEF;
      else if (ArrayBuffer.isView(v)) {
        const kind = viewKind(v);
        const b = v.buffer;
        let id = this.buffers.get(b) ?? -1;
        if (id < 0 && b instanceof SharedArrayBuffer) id = this.bufferId(b, b.byteLength, arenaOffset(v) >= 0);
        if (kind < 0 || id < 0) return 0;
        kinds[i] = kind;
        rec[p++] = id;
        rec[p++] = v.byteOffset;
        rec[p++] = (v as unknown as { length: number }).length;
      } else if (isSharedWasmMemory(v)) {
        kinds[i] = K_MEM;
        rec[p++] = this.bufferId(v as object, 0, true);
      } else return 0;
    }
    return this.resets === resets ? this.shapeId(name, keys, kinds) : 0;
  }
}

interface WorkerShape {
  name: string;
  fn: Kernel | undefined;
  keys: string[];
  kinds: number[];
}

/** The worker's side: the registered tables, and records turned back into argument objects. */
export class JobDecoder {
  private buffers = new Map<number, unknown>();
  private shapes = new Map<number, WorkerShape>();

  constructor(private readonly kernels: Record<string, Kernel> | null) {}

  register(r: Registration): void {
    if (r.reset) {
      this.buffers.clear();
      this.shapes.clear();
    }
    for (const [id, b] of r.buffers ?? []) this.buffers.set(id, b);
    for (const [id, name, keys, kinds] of r.shapes ?? []) {
      this.shapes.set(id, { name, fn: this.kernels?.[name], keys, kinds });
    }
  }

  /** The kernel name and argument object of a record of shape `id`. */
  decode(id: number, rec: Float64Array): { name: string; fn: Kernel | undefined; args: Record<string, unknown> } {
    const s = this.shapes.get(id);
    if (!s) throw new Error(`parallelFor: pool worker got a job of unknown shape ${id} (protocol error)`);
    const args: Record<string, unknown> = {};
    let p = 0;
    for (let i = 0; i < s.keys.length; i++) {
      const kind = s.kinds[i]!;
      let v: unknown;
      if (kind === K_NUM) v = rec[p++];
      else if (kind === K_BOOL) v = rec[p++] !== 0;
      else if (kind === K_NULL) v = null;
      else if (kind === K_UNDEF) v = undefined;
      else if (kind === K_MEM) v = this.buffer(rec[p++]!);
      else {
        const b = this.buffer(rec[p]!) as ArrayBufferLike;
        v = new CTORS[kind - K_VIEW]!(b, rec[p + 1]!, rec[p + 2]!);
        p += 3;
      }
      args[s.keys[i]!] = v;
    }
    return { name: s.name, fn: s.fn, args };
  }

  private buffer(id: number): unknown {
    const b = this.buffers.get(id);
    if (b === undefined) throw new Error(`parallelFor: pool worker got unknown buffer ${id} (protocol error)`);
    return b;
  }
}
