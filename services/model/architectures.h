// The Llama-family architectures a GGUF file may declare: the keys they all
// share, then one reader per architecture for its differences (its own
// file: arch_llama.cc, arch_qwen.cc, arch_gemma.cc). Each reader validates
// every key it reads; GgufHparams refuses any key left unread.
#ifndef FM_SERVICES_MODEL_ARCHITECTURES_H_
#define FM_SERVICES_MODEL_ARCHITECTURES_H_

#include <string>

#include "absl/status/status.h"
#include "services/model/gguf_hparams.h"
#include "services/model/llama_config.h"

namespace fm::model {

// Fills `c` from the "<arch>.*" keys (c->vocab_size already set from the
// embedding's shape) and derives its sizes. INVALID_ARGUMENT naming the
// architecture when it is not implemented, or the key that is wrong or
// not implemented.
absl::Status ReadArchitecture(const std::string& arch, GgufHparams* h,
                              LlamaConfig* c);

// "llama, qwen2, qwen3, gemma2, gemma3": for messages.
std::string SupportedArchitectures();

// --- For the per-architecture readers. ---

// The keys every architecture shares: sizes, context length, RoPE base,
// dimension count and linear scaling, RMSNorm epsilon, vocabulary size.
absl::Status ReadCommonHparams(GgufHparams* h, LlamaConfig* c);

// The sliding-window layers, as llama.cpp's swa pattern: with period 0
// every layer (Mistral), else layer l when l % period < period - 1 (Gemma:
// 6 or 2). The file's attention.sliding_window_pattern (a period, or a bool
// per layer) overrides the architecture's default period.
absl::Status ReadSlidingLayers(GgufHparams* h, int32_t default_pattern,
                               LlamaConfig* c);

absl::Status ReadLlamaHparams(GgufHparams* h, LlamaConfig* c);
absl::Status ReadQwen2Hparams(GgufHparams* h, LlamaConfig* c);
absl::Status ReadQwen3Hparams(GgufHparams* h, LlamaConfig* c);
absl::Status ReadGemma2Hparams(GgufHparams* h, LlamaConfig* c);
absl::Status ReadGemma3Hparams(GgufHparams* h, LlamaConfig* c);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_ARCHITECTURES_H_
