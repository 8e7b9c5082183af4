import {
  type Arena,
  allocF32,
  currentArena,
  decodeBf16,
  decodeF16,
  fmtShape,
  HalfTensor,
  type LinearWeight,
  persistent,
  Tensor,
} from '@stade/tensor';
import { CheckpointError, StadeError } from '../errors.js';
import type { StoredTensor, TensorSource } from '../model.js';

/** One tensor the architecture expects: its Hugging Face name and shape. */
export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

/**
 * Chooses the form a linear layer's weight takes in the forward pass, once per load (cached until its block is
 * released): e.g. keep it 16-bit, widen it, or pack it. Receives the stored form; returning it unchanged is the
 * default. A returned new object owns no store buffer: the store recycles the stored one at once.
 */
export interface LinearForm {
  (name: string, stored: StoredTensor): LinearWeight;
  /**
   * Optional: memory of the form's own to read a tensor's stored data into (e.g. the resident arena, so that a
   * weight kept as stored is never copied): an array of exactly `n` elements of `kind` (`u16` for F16/BF16, `f32`
   * for F32), or null for the store's own buffer. Asked before every read of a tensor with that stored kind;
   * `linear`: the tensor goes through the form next (which then owns the array: keeps it or frees it), else the
   * store uses the tensor as read (the form still owns the array). An array the read did not use goes back
   * through `returnTarget`.
   */
  readTarget?(
    name: string,
    kind: 'u16' | 'f32',
    shape: readonly number[],
    linear: boolean,
  ): Float32Array | Uint16Array | null;
  /** Takes back an array from `readTarget` that the read did not use. */
  returnTarget?(a: Float32Array | Uint16Array): void;
}

/** A cached stored-form tensor; `owned` when its buffer belongs to the store and may be recycled. */
interface Stored {
  t: StoredTensor | LinearWeight;
  owned: boolean;
}

type Buffer = Float32Array | Uint16Array;

/**
 * The weights of a model, addressed by Hugging Face names. Validates presence and shape of every expected tensor
 * up front (from headers only), loads tensors lazily, caches them until released, and keeps replacements.
 * Older OPT checkpoints store `decoder.*` without the `model.` prefix; both spellings are accepted.
 *
 * Two caches: `stored(name)` keeps the checkpoint's own dtype (16-bit data for F16/BF16) for the forward pass;
 * `get(name)` gives float32 (converted on demand). Memory has an owner: buffers read for `stored` only are the
 * store's and are reused by the next block's reads of the same size after `release`, so a pass over the blocks
 * holds one block of weights without relying on the garbage collector (a read into memory the `linearForm`
 * lends, `readTarget`, is the form's). Stored-form reads are never lent by an open
 * arena (`persistent`). Float32 tensors made by `get` belong to whoever owns the allocations at
 * the time (an open `Arena`, e.g. the pruning driver's block arena, or the caller); the store forgets them on
 * `release`, and one made in an arena that was reset since is never served again (it is converted anew).
 */
export class WeightStore {
  /** Optional load-time choice of the forward's linear weight form (see `LinearForm`). */
  linearForm: LinearForm | null = null;
  private readonly expected = new Map<string, readonly number[]>();
  private readonly keys = new Map<string, string>(); // canonical name -> name in the source
  private readonly storedCache = new Map<string, Stored>();
  private readonly f32 = new Map<string, Tensor>();
  /** The arena (and its generation) that lent an `f32` entry, for entries made inside an arena scope. */
  private readonly f32Owner = new Map<string, { arena: Arena; generation: number }>();
  private readonly replaced = new Map<string, Tensor>();
  private readonly pool = new Map<string, Buffer[]>();
  private readonly dropped = new Set<string>();

  constructor(
    readonly source: TensorSource,
    expected: Iterable<ExpectedTensor>,
  ) {
    for (const e of expected) {
      this.expected.set(e.name, e.shape);
      const key = this.resolve(e.name);
      if (key === undefined) {
        throw new CheckpointError(`${source.dir}: missing tensor ${e.name} (expected shape ${fmtShape(e.shape)})`, {
          file: source.dir,
          key: e.name,
        });
      }
      const shape = source.info(key).shape;
      if (!sameShape(shape, e.shape)) {
        throw new CheckpointError(
          `${source.dir}: tensor ${key} has shape ${fmtShape(shape)}, expected ${fmtShape(e.shape)} from config.json`,
          { file: source.dir, key },
        );
      }
      this.keys.set(e.name, key);
    }
  }

  /** The source's name for canonical `name`, or undefined when it is not stored. */
  private resolve(name: string): string | undefined {
    if (this.source.has(name)) return name;
    if (name.startsWith('model.') && this.source.has(name.slice(6))) return name.slice(6);
    return undefined;
  }

  private key(name: string): string {
    this.checkDropped(name);
    const key = this.keys.get(name) ?? this.resolve(name);
    if (key === undefined)
      throw new CheckpointError(`${this.source.dir}: missing tensor ${name}`, { file: this.source.dir, key: name });
    return key;
  }

