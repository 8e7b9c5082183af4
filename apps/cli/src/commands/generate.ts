import { releaseResidentDecode } from '@stade/tensor';
import { applyWeightFormat, generate, summarizeChoices, type WeightFormat } from '@stade/transformer';
import { bool, num, str, type Values } from '../args.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { checkVocab, loadTokenizer } from '../text.js';
import { openModel, resolveModelDir } from './common.js';
import { decoderOf, eosIds, fmtSpeed, perSecond, warmUp } from './decoding.js';

/** `stade generate --json` output. */
export interface GenerateJson {
  text: string;
  /** The generated token ids (without the prompt). */
  ids: number[];
  prompt_tokens: number;
  prefill_tokens_per_s: number | null;
  decode_tokens_per_s: number | null;
}

/** `stade generate`: continues a prompt with the KV-cached decoder, streaming the text (issue 11). */
export async function generateCommand(v: Values, io: Io): Promise<GenerateJson> {
  const dir = resolveModelDir(v);
  const prompt = str(v, 'prompt')!;
  const maxNew = num(v, 'max-new-tokens')!;
  const topP = num(v, 'top-p')!;
  if (!(topP > 0)) throw new UsageError(`--top-p must be in (0, 1], got ${topP}`);
  const json = bool(v, 'json');
  const { ckpt, model } = openModel(dir);
  try {
    const m = decoderOf(model, dir);
    const choices = applyWeightFormat(m, str(v, 'weights') as WeightFormat);
    const tok = loadTokenizer(dir);
    const ids = tok.encode(prompt);
    if (ids.length === 0) throw new UsageError('--prompt gives no tokens');
    checkVocab(ids, m.vocabSize, '--prompt');
    if (ids.length + maxNew - 1 > m.maxPositions) {
      throw new UsageError(
        `--prompt (${ids.length} tokens) and --max-new-tokens ${maxNew} exceed the model's max_position_embeddings ${m.maxPositions}`,
      );
    }
    warmUp(m);
    if (!json) io.err(`weights: ${summarizeChoices(choices)} (--weights ${str(v, 'weights')})\n`);
    const decode = (out: number[]) => tok.tokenizer.decode(out, { skip_special_tokens: true });
    const produced: number[] = [];
    let shown = 0;
    if (!json) io.out(prompt);
    const r = generate(m, ids, {
      maxNewTokens: maxNew,
      temperature: num(v, 'temperature')!,
      topK: num(v, 'top-k')!,
      topP,
      seed: num(v, 'seed')!,
      eosIds: eosIds(m.config),
      onToken: (id) => {
        produced.push(id);
        if (json) return;
        const text = decode(produced);
        // wait while the last token ends inside a multi-byte character
        if (text.length > shown && !text.endsWith('\uFFFD')) {
          io.out(text.slice(shown));
          shown = text.length;
        }
      },
    });
    const text = decode(produced);
    const result: GenerateJson = {
      text,
      ids: Array.from(r.ids),
      prompt_tokens: r.promptTokens,
      prefill_tokens_per_s: perSecond(r.promptTokens, r.prefillSeconds),
      decode_tokens_per_s: perSecond(r.decodeTokens, r.decodeSeconds),
    };
    if (json) io.out(`${JSON.stringify(result)}\n`);
    else {
      if (text.length > shown) io.out(text.slice(shown));
      io.out(
        `\n\nprefill ${fmtSpeed(result.prefill_tokens_per_s)} (${r.promptTokens} prompt tokens), ` +
          `decode ${fmtSpeed(result.decode_tokens_per_s)} (${r.ids.length} new tokens)\n`,
      );
    }
    return result;
  } finally {
    releaseResidentDecode();
    ckpt.close();
  }
}
