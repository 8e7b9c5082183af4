// Bad records: one error naming the file, the record and the field.
import { describe, expect, it } from 'vitest';
import { buildDocs, encodePair, getTask, lastWordRecords, ZeroshotError } from '../src/index.js';

const arc = { question: 'Q?', choices: { text: ['a', 'b', 'c'], label: ['A', 'B', 'C'] }, answerKey: 'B' };
const build = (task: string, recs: unknown[]) => () => buildDocs(getTask(task), recs, `${task}.jsonl`);

describe('bad task records', () => {
  it('a missing field', () => {
    expect(
      build('boolq', [
        { passage: 'p', question: 'q', label: 1 },
        { passage: 'p', label: 0 },
      ]),
    ).toThrow('boolq.jsonl: record 2: field "question": missing');
  });
  it('an answer key not among the labels', () => {
    expect(build('arc_easy', [{ ...arc, answerKey: 'E' }])).toThrow(
      'arc_easy.jsonl: record 1: field "answerKey": "E" is not among the labels ["A","B","C"]',
    );
  });
  it('an empty choice list', () => {
    expect(build('arc_challenge', [{ ...arc, choices: { text: [], label: [] } }])).toThrow(
      'arc_challenge.jsonl: record 1: field "choices.text": empty choice list',
    );
    const hs = { activity_label: 'a', ctx_a: 'b', ctx_b: 'c', endings: [], label: '0' };
    expect(build('hellaswag', [hs])).toThrow('hellaswag.jsonl: record 1: field "endings": empty choice list');
  });
  it('a winogrande sentence without a blank', () => {
    const w = { sentence: 'No blank here.', option1: 'a', option2: 'b', answer: '1' };
    expect(build('winogrande', [w])).toThrow(
      'winogrande.jsonl: record 1: field "sentence": no blank "_" in "No blank here."',
    );
  });
  it('a file of another task', () => {
    expect(build('boolq', [arc])).toThrow(
      'boolq.jsonl: record 1: field "passage": missing (the record has the fields of arc_easy: is this a arc_easy file?)',
    );
  });
  it('labels out of range, wrong types, an unknown task', () => {
    expect(build('rte', [{ sentence1: 'a', sentence2: 'b', label: -1 }])).toThrow('field "label": -1 is not an index');
    expect(build('winogrande', [{ sentence: 'a _ b', option1: 'x', option2: 'y', answer: '3' }])).toThrow(
      'field "answer": expected "1" or "2", got "3"',
    );
    expect(build('openbookqa', [{ question_stem: 7, choices: arc.choices, answerKey: 'A' }])).toThrow(
      'field "question_stem": expected a string, got 7',
    );
    expect(build('boolq', ['text'])).toThrow('boolq.jsonl: record 1: expected an object');
    expect(build('boolq', [])).toThrow('boolq.jsonl: no records');
    expect(() => getTask('mmlu')).toThrow(ZeroshotError);
  });
  it('the error carries the file and the field', () => {
    try {
      build('arc_easy', [{ ...arc, answerKey: 'Z' }])();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ZeroshotError);
      expect((e as ZeroshotError).file).toBe('arc_easy.jsonl');
      expect((e as ZeroshotError).key).toBe('answerKey');
    }
  });
});

describe('task details', () => {
  it('openbookqa strips the answer key on the left, hellaswag takes string or integer labels', () => {
    const obqa = buildDocs(getTask('openbookqa'), [{ question_stem: 'Q', choices: arc.choices, answerKey: ' C' }], 'o');
    expect(obqa[0]!.gold).toBe(2);
    const hs = { activity_label: 'A', ctx_a: 'b', ctx_b: 'c', endings: ['x', 'y'] };
    expect(buildDocs(getTask('hellaswag'), [{ ...hs, label: '1' }], 'h')[0]!.gold).toBe(1);
    expect(buildDocs(getTask('hellaswag'), [{ ...hs, label: 1n }], 'h')[0]!.gold).toBe(1);
  });
  it('encodePair moves trailing whitespace and splits by the context length', () => {
    const calls: string[] = [];
    const enc = (t: string) => {
      calls.push(t);
      return Int32Array.from([...t].map((c) => c.codePointAt(0)!));
    };
    const p = encodePair(enc, 'ab  ', 'c', 7);
    expect(calls).toEqual(['ab  c', 'ab']);
    expect(Array.from(p.context)).toEqual([7, 97, 98]);
    expect(Array.from(p.continuation)).toEqual([32, 32, 99]);
  });
  it('the embedded last-word task is deterministic and well formed', () => {
    const text = Array.from(
      { length: 40 },
      (_, i) => `The sailor number ${i} looked at the grey water of the harbour.`,
    ).join('\n\n');
    const a = lastWordRecords(`${text}\n\nwhale ship oars mast deck`, 10);
    expect(a).toEqual(lastWordRecords(`${text}\n\nwhale ship oars mast deck`, 10));
    expect(a.length).toBeGreaterThanOrEqual(5);
    const docs = buildDocs(getTask('choice'), a, 'embedded');
    docs.forEach((d, i) => {
      expect(d.choices.length).toBe(4);
      expect(d.gold).toBe(i % 4);
      expect(d.choices[d.gold]).toBe('harbour');
      expect(d.requests[0]!.context).toMatch(/^The sailor number \d+ looked at the grey water of the$/);
    });
  });
});