  private checkDropped(name: string): void {
    for (const p of this.dropped) {
      if (name.startsWith(p)) {
        throw new StadeError(`${name}: its block was handed off (dropBlock); load the saved model to use it again`, {
          key: name,
        });
      }
    }
  }

  private checkShape(name: string, key: string, shape: readonly number[]): void {
    const want = this.expected.get(name);
    if (want && !sameShape(shape, want)) {
      throw new CheckpointError(
        `${this.source.dir}: tensor ${key} has shape ${fmtShape(shape)}, expected ${fmtShape(want)}`,
        { file: this.source.dir, key },
      );
    }
  }

  /** True when the tensor exists (stored or set). */
  has(name: string): boolean {
    return this.replaced.has(name) || this.keys.has(name) || this.resolve(name) !== undefined;
  }

  /** Shape of a tensor (a replacement's, else the stored one's), from the headers. */
  shape(name: string): readonly number[] {
    const r = this.replaced.get(name);
    return r ? r.shape : this.source.info(this.key(name)).shape;
  }

  /**
   * The tensor as float32 now: a replacement, the cached copy, or a conversion / fresh read (then cached). With a
   * `linearForm` (the decode path: `applyWeightFormat`), a 1-D tensor (a norm's weight or bias, a bias) is made
   * outside any open arena and kept until `release`: it is small and every decode step reads it (made in the step's
   * arena, it was read from the checkpoint again each step). Without one (pruning, evaluation), it belongs to the
   * open arena like any other, so that a pass over the blocks allocates what one block does.
   */
  get(name: string): Tensor {
    const r = this.replaced.get(name) ?? this.f32Live(name);
    if (r) return r;
    const key = this.key(name);
    const small = this.linearForm !== null && this.source.info(key).shape.length <= 1;
    const t = small ? persistent(() => this.readF32(name, key)) : this.readF32(name, key);
    this.f32.set(name, t);
    const arena = small ? null : currentArena();
    if (arena) this.f32Owner.set(name, { arena, generation: arena.generation });
    else this.f32Owner.delete(name);
    return t;
  }

  /** `name` as float32 from its stored-form cache entry or a fresh read, in the current allocation scope. */
  private readF32(name: string, key: string): Tensor {
    const s = this.storedCache.get(name);
    if (s && s.t instanceof Tensor) {
      s.owned = false; // given out: never recycled
      return s.t;
    }
    if (s && s.t instanceof HalfTensor) return s.t.toFloat32();
    const t = this.source.get(key);
    this.checkShape(name, key, t.shape);
    return t;
  }

  /** The cached float32 copy of `name`, unless the arena that lent it was reset since (then it is forgotten). */
  private f32Live(name: string): Tensor | undefined {
    const t = this.f32.get(name);
    if (!t) return undefined;
    const o = this.f32Owner.get(name);
    if (o && o.arena.generation !== o.generation) {
      this.f32.delete(name);
      this.f32Owner.delete(name);
      return undefined;
    }
    return t;
  }

  /**
   * The tensor in its stored form for the forward pass (HalfTensor for F16/BF16 checkpoints; replacements and
   * float32 copies already made are used as they are). With `linear`, the `linearForm` hook chooses the form.
   * Valid until `release` of its prefix: do not keep it.
   */
  stored(name: string, linear = false): LinearWeight {
    return this.storedFor(name, linear ? 'linear' : 'matrix');
  }

  /** `stored` for a linear layer, a tensor used whole (e.g. a head), or a table read by `rows` (never a target). */
  private storedFor(name: string, use: 'linear' | 'matrix' | 'rows'): LinearWeight {
    const linear = use === 'linear';
    const r = this.replaced.get(name) ?? this.f32Live(name);
    if (r) return r;
    const c = this.storedCache.get(name);
    if (c) return c.t;
    const key = this.key(name);
    const src = this.source;
    let t: StoredTensor;
    let owned = false;
    if (src.getStored) {
      const info = src.info(key) as { shape: readonly number[]; dtype?: string };
      const n = info.shape.reduce((a, d) => a * d, 1);
      const kind = info.dtype === 'F16' || info.dtype === 'BF16' ? 'u16' : info.dtype === 'F32' ? 'f32' : null;
      // the form's memory when it asks for the read (it owns that), else the store's own buffer (reused after `release`)
      const lf = this.linearForm;
      let target = kind && use !== 'rows' && lf?.readTarget ? lf.readTarget(name, kind, info.shape, linear) : null;
      const reuse = target ?? (kind ? this.pool.get(`${kind}:${n}`)?.pop() : undefined);
      try {
        t = persistent(() => src.getStored!(key, reuse));
      } catch (e) {
        if (target) lf!.returnTarget?.(target);
        throw e;
      }
      if (target && t.data !== target) {
        lf!.returnTarget?.(target);
        target = null;
      }
      owned = !target && src.freshReads === true;
    } else {
      t = persistent(() => src.get(key));
    }
    this.checkShape(name, key, t.shape);
    let entry: Stored = { t, owned };
    if (linear && this.linearForm) {
      const lf = this.linearForm;
      const f = persistent(() => lf(name, t)); // cached until release: never from an arena
      if (f !== t) {
        if (owned) this.recycle(t);
        entry = { t: f, owned: false };
      }
    }
    this.storedCache.set(name, entry);
    return entry.t;
  }

