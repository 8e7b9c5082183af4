import { type EvalMode, perplexity, perplexitySteps, resolveEvalMode } from '@stade/transformer';
import { bool, num, str, type Values } from '../args.js';
import type { Io } from '../io.js';
import { embedded } from '../paths.js';
import { Progress } from '../report/progress.js';
import { fmtPpl } from '../report/table.js';
import { loadTokenizer } from '../text.js';
import { evalIds, limitWindows, openModel, peakRssMb, resolveModelDir, resolveSeqlen, since } from './common.js';

/** `stade eval --json` output. */
export interface EvalResult {
  ppl: number;
  windows: number;
  seqlen: number;
  tokens: number;
  model: string;
  data: string;
  seconds: number;
  /** How the windows went through the model: 'window' or 'block' (see --eval-mode). */
  mode: 'window' | 'block';
  /** Peak resident memory of the process in MB (null where the runtime cannot tell). */
  peakRssMb: number | null;
}

/** `stade eval`: perplexity of a model on a text (SPEC 9). */
export async function evalCommand(v: Values, io: Io): Promise<EvalResult> {
  const t0 = performance.now();
  const dir = resolveModelDir(v);
  const data = str(v, 'data') ?? embedded.eval();
  const { model } = openModel(dir);
  const seqlen = resolveSeqlen(v, model, dir);
  const tok = loadTokenizer(dir);
  const ids = evalIds(tok, data, model, seqlen);
  const used = limitWindows(ids, seqlen, num(v, 'max-windows'));
  const mode = resolveEvalMode(model, (str(v, 'eval-mode') ?? 'auto') as EvalMode);
  const bar = new Progress(
    io,
    `eval (${mode} mode)`,
    perplexitySteps(model, Math.floor(used.length / seqlen), mode, seqlen),
  );
  const r = perplexity(model, used, { seqlen, mode, onProgress: (done) => bar.update(done) });
  bar.finish();
  const result: EvalResult = {
    ppl: r.ppl,
    windows: r.windows,
    seqlen: r.seqlen,
    tokens: ids.length,
    model: dir,
    data,
    seconds: since(t0),
    mode: r.mode,
    peakRssMb: peakRssMb(),
  };
  if (bool(v, 'json')) io.out(`${JSON.stringify(result)}\n`);
  else {
    io.out(
      `perplexity ${fmtPpl(result.ppl)}  (${result.windows} windows of ${result.seqlen} tokens, ${result.tokens} tokens, ${result.seconds.toFixed(1)} s)\n`,
    );
  }
  return result;
}
