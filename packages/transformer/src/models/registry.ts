import { type ModelConfig, normalizeConfig } from '../config.js';
import { Checkpoint } from '../io/checkpoint.js';
import type { CausalLM, TensorSource } from '../model.js';
import { LlamaModel } from './llama.js';
import { OptModel } from './opt.js';

/** model_type -> the architecture that runs it (mistral and qwen2 are Llama variants). */
export const ARCHITECTURES: Readonly<Record<ModelConfig['model_type'], string>> = Object.freeze({
  opt: 'OptModel',
  llama: 'LlamaModel',
  mistral: 'LlamaModel',
  qwen2: 'LlamaModel',
});

/**
 * Builds the model for a tensor source (a Checkpoint or a MemorySource) from its normalised config. Validates
 * the presence and shape of every tensor from the headers; reads no weights yet.
 */
export function modelFromSource(source: TensorSource, configFile = `${source.dir}/config.json`): CausalLM {
  const cfg = normalizeConfig(source.config, configFile);
  return cfg.model_type === 'opt' ? new OptModel(source, cfg) : new LlamaModel(source, cfg);
}

/** The model of an opened checkpoint. */
export function modelFromCheckpoint(ckpt: Checkpoint): CausalLM {
  return modelFromSource(ckpt, ckpt.configPath);
}

/** Opens a Hugging Face model folder (config.json + safetensors) as a CausalLM. */
export function loadModel(dir: string): CausalLM {
  const ckpt = Checkpoint.open(dir);
  try {
    return modelFromCheckpoint(ckpt);
  } catch (e) {
    ckpt.close();
    throw e;
  }
}
