import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { firstBadUtf8, loadTokenizer, parseJsonl, readDocuments } from './text.js';

const dir = mkdtempSync(join(tmpdir(), 'stade-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readDocuments', () => {
  it('reads .txt, .jsonl and folders of .txt', () => {
    writeFileSync(join(dir, 'a.txt'), 'hello wörld');
    expect(readDocuments(join(dir, 'a.txt'))).toEqual(['hello wörld']);
    writeFileSync(join(dir, 'd.jsonl'), '{"text":"one"}\n\n{"text":"two","id":3}\n');
    expect(readDocuments(join(dir, 'd.jsonl'))).toEqual(['one', 'two']);
    const f = join(dir, 'folder');
    mkdirSync(f);
    writeFileSync(join(f, 'b.txt'), 'second');
    writeFileSync(join(f, 'a.txt'), 'first');
    writeFileSync(join(f, 'skip.md'), 'ignored');
    expect(readDocuments(f)).toEqual(['first', 'second']);
  });

  it('names the file and line of a bad jsonl line', () => {
    expect(() => parseJsonl('{"text":"ok"}\n{"txt":"x"}\n', 'f.jsonl')).toThrow(
      /f\.jsonl:2: expected an object with a string "text" field/,
    );
    expect(() => parseJsonl('{"text":"ok"}\n{bad\n', 'f.jsonl')).toThrow(/f\.jsonl:2: invalid JSON/);
    expect(() => parseJsonl('[1]\n', 'f.jsonl')).toThrow(/f\.jsonl:1/);
  });

  it('rejects non-UTF-8, missing paths, empty folders and empty text', () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, Buffer.from([0x61, 0x62, 0xff, 0x63]));
    expect(() => readDocuments(bad)).toThrow(/bad\.txt is not valid UTF-8 text \(first bad byte at offset 2\)/);
    expect(() => readDocuments(join(dir, 'nope.txt'))).toThrow(/nope\.txt does not exist/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => readDocuments(empty)).toThrow(/contains no \.txt files/);
    writeFileSync(join(dir, 'blank.txt'), '  \n');
    expect(() => readDocuments(join(dir, 'blank.txt'))).toThrow(/contains no text/);
  });

  it('firstBadUtf8 agrees with TextDecoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        let ok = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          ok = false;
        }
        expect(firstBadUtf8(bytes) === bytes.length).toBe(ok);
      }),
      { numRuns: 2000 },
    );
    const s = new TextEncoder().encode('aé€😀');
    expect(firstBadUtf8(s)).toBe(s.length);
  });
});

describe('loadTokenizer', () => {
  it('names a missing tokenizer file', () => {
    expect(() => loadTokenizer(dir)).toThrow(/missing tokenizer: .*tokenizer\.json does not exist/);
    writeFileSync(
      join(dir, 'tokenizer.json'),
      '{"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "[UNK]": 2}, "unk_token": "[UNK]"}, "pre_tokenizer": {"type": "Whitespace"}, "normalizer": null, "post_processor": null, "decoder": {"type": "WordPiece", "prefix": "##"}, "added_tokens": []}',
    );
    expect(() => loadTokenizer(dir)).toThrow(/missing tokenizer config: .*tokenizer_config\.json/);
    writeFileSync(join(dir, 'tokenizer_config.json'), '{not json');
    expect(() => loadTokenizer(dir)).toThrow(/tokenizer_config\.json is not valid JSON/);
  });

  it('tokenises with tokenizer.json', () => {
    writeFileSync(join(dir, 'tokenizer_config.json'), '{}');
    const tok = loadTokenizer(dir);
    expect([...tok.encode('a b b a')]).toEqual([0, 1, 1, 0]);
  });
});
