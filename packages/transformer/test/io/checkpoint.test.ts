import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Checkpoint, CheckpointError, ConfigError, type StadeError, writeSafetensors } from '../../src/index.js';
import { LLAMA_CONFIG, rawFile, tmpDir } from './raw.js';

const vals = (n: number, start = 0) => Float32Array.from({ length: n }, (_, i) => start + i);

/** A folder with config.json and the given files (name -> entries) plus an optional index. */
function makeFolder(
  shards: Record<string, { name: string; shape: number[]; dtype?: 'F32' | 'F16' | 'BF16' }[]>,
  index?: object,
): string {
  const dir = tmpDir('stade-ckpt-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(LLAMA_CONFIG));
  let start = 0;
  for (const [file, entries] of Object.entries(shards)) {
    writeSafetensors(
      path.join(dir, file),
      entries.map((e) => {
        const n = e.shape.reduce((a, d) => a * d, 1);
        start += 100;
        return { name: e.name, dtype: e.dtype ?? 'F32', shape: e.shape, data: vals(n, start) };
      }),
    );
  }
  if (index) fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  return dir;
}

function expectError<T extends StadeError>(fn: () => unknown, cls: new (...a: never[]) => T, re: RegExp): T {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(re);
  return err as T;
}

const sharded = () =>
  makeFolder(
    {
      'model-00001-of-00002.safetensors': [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [4], dtype: 'F16' },
      ],
      'model-00002-of-00002.safetensors': [
        { name: 'c', shape: [3], dtype: 'BF16' },
        { name: 'd', shape: [5], dtype: 'F16' },
      ],
    },
    {
      metadata: { total_size: 123 },
      weight_map: {
        a: 'model-00001-of-00002.safetensors',
        b: 'model-00001-of-00002.safetensors',
        c: 'model-00002-of-00002.safetensors',
        d: 'model-00002-of-00002.safetensors',
      },
    },
  );

describe('Checkpoint', () => {
  test('single file: names, info, get, require, dtype, normalised config', () => {
    const dir = makeFolder({
      'model.safetensors': [
        { name: 'w', shape: [2, 2], dtype: 'F16' },
        { name: 'n', shape: [3] },
      ],
    });
    const c = Checkpoint.open(dir);
    expect(c.names().sort()).toEqual(['n', 'w']);
    expect(c.has('w')).toBe(true);
    expect(c.has('__proto__')).toBe(false);
    expect(c.info('w')).toMatchObject({ dtype: 'F16', shape: [2, 2], file: path.join(dir, 'model.safetensors') });
    expect(c.get('w').toArray()).toEqual([100, 101, 102, 103]);
    expect(c.require('n', [3]).toArray()).toEqual([200, 201, 202]);
    expect(c.dtype).toBe('F16'); // 4 F16 elements vs 3 F32
    expect(c.config.model_type).toBe('llama');
    expect(c.modelConfig.hidden_size).toBe(8);
    expect(c.indexPath).toBeNull();
    c.close();
  });

  test('sharded index: every tensor reads from its shard', () => {
    const dir = sharded();
    const c = Checkpoint.open(dir);
    expect(c.files.length).toBe(2);
    expect(c.names()).toEqual(['a', 'b', 'c', 'd']);
    expect(c.get('d').toArray()).toEqual([400, 401, 402, 403, 404]);
    expect(c.info('c').file).toBe(path.join(dir, 'model-00002-of-00002.safetensors'));
    expect(c.get('a').shape).toEqual([2, 3]);
    expect(c.dtype).toBe('F16'); // 9 F16 elements, 6 F32, 3 BF16
    c.close();
  });

  test('require names the key and both shapes on a mismatch; get names a missing key', () => {
    const c = Checkpoint.open(sharded());
    const e = expectError(
      () => c.require('a', [3, 2]),
      CheckpointError,
      /tensor "a" has shape \[2, 3\], expected \[3, 2\]/,
    );
    expect(e.key).toBe('a');
    expect(e.message).toContain('model-00001-of-00002.safetensors');
    const m = expectError(() => c.get('model.norm.weight'), CheckpointError, /no tensor named "model.norm.weight"/);
    expect(m.key).toBe('model.norm.weight');
    expectError(() => c.require('zz', [1]), CheckpointError, /no tensor named "zz"/);
  });

  test('missing weights, missing or corrupt config.json', () => {
    const dir = tmpDir();
    expectError(() => Checkpoint.open(path.join(dir, 'nope')), CheckpointError, /cannot open the model folder/);
    expectError(() => Checkpoint.open(dir), ConfigError, /config\.json: cannot read \(ENOENT\)/);
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama",');
    const e = expectError(() => Checkpoint.open(dir), ConfigError, /config\.json: invalid JSON/);
    expect(e.file).toBe(path.join(dir, 'config.json'));
    fs.writeFileSync(path.join(dir, 'config.json'), '[]');
    expectError(() => Checkpoint.open(dir), ConfigError, /expected a JSON object/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(LLAMA_CONFIG));
    expectError(
      () => Checkpoint.open(dir),
      CheckpointError,
      /no model\.safetensors or model\.safetensors\.index\.json/,
    );
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
    expectError(() => Checkpoint.open(dir), CheckpointError, /pytorch_model\.bin is not supported/);
  });

  test('a corrupt weight file is reported when the folder is opened', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(LLAMA_CONFIG));
    rawFile('{"a": {"dtype": "F33", "shape": [], "data_offsets": [0, 4]}}', new Uint8Array(4), undefined, dir);
    expectError(() => Checkpoint.open(dir), CheckpointError, /model\.safetensors: tensor "a": unknown dtype "F33"/);
  });

  test('unknown model_type and missing config keys surface through modelConfig', () => {
    const dir = makeFolder({ 'model.safetensors': [{ name: 'w', shape: [1] }] });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...LLAMA_CONFIG, model_type: 'gpt2' }));
    const e = expectError(() => Checkpoint.open(dir).modelConfig, ConfigError, /unsupported model_type "gpt2"/);
    expect(e.file).toBe(path.join(dir, 'config.json'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...LLAMA_CONFIG, hidden_size: undefined }));
    expectError(() => Checkpoint.open(dir).modelConfig, ConfigError, /key "hidden_size": missing/);
  });
});

