// The seven zero-shot tasks of the pruning papers, as lm-evaluation-harness v0.4.x defines them (its task
// files super_glue/boolq/default.yaml, glue/rte/default.yaml, hellaswag/{hellaswag.yaml,utils.py},
// winogrande/{default.yaml,preprocess_winogrande.py}, arc/arc_easy.yaml, openbookqa/openbookqa.yaml), plus a
// generic `choice` layout used by the embedded demo task. Records use the Hugging Face datasets' field layout.
import { type RecordRef, recordError, show, ZeroshotError } from './errors.js';
import { pyCapitalize, pyLstrip, pyStrip } from './pystr.js';

/** Metrics a task reports (the harness's metric_list). */
export type Metric = 'acc' | 'acc_norm';

/** One document turned into the harness's log-likelihood requests. */
export interface TaskDoc {
  /** One (context, continuation) pair per choice; the continuation starts with the target delimiter " ". */
  requests: { context: string; continuation: string }[];
  /** `doc_to_choice(doc)`: acc_norm divides each log-likelihood by its choice's length in characters. */
  choices: string[];
  /** Index of the right choice. */
  gold: number;
}

/** A zero-shot task: how a record becomes requests. */
export interface TaskSpec {
  name: string;
  /** The split the papers evaluate (validation or test). */
  split: string;
  metrics: readonly Metric[];
  /** Top-level fields every record has (used to tell a file of another task). */
  fields: readonly string[];
  build(rec: Record<string, unknown>, at: RecordRef): TaskDoc;
}

type Rec = Record<string, unknown>;

function field(rec: Rec, name: string, at: RecordRef): unknown {
  if (!(name in rec) || rec[name] === undefined || rec[name] === null) {
    const other = TASK_LIST.find((t) => t.fields.every((f) => f in rec));
    const hint = other ? ` (the record has the fields of ${other.name}: is this a ${other.name} file?)` : '';
    recordError(at, name, `missing${hint}`);
  }
  return rec[name];
}

function str(rec: Rec, name: string, at: RecordRef): string {
  const v = field(rec, name, at);
  if (typeof v !== 'string') recordError(at, name, `expected a string, got ${show(v)}`);
  return v;
}

function strList(v: unknown, name: string, at: RecordRef): string[] {
  if (!Array.isArray(v)) recordError(at, name, `expected a list of strings, got ${show(v)}`);
  if (v.length === 0) recordError(at, name, 'empty choice list');
  v.forEach((x, i) => {
    if (typeof x !== 'string') recordError(at, `${name}[${i}]`, `expected a string, got ${show(x)}`);
  });
  return v as string[];
}

/** An integer label (a number, or a bigint from parquet) in [0, n). */
function index(v: unknown, name: string, n: number, at: RecordRef, what = 'choices'): number {
  const k = typeof v === 'bigint' ? Number(v) : v;
  if (typeof k !== 'number' || !Number.isInteger(k)) recordError(at, name, `expected an integer, got ${show(v)}`);
  if (k < 0 || k >= n) recordError(at, name, `${show(v)} is not an index of the ${n} ${what}`);
  return k;
}

/** Fixed-choice tasks: every continuation is `" " + choice` after one context. */
function plain(context: string, choices: string[], gold: number): TaskDoc {
  return { requests: choices.map((c) => ({ context, continuation: ` ${c}` })), choices, gold };
}

/** `{"choices": {"text": [...], "label": [...]}}` with the gold `label.index(key)`. */
function labelled(rec: Rec, key: string, at: RecordRef): { text: string[]; gold: number } {
  const c = field(rec, 'choices', at);
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    recordError(at, 'choices', `expected an object {text, label}, got ${show(c)}`);
  const o = c as Rec;
  const text = strList(o.text, 'choices.text', at);
  const label = strList(o.label, 'choices.label', at);
  if (label.length !== text.length)
    recordError(at, 'choices.label', `${label.length} labels for ${text.length} choices`);
  const gold = label.indexOf(key);
  if (gold < 0) recordError(at, 'answerKey', `${show(key)} is not among the labels ${show(label)}`);
  return { text, gold };
}

/** HellaSwag's preprocess (hellaswag/utils.py): strip, " [title]" -> ". ", drop "[...]", "  " -> " ". */
export function hellaswagPreprocess(text: string): string {
  // Python's "." matches anything but "\n" (JavaScript's also stops at "\r", U+2028, U+2029)
  return pyStrip(text)
    .replaceAll(' [title]', '. ')
    .replace(/\[[^\n]*?\]/g, '')
    .replaceAll('  ', ' ');
}

const boolq: TaskSpec = {
  name: 'boolq',
  split: 'validation',
  metrics: ['acc'],
  fields: ['passage', 'question', 'label'],
  build(rec, at) {
    const ctx = `${str(rec, 'passage', at)}\nQuestion: ${str(rec, 'question', at)}?\nAnswer:`;
    return plain(ctx, ['no', 'yes'], index(field(rec, 'label', at), 'label', 2, at));
  },
};

