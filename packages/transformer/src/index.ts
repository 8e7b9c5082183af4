// errors, config and checkpoint I/O
export { CheckpointError, ConfigError, StadeError, type ErrorSource } from './errors.js';
export {
  type AttentionKind,
  type CommonConfig,
  type LlamaConfig,
  type ModelConfig,
  type OptActivation,
  type OptConfig,
  type RopeScaling,
  SUPPORTED_MODEL_TYPES,
  normalizeConfig,
  slidingWindowFor,
} from './config.js';
export { DTYPE_SIZE, type FloatDtype, type SafetensorsDtype, isDtype, isFloatDtype } from './io/dtypes.js';
export { MAX_HEADER_BYTES, type TensorInfo } from './io/header.js';
export { SafetensorsFile } from './io/safetensors.js';
// in-memory safetensors for runtimes without a file system (the docs site's browser demo)
export { SafetensorsBuffer } from './io/buffer-source.js';
export { DEFAULT_METADATA, SafetensorsWriter, type TensorEntry, writeSafetensors } from './io/writer.js';
export {
  CONFIG_FILE,
  Checkpoint,
  type CheckpointTensorInfo,
  INDEX_FILE,
  WEIGHTS_FILE,
  readJsonObject,
} from './io/checkpoint.js';
// models, layers and evaluation
export {
  type BlockOptions,
  type CausalLM,
  type LinearLayer,
  MemorySource,
  type StoredLinear,
  type StoredTensor,
  type Tap,
  type TensorShapeInfo,
  type TensorSource,
} from './model.js';
export { ARCHITECTURES, loadModel, modelFromCheckpoint, modelFromSource } from './models/registry.js';
export { OptModel } from './models/opt.js';
export type { LinearForm } from './models/weights.js';
export { LlamaModel } from './models/llama.js';
export { type AttentionSpec, causalAttention, causalAttentionInto } from './layers/attention.js';
export { Workspace } from './layers/workspace.js';
export { Rope, ropeInvFreq } from './layers/rope.js';
export {
  DEFAULT_HIDDEN_BUDGET,
  DEFAULT_WEIGHT_BUDGET,
  type EvalMode,
  type PerplexityOptions,
  type PerplexityResult,
  crossEntropySum,
  parameterBytes,
  perplexity,
  perplexitySteps,
  resolveEvalMode,
} from './eval/perplexity.js';
// generation with a KV cache
export { type CachedDecoder, cachedDecoder, forwardCached, isCachedDecoder } from './generate/decoder.js';
export { type GenerateOptions, type GenerateResult, generate } from './generate/generate.js';
export { argmax, Sampler, type SamplerOptions, seededRandom } from './generate/sampler.js';
export {
  AUTO_SPARSE_MIN,
  AUTO_SPARSE_MIN_INPUTS,
  applyWeightFormat,
  chooseFormat,
  convertWeight,
  type LayerChoice,
  type LayerFormat,
  measureWeight,
  summarizeChoices,
  WEIGHT_FORMATS,
  type WeightFormat,
  weightFormHook,
} from './generate/weight-format.js';
export { cachedAttention, KvCache } from './layers/kv-cache.js';