describe('Checkpoint index validation', () => {
  const index = (map: Record<string, unknown>) => ({ weight_map: map });
  const withIndex = (idx: unknown) => {
    const dir = sharded();
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      typeof idx === 'string' ? idx : JSON.stringify(idx),
    );
    return dir;
  };

  test.each([
    ['../outside.safetensors', /leaves the model folder/],
    ['sub/../../outside.safetensors', /leaves the model folder/],
    ['/etc/passwd', /absolute path/],
    ['C:\\weights.safetensors', /absolute path/],
    ['..\\x.safetensors', /leaves the model folder/],
    ['', /not a valid file name/],
    ['a\0b', /not a valid file name/],
  ])('shard name %j escaping the folder is refused', (shard, re) => {
    const e = expectError(() => Checkpoint.open(withIndex(index({ a: shard }))), CheckpointError, re);
    expect(e.key).toBe('a');
    expect(e.message).toContain('model.safetensors.index.json');
  });

  test('a shard symlinked outside the folder is refused; inside is fine', () => {
    const outside = tmpDir();
    writeSafetensors(path.join(outside, 'x.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1], data: vals(1) }]);
    const dir = withIndex(index({ a: 'link.safetensors' }));
    fs.symlinkSync(path.join(outside, 'x.safetensors'), path.join(dir, 'link.safetensors'));
    expectError(() => Checkpoint.open(dir), CheckpointError, /is a symlink to .* outside the model folder/);
    const ok = withIndex(index({ a: 'inner.safetensors' }));
    fs.symlinkSync('model-00001-of-00002.safetensors', path.join(ok, 'inner.safetensors'));
    expect(Checkpoint.open(ok).get('a').shape).toEqual([2, 3]);
  });

  test('a Hugging Face hub cache snapshot (files symlinked into ../../blobs) opens', () => {
    const repo = tmpDir('models--org--name-');
    const snap = path.join(repo, 'snapshots', 'abc123');
    fs.mkdirSync(path.join(repo, 'blobs'));
    fs.mkdirSync(snap, { recursive: true });
    writeSafetensors(path.join(repo, 'blobs', 'f00d'), [{ name: 'w', dtype: 'F32', shape: [2], data: vals(2) }]);
    fs.symlinkSync('../../blobs/f00d', path.join(snap, 'model.safetensors'));
    fs.writeFileSync(path.join(snap, 'config.json'), JSON.stringify(LLAMA_CONFIG));
    expect(Checkpoint.open(snap).get('w').toArray()).toEqual([0, 1]);
    // The same shape outside a models--* cache folder is an ordinary folder: the link leaves it.
    const other = tmpDir('plain-');
    fs.mkdirSync(path.join(other, 'blobs'));
    fs.mkdirSync(path.join(other, 'snapshots', 'abc'), { recursive: true });
    fs.copyFileSync(path.join(repo, 'blobs', 'f00d'), path.join(other, 'blobs', 'f00d'));
    fs.symlinkSync('../../blobs/f00d', path.join(other, 'snapshots', 'abc', 'model.safetensors'));
    fs.writeFileSync(path.join(other, 'snapshots', 'abc', 'config.json'), JSON.stringify(LLAMA_CONFIG));
    expect(() => Checkpoint.open(path.join(other, 'snapshots', 'abc'))).toThrow(/outside the model folder/);
  });

  test('weight_map problems name the index and key', () => {
    expectError(() => Checkpoint.open(withIndex('{"weight_map": ')), CheckpointError, /index\.json: invalid JSON/);
    expectError(() => Checkpoint.open(withIndex({ weight_map: [] })), CheckpointError, /weight_map must be an object/);
    expectError(() => Checkpoint.open(withIndex({})), CheckpointError, /weight_map must be an object/);
    expectError(() => Checkpoint.open(withIndex(index({}))), CheckpointError, /weight_map is empty/);
    expectError(
      () => Checkpoint.open(withIndex(index({ a: 3 }))),
      CheckpointError,
      /entry of "a" must be a file name, got 3/,
    );
    expectError(
      () => Checkpoint.open(withIndex('{"weight_map": {"__proto__": "model-00001-of-00002.safetensors"}}')),
      CheckpointError,
      /forbidden tensor name "__proto__"/,
    );
    const e = expectError(
      () => Checkpoint.open(withIndex(index({ zz: 'model-00001-of-00002.safetensors' }))),
      CheckpointError,
      /tensor "zz" is mapped to .*model-00001-of-00002\.safetensors, which does not contain it/,
    );
    expect(e.key).toBe('zz');
    expectError(
      () => Checkpoint.open(withIndex(index({ a: 'missing.safetensors' }))),
      CheckpointError,
      /missing\.safetensors: cannot open \(ENOENT\).*tensor "a"/,
    );
  });
});

describe('fuzz: a random index only produces CheckpointError', () => {
  const arbShard = fc.oneof(
    fc.constantFrom(
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      '../x',
      '/abs',
      '',
      'missing.safetensors',
      'config.json',
      '.',
      'sub/..',
    ),
    fc.string({ maxLength: 6 }),
    fc.anything(),
  );
  const arbMap = fc.dictionary(
    fc.oneof(fc.constantFrom('a', 'b', 'c', 'd', '__proto__', 'zz'), fc.string({ maxLength: 3 })),
    arbShard,
    {
      maxKeys: 5,
    },
  );
  test('weight_map', () => {
    const dir = sharded();
    const idx = path.join(dir, 'model.safetensors.index.json');
    fc.assert(
      fc.property(
        fc.oneof(
          arbMap.map((m) => ({ weight_map: m })),
          fc.anything(),
        ),
        (index) => {
          fs.writeFileSync(idx, JSON.stringify(index) ?? 'undefined');
          try {
            const c = Checkpoint.open(dir);
            for (const n of c.names()) c.get(n);
            c.close();
          } catch (e) {
            if (!(e instanceof CheckpointError)) throw new Error(`non-CheckpointError: ${String(e)}`, { cause: e });
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('committed PyTorch fixture folders', () => {
  const root = path.resolve(__dirname, '../fixtures');
  const dirs = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .map((d) => path.join(root, d))
        .filter((d) => fs.existsSync(path.join(d, 'config.json')))
    : [];
  test.runIf(dirs.length > 0)('open as checkpoints (single and sharded) with every tensor readable', () => {
    let sharded = 0;
    for (const dir of dirs) {
      const c = Checkpoint.open(dir);
      if (c.indexPath) sharded++;
      expect(c.modelConfig.model_type).toBe(c.config.model_type);
      for (const n of c.names()) expect(c.get(n).shape).toEqual(c.info(n).shape);
      c.close();
    }
    expect(sharded).toBeGreaterThan(0);
  });
});
