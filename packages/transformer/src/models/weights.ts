import { fmtShape, type Tensor } from '@stade/tensor';
import { CheckpointError } from '../errors.js';
import type { TensorSource } from '../model.js';

/** One tensor the architecture expects: its Hugging Face name and shape. */
export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

/**
 * The weights of a model, addressed by Hugging Face names. Validates presence and shape of every expected tensor
 * up front (from headers only), loads tensors lazily, caches them until released, and keeps replacements.
 * Older OPT checkpoints store `decoder.*` without the `model.` prefix; both spellings are accepted.
 */
export class WeightStore {
  private readonly expected = new Map<string, readonly number[]>();
  private readonly stored = new Map<string, string>(); // canonical name -> name in the source
  private readonly cache = new Map<string, Tensor>();
  private readonly replaced = new Map<string, Tensor>();

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
      this.stored.set(e.name, key);
    }
  }

  /** The source's name for canonical `name`, or undefined when it is not stored. */
  private resolve(name: string): string | undefined {
    if (this.source.has(name)) return name;
    if (name.startsWith('model.') && this.source.has(name.slice(6))) return name.slice(6);
    return undefined;
  }

  /** True when the tensor exists (stored or set). */
  has(name: string): boolean {
    return this.replaced.has(name) || this.stored.has(name) || this.resolve(name) !== undefined;
  }

  /** The tensor as it is now: a replacement, the cached copy, or a fresh read (then cached). */
  get(name: string): Tensor {
    const r = this.replaced.get(name) ?? this.cache.get(name);
    if (r) return r;
    const key = this.stored.get(name) ?? this.resolve(name);
    if (key === undefined)
      throw new CheckpointError(`${this.source.dir}: missing tensor ${name}`, { file: this.source.dir, key: name });
    const t = this.source.get(key);
    const want = this.expected.get(name);
    if (want && !sameShape(t.shape, want)) {
      throw new CheckpointError(
        `${this.source.dir}: tensor ${key} has shape ${fmtShape(t.shape)}, expected ${fmtShape(want)}`,
        {
          file: this.source.dir,
          key,
        },
      );
    }
    this.cache.set(name, t);
    return t;
  }

  /** True when `name` was replaced or added with `set`. */
  isSet(name: string): boolean {
    return this.replaced.has(name);
  }

  /** Replaces (or adds) a tensor; replacements survive `release`. */
  set(name: string, t: Tensor): void {
    this.replaced.set(name, t);
    this.cache.delete(name);
  }

  /** Drops cached reads of every tensor whose name starts with `prefix`. */
  release(prefix: string): void {
    for (const k of [...this.cache.keys()]) if (k.startsWith(prefix)) this.cache.delete(k);
  }

  /** Every tensor as it is now under canonical names: stored ones in source order, then added ones. */
  *all(): Iterable<{ name: string; tensor: Tensor }> {
    const seen = new Set<string>();
    const canonical = new Map<string, string>();
    for (const [c, k] of this.stored) canonical.set(k, c);
    for (const key of this.source.names()) {
      const name = canonical.get(key) ?? key;
      seen.add(name);
      yield { name, tensor: this.replaced.get(name) ?? this.cache.get(name) ?? this.source.get(key) };
    }
    for (const [name, tensor] of this.replaced) if (!seen.has(name)) yield { name, tensor };
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
