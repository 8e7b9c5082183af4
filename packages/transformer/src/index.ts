// errors, config and checkpoint I/O

export {
  type AttentionKind,
  type CommonConfig,
  type LlamaConfig,
  type ModelConfig,
  normalizeConfig,
  type OptActivation,
  type OptConfig,
  type RopeScaling,
  SUPPORTED_MODEL_TYPES,
  slidingWindowFor,
} from './config.js';
export { CheckpointError, ConfigError, type ErrorSource, StadeError } from './errors.js';
export {
  crossEntropySum,
  DEFAULT_HIDDEN_BUDGET,
  DEFAULT_WEIGHT_BUDGET,
  type EvalMode,
  type PerplexityOptions,
  type PerplexityResult,
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
  type WeightFormHook,
  weightFormHook,
} from './generate/weight-format.js';
// in-memory safetensors for runtimes without a file system (the docs site's browser demo)
export { SafetensorsBuffer } from './io/buffer-source.js';
export {
  Checkpoint,
  type CheckpointTensorInfo,
  CONFIG_FILE,
  INDEX_FILE,
  readJsonObject,
  WEIGHTS_FILE,
} from './io/checkpoint.js';
export { DTYPE_SIZE, type FloatDtype, isDtype, isFloatDtype, type SafetensorsDtype } from './io/dtypes.js';
export { MAX_HEADER_BYTES, type TensorInfo } from './io/header.js';
export { SafetensorsFile } from './io/safetensors.js';
export { DEFAULT_METADATA, SafetensorsWriter, type TensorEntry, writeSafetensors } from './io/writer.js';
export { type AttentionSpec, causalAttention, causalAttentionInto } from './layers/attention.js';
export { cachedAttention, KvCache } from './layers/kv-cache.js';
export {
  checkSegments,
  type PackedSegment,
  packedAttention,
  packedAttentionInto,
  packedAttentionNaive,
  segmentPositions,
} from './layers/packed-attention.js';
export { Rope, ropeInvFreq } from './layers/rope.js';
export { Workspace } from './layers/workspace.js';
// models, layers and evaluation
export {
  type BlockOptions,
  type CausalLM,
  isPackedDecoder,
  type LinearLayer,
  MemorySource,
  type PackedDecoder,
  type StoredLinear,
  type StoredTensor,
  type Tap,
  type TensorShapeInfo,
  type TensorSource,
} from './model.js';
export { LlamaModel } from './models/llama.js';
export { OptModel } from './models/opt.js';
export { ARCHITECTURES, loadModel, modelFromCheckpoint, modelFromSource } from './models/registry.js';
export type { LinearForm } from './models/weights.js';
