/**
 * A tiny WebAssembly binary emitter: just enough (types, functions, one memory, exports, structured
 * control flow, i32 arithmetic, f32 and f32x4 SIMD ops) to generate the engine's kernels at run time,
 * so no toolchain and no binary blob are needed.
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Appends `v` as unsigned LEB128. */
export function uleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`uleb: ${v} is not an unsigned integer`);
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

/** Appends `v` (a 32-bit signed integer) as signed LEB128. */
export function sleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`sleb: ${v} is not an i32`);
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

function utf8(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  for (const x of b) out.push(x);
}

/** Builds one function body. Methods append instructions and return `this` for chaining. */
export class Code {
  readonly bytes: number[] = [];

  raw(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  private simd(op: number): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, op);
    return this;
  }
  private memarg(align: number, offset: number): this {
    uleb(this.bytes, align);
    uleb(this.bytes, offset);
    return this;
  }

  // control
  block(): this {
    return this.raw(0x02, 0x40);
  }
  loop(): this {
    return this.raw(0x03, 0x40);
  }
  if(): this {
    return this.raw(0x04, 0x40);
  }
  else(): this {
    return this.raw(0x05);
  }
  end(): this {
    return this.raw(0x0b);
  }
  br(depth: number): this {
    this.raw(0x0c);
    uleb(this.bytes, depth);
    return this;
  }
  brIf(depth: number): this {
    this.raw(0x0d);
    uleb(this.bytes, depth);
    return this;
  }

  // locals
  get(i: number): this {
    this.raw(0x20);
    uleb(this.bytes, i);
    return this;
  }
  set(i: number): this {
    this.raw(0x21);
    uleb(this.bytes, i);
    return this;
  }
  tee(i: number): this {
    this.raw(0x22);
    uleb(this.bytes, i);
    return this;
  }

  // i32
  i32(v: number): this {
    this.raw(0x41);
    sleb(this.bytes, v);
    return this;
  }
  add(): this {
    return this.raw(0x6a);
  }
  sub(): this {
    return this.raw(0x6b);
  }
  mul(): this {
    return this.raw(0x6c);
  }
  and(): this {
    return this.raw(0x71);
  }
  shl(): this {
    return this.raw(0x74);
  }
  shrU(): this {
    return this.raw(0x76);
  }
  eqz(): this {
    return this.raw(0x45);
  }
  ne(): this {
    return this.raw(0x47);
  }
  ltU(): this {
    return this.raw(0x49);
  }
  gtU(): this {
    return this.raw(0x4b);
  }
  /** `local[i] += delta` */
  inc(i: number, delta: number): this {
    return this.get(i).i32(delta).add().set(i);
  }
  /** `local[i] += local[j]` */
  incBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }

  // f32 scalar
  f32Load(offset = 0): this {
    return this.raw(0x2a).memarg(2, offset);
  }
  f32Store(offset = 0): this {
    return this.raw(0x38).memarg(2, offset);
  }
  i32Load(offset = 0): this {
    return this.raw(0x28).memarg(2, offset);
  }
  i32Load8U(offset = 0): this {
    return this.raw(0x2d).memarg(0, offset);
  }
  f32Add(): this {
    return this.raw(0x92);
  }
  f32Mul(): this {
    return this.raw(0x94);
  }

  // SIMD (128-bit)
  v128Load(offset = 0): this {
    return this.simd(0x00).memarg(4, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).memarg(4, offset);
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09).memarg(2, offset);
  }
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.bytes.push(0);
    return this;
  }
  /** `v128.const` with four equal i32 lanes. */
  i32x4Const(v: number): this {
    this.simd(0x0c);
    for (let l = 0; l < 4; l++) for (let b = 0; b < 4; b++) this.bytes.push((v >>> (8 * b)) & 0xff);
    return this;
  }
  /** Loads four u16 and zero-extends them to i32 lanes. */
  v128Load16x4U(offset = 0): this {
    return this.simd(0x04).memarg(3, offset);
  }
  /** Loads four i16 and sign-extends them to i32 lanes. */
  v128Load16x4S(offset = 0): this {
    return this.simd(0x03).memarg(3, offset);
  }
  /** `v128.const` with eight equal i16 lanes. */
  i16x8Const(v: number): this {
    this.simd(0x0c);
    for (let l = 0; l < 8; l++) this.bytes.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  i16x8Eq(): this {
    return this.simd(0x2d);
  }
  i16x8GeU(): this {
    return this.simd(0x36);
  }
  i16x8MaxU(): this {
    return this.simd(0x99);
  }
  /** i16x8.shl by the i32 on top of the stack. */
  i16x8Shl(): this {
    return this.simd(0x8b);
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  /** 1 when any bit of the v128 is set. */
  v128AnyTrue(): this {
    return this.simd(0x53);
  }
  /** Loads 64 bits into lane 0, zeroing lane 1. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d).memarg(3, offset);
  }
  /** Loads 32 bits into lane 0, zeroing the others. */
  v128Load32Zero(offset = 0): this {
    return this.simd(0x5c).memarg(2, offset);
  }
  /** [addr, v] -> v with 64-bit lane `lane` loaded from addr + offset. */
  v128Load64Lane(offset: number, lane: number): this {
    this.simd(0x57).memarg(3, offset);
    this.bytes.push(lane);
    return this;
  }
  /** [addr, v] -> v with 32-bit lane `lane` loaded from addr + offset. */
  v128Load32Lane(offset: number, lane: number): this {
    this.simd(0x56).memarg(2, offset);
    this.bytes.push(lane);
    return this;
  }
  /** i8x16.shuffle of the two vectors on the stack with 16 immediate lane indices (0-31). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError('i8x16Shuffle: need 16 lane indices');
    this.simd(0x0d);
    for (const l of lanes) this.bytes.push(l);
    return this;
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  v128Xor(): this {
    return this.simd(0x51);
  }
  i32x4GtS(): this {
    return this.simd(0x3b);
  }
  /** i32x4.shl by the i32 on top of the stack. */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4ExtractLane(lane: number): this {
    this.simd(0x1f);
    this.bytes.push(lane);
    return this;
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  /** Relaxed SIMD `f32x4.relaxed_madd(a, b, c) = a * b + c` (fused or not, as the hardware does). */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
}

interface FuncDef {
  type: number;
  locals: ValType[];
  code: Code;
}

/** Builds a module with one exported memory (own, growable) and exported functions. */
export class ModuleBuilder {
  private types: string[] = [];
  private typeBytes: number[][] = [];
  private funcs: FuncDef[] = [];
  private exports: { name: string; kind: number; index: number }[] = [];
  private memory: { min: number } | null = null;
  private imported: { module: string; field: string; min: number; max: number } | null = null;

  /**
   * Imports the module's memory as `module`.`field`: a shared memory (threads) of `min` to `max` 64 KiB pages,
   * instead of declaring its own (exclusive with `addMemory`).
   */
  importSharedMemory(module: string, field: string, min: number, max: number): this {
    if (this.memory) throw new Error('importSharedMemory: the module already declares a memory');
    this.imported = { module, field, min, max };
    return this;
  }

  /** Declares the module's memory (in 64 KiB pages) and exports it as `name`. */
  addMemory(minPages: number, name = 'memory'): this {
    if (this.imported) throw new Error('addMemory: the module already imports a memory');
    this.memory = { min: minPages };
    this.exports.push({ name, kind: 0x02, index: 0 });
    return this;
  }

  /** Adds an exported function; returns its index. */
  addFunction(name: string, params: ValType[], results: ValType[], locals: ValType[], code: Code): number {
    const sig = [0x60];
    uleb(sig, params.length);
    sig.push(...params);
    uleb(sig, results.length);
    sig.push(...results);
    const key = sig.join(',');
    let type = this.types.indexOf(key);
    if (type < 0) {
      type = this.types.length;
      this.types.push(key);
      this.typeBytes.push(sig);
    }
    const index = this.funcs.length;
    this.funcs.push({ type, locals, code });
    if (name) this.exports.push({ name, kind: 0x00, index });
    return index;
  }

  /** The module's bytes. */
  build(): Uint8Array {
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]) => {
      out.push(id);
      uleb(out, body.length);
      for (const b of body) out.push(b);
    };
    const vec = (items: number[][]) => {
      const b: number[] = [];
      uleb(b, items.length);
      for (const it of items) for (const x of it) b.push(x);
      return b;
    };
    section(1, vec(this.typeBytes));
    if (this.imported) {
      const { module, field, min, max } = this.imported;
      const b: number[] = [];
      utf8(b, module);
      utf8(b, field);
      b.push(0x02, 0x03); // memory, limits: min and max, shared
      uleb(b, min);
      uleb(b, max);
      section(2, vec([b]));
    }
    section(
      3,
      vec(
        this.funcs.map((f) => {
          const b: number[] = [];
          uleb(b, f.type);
          return b;
        }),
      ),
    );
    if (this.memory) {
      const b: number[] = [0x00];
      uleb(b, this.memory.min);
      section(5, vec([b]));
    }
    section(
      7,
      vec(
        this.exports.map((e) => {
          const b: number[] = [];
          utf8(b, e.name);
          b.push(e.kind);
          uleb(b, e.index);
          return b;
        }),
      ),
    );
    section(
      10,
      vec(
        this.funcs.map((f) => {
          // Locals are run-length encoded by type.
          const groups: [number, ValType][] = [];
          for (const t of f.locals) {
            const last = groups[groups.length - 1];
            if (last && last[1] === t) last[0]++;
            else groups.push([1, t]);
          }
          const body: number[] = [];
          uleb(body, groups.length);
          for (const [n, t] of groups) {
            uleb(body, n);
            body.push(t);
          }
          for (const x of f.code.bytes) body.push(x);
          body.push(0x0b);
          const sized: number[] = [];
          uleb(sized, body.length);
          for (const x of body) sized.push(x);
          return sized;
        }),
      ),
    );
    return new Uint8Array(out);
  }
}
