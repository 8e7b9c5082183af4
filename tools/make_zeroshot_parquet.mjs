// Converts the zero-shot task fixtures (packages/eval/test/fixtures/data/<task>.jsonl) to Parquet with the
// column types the Hugging Face Hub's files use (strings, INT64 labels, list<string>, struct<text, label>),
// snappy-compressed, into apps/cli/test/fixtures/zeroshot/<task>.parquet, for the CLI's Parquet reading test.
// Dev only. hyparquet-writer is not a dependency of the repository: install it in a scratch folder and pass
// its node_modules:
//   (mkdir -p /tmp/pq && cd /tmp/pq && npm init -y && npm install hyparquet-writer)
//   node tools/make_zeroshot_parquet.mjs /tmp/pq/node_modules
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const require = createRequire(join(process.argv[2] ?? root, 'x.js'));
const { parquetWriteBuffer } = await import(require.resolve('hyparquet-writer'));

const src = join(root, 'packages/eval/test/fixtures/data');
const out = join(root, 'apps/cli/test/fixtures/zeroshot');
const str = (name) => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
const strList = (name) => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { ...str('element') },
];

/** Schema elements of one column, from its first value (HF layouts: string, integer, list<string>, struct). */
function schemaOf(name, v) {
  if (typeof v === 'string') return [str(name)];
  if (typeof v === 'number') return [{ name, type: 'INT64', repetition_type: 'OPTIONAL' }];
  if (Array.isArray(v)) return strList(name);
  const keys = Object.keys(v);
  return [{ name, repetition_type: 'OPTIONAL', num_children: keys.length }, ...keys.flatMap((k) => schemaOf(k, v[k]))];
}
/** A value as its column's type: integers as INT64 (bigint), or as strings in a string column (HF hellaswag labels). */
const cell = (first, v) => (typeof v !== 'number' ? v : typeof first === 'string' ? String(v) : BigInt(v));

for (const f of readdirSync(src).filter((f) => f.endsWith('.jsonl'))) {
  const rows = readFileSync(join(src, f), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const names = Object.keys(rows[0]);
  const schema = [{ name: 'root', num_children: names.length }, ...names.flatMap((n) => schemaOf(n, rows[0][n]))];
  const columnData = names.map((n) => ({ name: n, data: rows.map((r) => cell(rows[0][n], r[n])) }));
  const buf = parquetWriteBuffer({ columnData, schema });
  writeFileSync(join(out, f.replace('.jsonl', '.parquet')), new Uint8Array(buf));
  console.log(f, rows.length, 'rows');
}
