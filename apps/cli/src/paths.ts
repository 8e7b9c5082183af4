import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's `models/` folder holding the embedded default models and texts. Resolved relative to
 * this package (apps/cli/{src,dist}/ -> ../../../models), overridable with STADE_MODELS_DIR.
 */
export function modelsDir(): string {
  const env = process.env.STADE_MODELS_DIR;
  if (env) return resolve(env);
  return fileURLToPath(new URL('../../../models/', import.meta.url));
}

/** The embedded defaults. */
export const embedded = {
  model: () => resolve(modelsDir(), 'stade-llama-tiny'),
  /** The embedded models compared by a default sweep: Llama (RMSNorm, inputs not centred) and OPT (LayerNorm). */
  sweepModels: () => [resolve(modelsDir(), 'stade-llama-tiny'), resolve(modelsDir(), 'stade-opt-tiny')],
  calib: () => resolve(modelsDir(), 'text', 'calibration.txt'),
  eval: () => resolve(modelsDir(), 'text', 'eval.txt'),
};

/** Whether the embedded models are present (a fresh clone has them; a bare npm install does not). */
export function embeddedAvailable(): boolean {
  return existsSync(embedded.model());
}
