import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { CliError } from './errors.js';

/** Decodes bytes as UTF-8, rejecting invalid sequences with an error naming the file and byte offset. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${file} is not valid UTF-8 text (first bad byte at offset ${firstBadUtf8(bytes)})`);
  }
}

/** Byte offset of the first invalid UTF-8 sequence (for the error message). */
export function firstBadUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    let min = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length && n > 0) return i;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (n >= 2 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) return i;
    i += n + 1;
  }
  return b.length;
}

function readUtf8(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeUtf8(bytes, file);
}

/** Parses JSON Lines with a string `text` field per line; blank lines are skipped. */
export function parseJsonl(content: string, file: string): string[] {
  const docs: string[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new CliError(`${file}:${i + 1}: invalid JSON (${(e as Error).message})`);
    }
    const text = (obj as { text?: unknown } | null)?.text;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || typeof text !== 'string') {
      throw new CliError(`${file}:${i + 1}: expected an object with a string "text" field`);
    }
    docs.push(text);
  }
  return docs;
}

/**
 * Reads documents from a `.txt` file (one document), a `.jsonl` file (a `text` field per line) or a folder
 * of `.txt` files (one document each, in name order). Empty sources are an error naming the path.
 */
export function readDocuments(path: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `text path ${path} does not exist` : `cannot read ${path}: ${code}`);
  }
  let docs: string[];
  if (st.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(path)
        .filter((n) => n.endsWith('.txt'))
        .sort();
    } catch (e) {
      throw new CliError(`cannot read folder ${path}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if (names.length === 0) throw new CliError(`folder ${path} contains no .txt files`);
    docs = names.map((n) => readUtf8(join(path, n)));
  } else if (extname(path).toLowerCase() === '.jsonl') {
    docs = parseJsonl(readUtf8(path), path);
  } else {
    docs = [readUtf8(path)];
  }
  if (docs.every((d) => d.trim() === '')) throw new CliError(`${path} contains no text`);
  return docs;
}

function readJson(file: string, what: string): object {
  let raw: string;
  try {
    raw = readUtf8(file);
  } catch (e) {
    if (e instanceof CliError && /ENOENT/.test(e.message)) {
      throw new CliError(`missing ${what}: ${file} does not exist`);
    }
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new CliError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CliError(`${file} is not a JSON object`);
  return v;
}

/** A model's tokenizer with its source folder. */
export interface TextTokenizer {
  dir: string;
  tokenizer: Tokenizer;
  /** Token ids of `text` (with the special tokens the tokenizer adds, like Hugging Face's `tokenizer(text)`). */
  encode(text: string): Int32Array;
}

/** Loads `tokenizer.json` + `tokenizer_config.json` from a model folder. */
export function loadTokenizer(modelDir: string): TextTokenizer {
  const tj = readJson(join(modelDir, 'tokenizer.json'), 'tokenizer');
  const tc = readJson(join(modelDir, 'tokenizer_config.json'), 'tokenizer config');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tj, tc);
  } catch (e) {
    throw new CliError(`cannot build the tokenizer from ${join(modelDir, 'tokenizer.json')}: ${(e as Error).message}`);
  }
  return {
    dir: modelDir,
    tokenizer,
    encode(text: string): Int32Array {
      return Int32Array.from(tokenizer.encode(text).ids);
    },
  };
}

/** Tokenises every document separately (for random calibration sampling). */
export function tokenizeDocuments(tok: TextTokenizer, docs: readonly string[]): Int32Array[] {
  return docs.map((d) => tok.encode(d));
}

/** Joins the documents with "\n\n" and tokenises once (perplexity and contiguous sampling). */
export function tokenizeJoined(tok: TextTokenizer, docs: readonly string[]): Int32Array {
  return tok.encode(docs.join('\n\n'));
}

/** Checks every id is inside the model's vocabulary. */
export function checkVocab(ids: Int32Array, vocabSize: number, source: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= vocabSize) {
      throw new CliError(`token id ${id} from ${source} is outside the model's vocabulary (vocab_size ${vocabSize})`);
    }
  }
}
