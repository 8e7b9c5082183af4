// Python's str.capitalize/strip/len and HellaSwag's preprocess, against CPython's outputs (tools/ref_zeroshot.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hellaswagPreprocess, pyCapitalize, pyLen, pyLstrip, pyRstrip, pyStrip } from '../src/index.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  strings: {
    s: string;
    capitalize: string;
    strip: string;
    rstrip: string;
    lstrip: string;
    len: number;
    hellaswag: string;
  }[];
};

describe('Python string semantics', () => {
  for (const c of ref.strings) {
    it(JSON.stringify(c.s), () => {
      expect(pyCapitalize(c.s)).toBe(c.capitalize);
      expect(pyStrip(c.s)).toBe(c.strip);
      expect(pyRstrip(c.s)).toBe(c.rstrip);
      expect(pyLstrip(c.s)).toBe(c.lstrip);
      expect(pyLen(c.s)).toBe(c.len);
      expect(hellaswagPreprocess(c.s)).toBe(c.hellaswag);
    });
  }
});
