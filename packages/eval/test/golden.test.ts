// Golden test against tools/ref_zeroshot.py (a PyTorch re-implementation of lm-evaluation-harness's scoring)
// on the embedded models and the hand-written task records in fixtures/data/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadModel } from '@stade/transformer';
import { describe, expect, it } from 'vitest';
import { buildDocs, type Encode, encodePair, evaluateTask, getTask, PAPER_TASKS } from '../src/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

interface RefDoc {
  requests: { context: number[]; continuation: number[] }[];
  lls: number[];
  gold: number;
  pred: number;
  pred_norm: number | null;
}
interface RefModel {
  max_length: number;
  encodings: Record<string, number[]>;
  tasks: Record<string, { result: Record<string, number | null>; docs: RefDoc[] }>;
}
const ref = JSON.parse(readFileSync(`${fixtures}reference.json`, 'utf8')) as { models: Record<string, RefModel> };

function records(task: string): unknown[] {
  return readFileSync(`${fixtures}data/${task}.jsonl`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** A tokenizer that knows exactly the texts the reference encoded: asking for any other text fails the test. */
function tableEncoder(table: Record<string, number[]>): Encode {
  return (text) => {
    const ids = table[text];
    if (!ids) throw new Error(`the reference never encoded ${JSON.stringify(text)}`);
    return Int32Array.from(ids);
  };
}

for (const [name, m] of Object.entries(ref.models)) {
  describe(`${name} matches the PyTorch reference of the harness`, () => {
    const model = loadModel(`${root}models/${name}`);
    const encode = tableEncoder(m.encodings);
    for (const taskName of PAPER_TASKS) {
      it(taskName, () => {
        const task = getTask(taskName);
        const want = m.tasks[taskName]!;
        const docs = buildDocs(task, records(taskName), `${taskName}.jsonl`);
        // _encode_pair: the same token ids for every request
        docs.forEach((d, i) => {
          d.requests.forEach((r, k) => {
            const p = encodePair(encode, r.context, r.continuation);
            expect(Array.from(p.context)).toEqual(want.docs[i]!.requests[k]!.context);
            expect(Array.from(p.continuation)).toEqual(want.docs[i]!.requests[k]!.continuation);
          });
        });
        const { result, samples } = evaluateTask(model, encode, task, docs, { maxLength: m.max_length });
        samples.forEach((s, i) => {
          const w = want.docs[i]!;
          expect(s.gold).toBe(w.gold);
          for (const [k, ll] of s.lls.entries()) {
            expect(Math.abs(ll - w.lls[k]!)).toBeLessThan(1e-5 * Math.abs(w.lls[k]!));
          }
          expect(s.pred).toBe(w.pred);
          expect(s.pred_norm).toBe(w.pred_norm);
        });
        for (const [key, v] of Object.entries(want.result)) {
          if (v === null) expect(result[key as keyof typeof result]).toBeNull();
          else expect(result[key as keyof typeof result]).toBeCloseTo(v, 12);
        }
      });
    }
  });
}