  /**
   * Rows `ids` of a `[rows, width]` table (an embedding) as float32 `[ids.length, width]`, widening only those
   * rows; into `into` (contiguous, that shape) when given.
   */
  rows(name: string, ids: Int32Array, into?: Tensor): Tensor {
    const t = this.replaced.get(name) ?? this.f32Live(name) ?? this.storedFor(name, 'rows');
    const [rows, width] = t.shape as [number, number];
    if (into && (!into.contiguous || into.size !== ids.length * width)) {
      throw new StadeError(`${name}: rows need a contiguous [${ids.length}, ${width}] output`, { key: name });
    }
    const out = into ? into.data.subarray(into.offset, into.offset + into.size) : allocF32(ids.length * width); // [T, width]
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r]!;
      if (!(id >= 0 && id < rows)) throw new StadeError(`${name}: row ${id} outside [0, ${rows})`, { key: name });
      const dst = out.subarray(r * width, (r + 1) * width);
      if (t instanceof HalfTensor) {
        const src = t.data.subarray(id * width, (id + 1) * width);
        if (t.dtype === 'bf16') decodeBf16(src, dst);
        else decodeF16(src, dst);
      } else if (t instanceof Tensor) {
        dst.set(t.values().subarray(id * width, (id + 1) * width));
      } else {
        throw new StadeError(`${name}: cannot read rows of this weight form`, { key: name });
      }
    }
    return into ?? Tensor.from(out, [ids.length, width], false);
  }

  /** True when `name` was replaced or added with `set`. */
  isSet(name: string): boolean {
    return this.replaced.has(name);
  }

  /** Replaces (or adds) a tensor; replacements survive `release`. */
  set(name: string, t: Tensor): void {
    this.checkDropped(name);
    this.replaced.set(name, t);
    this.f32.delete(name);
    this.f32Owner.delete(name);
    this.forgetStored(name);
  }

  /** Forgets a replacement: the tensor is read from the checkpoint again. */
  unset(name: string): void {
    this.replaced.delete(name);
    this.f32.delete(name);
    this.f32Owner.delete(name);
  }

  /** Drops cached reads of every tensor whose name starts with `prefix` (store-owned buffers are reused). */
  release(prefix: string): void {
    for (const k of [...this.storedCache.keys()]) if (k.startsWith(prefix)) this.forgetStored(k);
    for (const k of [...this.f32.keys()]) {
      if (k.startsWith(prefix)) {
        this.f32.delete(k);
        this.f32Owner.delete(k);
      }
    }
  }

  /** `release(prefix)`, then forgets replacements too; any later use of those names throws. */
  drop(prefix: string): void {
    this.release(prefix);
    for (const k of [...this.replaced.keys()]) if (k.startsWith(prefix)) this.replaced.delete(k);
    this.dropped.add(prefix);
  }

  /** Bytes the store holds now: cached reads, float32 copies, replacements and buffers kept for reuse. */
  residentBytes(): number {
    let n = 0;
    const bytes = (t: Tensor | HalfTensor) => t.size * (t instanceof HalfTensor ? 2 : 4);
    for (const s of this.storedCache.values()) if (s.t instanceof Tensor || s.t instanceof HalfTensor) n += bytes(s.t);
    for (const t of this.f32.values()) n += bytes(t);
    for (const t of this.replaced.values()) n += bytes(t);
    for (const list of this.pool.values()) for (const b of list) n += b.byteLength;
    return n;
  }

  private forgetStored(name: string): void {
    const s = this.storedCache.get(name);
    if (!s) return;
    this.storedCache.delete(name);
    if (s.owned && (s.t instanceof Tensor || s.t instanceof HalfTensor)) this.recycle(s.t);
  }

  private recycle(t: StoredTensor): void {
    const buf: Buffer = t.data;
    const k = `${buf instanceof Uint16Array ? 'u16' : 'f32'}:${buf.length}`;
    const list = this.pool.get(k);
    if (list) list.push(buf);
    else this.pool.set(k, [buf]);
  }

  /** The source's tensors in its order: canonical name and the source's key. */
  keysInSourceOrder(): { name: string; key: string }[] {
    const canonical = new Map<string, string>();
    for (const [c, k] of this.keys) canonical.set(k, c);
    return [...this.source.names()].map((key) => ({ name: canonical.get(key) ?? key, key }));
  }

  /** Every tensor as it is now under canonical names: stored ones in source order, then added ones. */
  *all(): Iterable<{ name: string; tensor: Tensor }> {
    const seen = new Set<string>();
    for (const { name, key } of this.keysInSourceOrder()) {
      seen.add(name);
      yield { name, tensor: this.replaced.get(name) ?? this.f32Live(name) ?? this.source.get(key) };
    }
    for (const [name, tensor] of this.replaced) if (!seen.has(name)) yield { name, tensor };
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
