/** A record of the generic `choice` task layout. */
export interface ChoiceRecord {
  context: string;
  choices: string[];
  label: number;
}

/** Sentences of a paragraph: split after ". ", "! " or "? " (a plain rule; the demo needs no more). */
function sentences(paragraph: string): string[] {
  return paragraph
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length >= 20 && s.length <= 200);
}

/**
 * A small "which sentence comes next" task from a plain text (paragraphs separated by blank lines): the
 * context is a sentence, the choices its true successor in the same paragraph and three sentences from far
 * away in the text; the true one's position rotates. Deterministic; at most `n` records.
 */
export function nextSentenceRecords(text: string, n: number): ChoiceRecord[] {
  const paras = text.split(/\n\s*\n/).map(sentences);
  const all = paras.flat();
  const pairs: [string, string][] = [];
  for (const p of paras) for (let i = 0; i + 1 < p.length; i++) pairs.push([p[i]!, p[i + 1]!]);
  const out: ChoiceRecord[] = [];
  const stride = Math.max(1, Math.floor(pairs.length / n));
  for (let k = 0; k < pairs.length && out.length < n; k += stride) {
    const [context, next] = pairs[k]!;
    const wrong = [1, 2, 3].map((j) => all[(k * 7 + Math.floor((j * all.length) / 4)) % all.length]!);
    const label = out.length % 4;
    const choices = [...wrong];
    choices.splice(label, 0, next);
    out.push({ context, choices, label });
  }
  return out;
}
