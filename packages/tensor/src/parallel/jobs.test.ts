import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobDecoder, JobEncoder, REC_SLOTS, type Registration } from './jobs.js';
import type { Kernel } from './types.js';

const k1: Kernel = () => {};
const k2: Kernel = () => {};
const KERNELS = { 'a.one': k1, 'b.two': k2 } as Record<string, Kernel>;
const CTORS = [
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
] as const;

/** Applies every pending registration (as the worker would receive it) and decodes the record. */
function roundTrip(enc: JobEncoder, dec: JobDecoder, name: string, args: Record<string, unknown>) {
  const rec = new Float64Array(REC_SLOTS);
  const shape = enc.encode(name, args, rec);
  const reg = enc.takePending();
  if (reg) dec.register(reg);
  return shape === 0 ? null : dec.decode(shape, rec);
}

/** The decoded value equals the original: same number bits, same view (buffer, offset, length, type). */
function expectSame(got: unknown, want: unknown): void {
  if (ArrayBuffer.isView(want)) {
    const g = got as ArrayBufferView & { length: number };
    expect(g.constructor).toBe(want.constructor);
    expect(g.buffer).toBe(want.buffer);
    expect(g.byteOffset).toBe(want.byteOffset);
    expect(g.length).toBe((want as unknown as { length: number }).length);
  } else expect(Object.is(got, want)).toBe(true);
}

const buffers = [new SharedArrayBuffer(256), new SharedArrayBuffer(1024), new SharedArrayBuffer(64)];
const arbView = fc
  .record({
    c: fc.integer({ min: 0, max: CTORS.length - 1 }),
    b: fc.integer({ min: 0, max: 2 }),
    u: fc.nat(),
    l: fc.nat(),
  })
  .map(({ c, b, u, l }) => {
    const C = CTORS[c]!;
    const buf = buffers[b]!;
    const cap = buf.byteLength / C.BYTES_PER_ELEMENT;
    const off = u % (cap + 1);
    return new C(buf, off * C.BYTES_PER_ELEMENT, l % (cap - off + 1));
  });
const arbValue = fc.oneof(
  fc.double(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  arbView,
);

describe('shared job records', () => {
  it('carry numbers, flags, null/undefined and shared typed arrays exactly, for any layout', () => {
    const enc = new JobEncoder();
    const dec = new JobDecoder(KERNELS);
    fc.assert(
      fc.property(
        fc.constantFrom('a.one', 'b.two'),
        fc.uniqueArray(fc.constantFrom('x', 'y', 'out', 'n', 'k', 'bias', 'flag', 'w16', 'arena'), { maxLength: 9 }),
        fc.array(arbValue, { minLength: 9, maxLength: 9 }),
        (name, keys, values) => {
          const args: Record<string, unknown> = {};
          keys.forEach((key, i) => {
            args[key] = values[i];
          });
          const got = roundTrip(enc, dec, name, args)!;
          expect(got.name).toBe(name);
          expect(got.fn).toBe(KERNELS[name]);
          expect(Object.keys(got.args)).toEqual(keys);
          for (const key of keys) expectSame(got.args[key], args[key]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('registers a shape or buffer once, and only what is new', () => {
    const enc = new JobEncoder();
    const rec = new Float64Array(REC_SLOTS);
    const x = new Float32Array(new SharedArrayBuffer(64));
    expect(enc.encode('a.one', { x, n: 1 }, rec)).toBeGreaterThan(0);
    const first = enc.takePending()!;
    expect(first.buffers?.length).toBe(1);
    expect(first.shapes?.length).toBe(1);
    enc.encode('a.one', { x: x.subarray(3), n: 7 }, rec);
    expect(enc.takePending()).toBeNull(); // same shape, same buffer: nothing to post
    enc.encode('a.one', { x, n: true }, rec); // another kind for n: a new shape
    expect(enc.takePending()).toEqual({ buffers: [], shapes: [[2, 'a.one', ['x', 'n'], [16, 2]]] });
  });

  it('leaves to messages what a record cannot carry', () => {
    const enc = new JobEncoder({ buffers: 8, heldBytes: 1 << 20, bufferBytes: 1024 });
    const rec = new Float64Array(REC_SLOTS);
    const s = new Float32Array(new SharedArrayBuffer(64));
    expect(enc.encode('a.one', { s, name: 'text' }, rec)).toBe(0);
    expect(enc.encode('a.one', { p: new Float32Array(4) }, rec)).toBe(0); // not shared
    expect(enc.encode('a.one', { big: new Uint8Array(new SharedArrayBuffer(2048)) }, rec)).toBe(0);
    const many: Record<string, unknown> = {};
    for (let i = 0; i < REC_SLOTS / 3 + 1; i++) many[`v${i}`] = s;
    expect(enc.encode('a.one', many, rec)).toBe(0);
    expect(enc.encode('a.one', { s }, rec)).toBeGreaterThan(0);
  });

  it('resets its tables when they would hold too much, and the worker follows', () => {
    const enc = new JobEncoder({ buffers: 3, heldBytes: 1000, bufferBytes: 600 });
    const dec = new JobDecoder(KERNELS);
    const regs: Registration[] = [];
    for (let i = 0; i < 20; i++) {
      // two fresh buffers per call: tables fill up every few calls, one reset may fall between them
      const x = new Float32Array(new SharedArrayBuffer(400), 8, 10);
      const y = new Int32Array(new SharedArrayBuffer(200));
      const rec = new Float64Array(REC_SLOTS);
      const shape = enc.encode('b.two', { x, y, n: i }, rec);
      const reg = enc.takePending()!;
      regs.push(reg);
      dec.register(reg);
      const got = dec.decode(shape, rec);
      expectSame(got.args.x, x);
      expectSame(got.args.y, y);
      expect(got.args.n).toBe(i);
    }
    expect(regs.filter((r) => r.reset).length).toBeGreaterThan(3);
    expect(() => dec.decode(99, new Float64Array(REC_SLOTS))).toThrow('unknown shape 99');
  });
});
