// Tokenise text files in Node, for tools/train/check_tokenizer.py.
//   node tools/train/encode.mjs hf MODEL_DIR FILE...      -> @huggingface/tokenizers ids (as the CLI gets them)
//   node tools/train/encode.mjs gpt2 CORPUS_DIR FILE...   -> GPT-2's full BPE from the gpt-3-encoder package
// Prints one JSON array of id arrays on stdout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const [mode, dir, ...files] = process.argv.slice(2);
let encode;
if (mode === 'hf') {
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const tok = new Tokenizer(json, config);
  encode = (text) => tok.encode(text).ids;
} else if (mode === 'gpt2') {
  const require = createRequire(join(dir, 'package.json'));
  const gpt2 = require('gpt-3-encoder');
  encode = (text) => gpt2.encode(text);
} else {
  console.error('usage: encode.mjs hf|gpt2 DIR FILE...');
  process.exit(2);
}
process.stdout.write(JSON.stringify(files.map((f) => Array.from(encode(readFileSync(f, 'utf8'))))));