const rte: TaskSpec = {
  name: 'rte',
  split: 'validation',
  metrics: ['acc'],
  fields: ['sentence1', 'sentence2', 'label'],
  build(rec, at) {
    const ctx = `${str(rec, 'sentence1', at)}\nQuestion: ${str(rec, 'sentence2', at)} True or False?\nAnswer:`;
    return plain(ctx, ['True', 'False'], index(field(rec, 'label', at), 'label', 2, at));
  },
};

const hellaswag: TaskSpec = {
  name: 'hellaswag',
  split: 'validation',
  metrics: ['acc', 'acc_norm'],
  fields: ['activity_label', 'ctx_a', 'ctx_b', 'endings', 'label'],
  build(rec, at) {
    const ctx = `${str(rec, 'ctx_a', at)} ${pyCapitalize(str(rec, 'ctx_b', at))}`;
    const query = hellaswagPreprocess(`${str(rec, 'activity_label', at)}: ${ctx}`);
    const choices = strList(field(rec, 'endings', at), 'endings', at).map(hellaswagPreprocess);
    let label = field(rec, 'label', at);
    if (typeof label === 'string' && /^\s*\d+\s*$/.test(label)) label = Number(label); // int(doc["label"])
    return plain(query, choices, index(label, 'label', choices.length, at, 'endings'));
  },
};

const winogrande: TaskSpec = {
  name: 'winogrande',
  split: 'validation',
  metrics: ['acc'],
  fields: ['sentence', 'option1', 'option2', 'answer'],
  build(rec, at) {
    const sentence = str(rec, 'sentence', at);
    const blank = sentence.indexOf('_');
    if (blank < 0) recordError(at, 'sentence', `no blank "_" in ${show(sentence)}`);
    const options = [str(rec, 'option1', at), str(rec, 'option2', at)];
    const answer = field(rec, 'answer', at);
    const gold = answer === '1' || answer === 1 ? 0 : answer === '2' || answer === 2 ? 1 : -1;
    if (gold < 0) recordError(at, 'answer', `expected "1" or "2", got ${show(answer)}`);
    // partial evaluation: the context varies with the option, the continuation is fixed
    const choices = options.map((o) => sentence.slice(0, blank) + o);
    const continuation = ` ${pyStrip(sentence.slice(blank + 1))}`;
    return { requests: choices.map((context) => ({ context, continuation })), choices, gold };
  },
};

function arc(name: string): TaskSpec {
  return {
    name,
    split: 'test',
    metrics: ['acc', 'acc_norm'],
    fields: ['question', 'choices', 'answerKey'],
    build(rec, at) {
      const ctx = `Question: ${str(rec, 'question', at)}\nAnswer:`;
      const { text, gold } = labelled(rec, str(rec, 'answerKey', at), at);
      return plain(ctx, text, gold);
    },
  };
}

const openbookqa: TaskSpec = {
  name: 'openbookqa',
  split: 'test',
  metrics: ['acc', 'acc_norm'],
  fields: ['question_stem', 'choices', 'answerKey'],
  build(rec, at) {
    const { text, gold } = labelled(rec, pyLstrip(str(rec, 'answerKey', at)), at);
    return plain(str(rec, 'question_stem', at), text, gold);
  },
};

/** A generic multiple-choice layout `{context, choices: [...], label}` (the embedded demo task uses it). */
const choice: TaskSpec = {
  name: 'choice',
  split: 'test',
  metrics: ['acc', 'acc_norm'],
  fields: ['context', 'choices', 'label'],
  build(rec, at) {
    const choices = strList(field(rec, 'choices', at), 'choices', at);
    return plain(str(rec, 'context', at), choices, index(field(rec, 'label', at), 'label', choices.length, at));
  },
};

const TASK_LIST: readonly TaskSpec[] = [
  boolq,
  rte,
  hellaswag,
  winogrande,
  arc('arc_easy'),
  arc('arc_challenge'),
  openbookqa,
  choice,
];

/** The paper's seven tasks, in the order of its table. */
export const PAPER_TASKS = ['boolq', 'rte', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa'];

/** Every task by name (the seven plus the generic `choice` layout). */
export const TASKS: ReadonlyMap<string, TaskSpec> = new Map(TASK_LIST.map((t) => [t.name, t]));

/** The task of that name, or an error listing the known ones. */
export function getTask(name: string): TaskSpec {
  const t = TASKS.get(name);
  if (!t) throw new ZeroshotError(`unknown task ${show(name)}; known: ${[...TASKS.keys()].join(', ')}`, { key: name });
  return t;
}

/** Builds a record's requests, first checking it is an object. */
export function buildDoc(task: TaskSpec, rec: unknown, at: RecordRef): TaskDoc {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
    throw new ZeroshotError(`${at.file}: record ${at.record}: expected an object, got ${show(rec)}`, { file: at.file });
  const doc = task.build(rec as Rec, at);
  for (const r of doc.requests) {
    if (r.context === '') recordError(at, task.fields[0]!, 'the context is empty');
  }
  return doc;
}

/** Builds every record of a file (records numbered from 1, or from the line numbers given). */
export function buildDocs(
  task: TaskSpec,
  records: readonly unknown[],
  file: string,
  lines?: readonly number[],
): TaskDoc[] {
  if (records.length === 0) throw new ZeroshotError(`${file}: no records`, { file });
  return records.map((rec, i) => buildDoc(task, rec, { file, record: lines?.[i] ?? i + 1 }));
}
