import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsBuffer } from '../../src/io/buffer-source.js';
import { Checkpoint } from '../../src/io/checkpoint.js';
import { modelFromCheckpoint, modelFromSource } from '../../src/models/registry.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

function load(name: string, dir = join(fixtures, name)) {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.safetensors')));
  return new SafetensorsBuffer(config, [{ name: `${name}/model.safetensors`, bytes }], name);
}

describe('SafetensorsBuffer', () => {
  for (const name of ['opt-pre', 'llama-gqa-f16', 'llama-gqa-bf16']) {
    it(`${name}: same tensors and same logits as the file-backed Checkpoint`, () => {
      const src = load(name);
      const ckpt = Checkpoint.open(join(fixtures, name));
      try {
        expect([...src.names()].sort()).toEqual(ckpt.names().slice().sort());
        for (const n of ckpt.names()) expect(src.get(n).toArray()).toEqual(ckpt.get(n).toArray());
        const ids = Int32Array.from([1, 5, 9, 3, 7, 2]);
        const a = modelFromSource(src).forward(ids);
        const b = modelFromCheckpoint(ckpt).forward(ids);
        expect(Array.from(a.values())).toEqual(Array.from(b.values()));
      } finally {
        ckpt.close();
      }
    });
  }

  it('rejects truncated bytes, bad headers and duplicated tensors with the file name', () => {
    const good = load('opt-pre');
    const cfg = good.config;
    expect(() => new SafetensorsBuffer(cfg, [{ name: 'x.safetensors', bytes: new Uint8Array(3) }])).toThrow(
      /x.safetensors: file is truncated/,
    );
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setBigUint64(0, 100n, true);
    expect(() => new SafetensorsBuffer(cfg, [{ name: 'y.safetensors', bytes: bad }])).toThrow(
      /y.safetensors: header length 100 goes past/,
    );
    const bytes = new Uint8Array(readFileSync(join(fixtures, 'opt-pre', 'model.safetensors')));
    expect(
      () =>
        new SafetensorsBuffer(cfg, [
          { name: 'a', bytes },
          { name: 'b', bytes },
        ]),
    ).toThrow(/b: tensor .* is also stored in a/);
    expect(() => good.get('nope')).toThrow(/no tensor named/);
  });
});
