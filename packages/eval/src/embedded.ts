/** A record of the generic `choice` task layout. */
export interface ChoiceRecord {
  context: string;
  choices: string[];
  label: number;
}

/**
 * A small last-word task from a plain text (LAMBADA-like, for demos): the context is a sentence without its
 * last word, the choices are that word and three other words of the text; the true one's position rotates.
 * Sentences are split after ". ", "! ", "? " (a plain rule; the demo needs no more). Deterministic; at most `n`
 * records, spread over the text.
 */
export function lastWordRecords(text: string, n: number): ChoiceRecord[] {
  const sentences = text
    .split(/\n\s*\n/)
    .flatMap((p) => p.split(/(?<=[.!?])\s+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 40 && s.length < 200);
  const words = [...new Set(text.match(/[a-z]{4,}/g) ?? [])];
  const out: ChoiceRecord[] = [];
  const stride = Math.max(1, Math.floor(sentences.length / n));
  for (let k = 0; k < sentences.length && out.length < n; k += stride) {
    const m = sentences[k]!.match(/^(.*\S)\s+([A-Za-z]+)[.!?]$/);
    if (!m || words.length < 4) continue;
    const [, context, last] = m as unknown as [string, string, string];
    const wrong = [1, 2, 3].map((j) => words[(k * 31 + j * 977) % words.length]!).filter((w) => w !== last);
    if (new Set(wrong).size !== 3) continue;
    const label = out.length % 4;
    const choices = [...wrong];
    choices.splice(label, 0, last);
    out.push({ context, choices, label });
  }
  return out;
}
