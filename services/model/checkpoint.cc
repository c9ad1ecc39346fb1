// LoadCheckpoint: maps the file, picks the loader from the magic bytes
// (GGUF, llama2.c "ak42", else legacy llama2.c) and validates the result.
#include "services/model/checkpoint.h"

#include <cstring>
#include <set>

#include "common/status_macros.h"
#include "services/model/gguf_loader.h"
#include "services/model/llama2c_loader.h"

namespace fm::model {
namespace {

uint64_t WeightBytes(const LlamaWeights& w) {
  std::set<const void*> seen;
  uint64_t total = 0;
  auto add = [&](const Tensor& t) {
    if (seen.insert(t.data).second) total += t.bytes();
  };
  add(w.token_embedding);
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : LayerTensors(l)) add(*t);
  }
  add(w.rms_final);
  add(w.wcls);
  if (w.rope_freqs.present()) add(w.rope_freqs);
  return total;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> LoadCheckpoint(
    absl::string_view path) {
  FM_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path));
  return LoadCheckpointFromFile(std::move(file));
}

absl::StatusOr<std::unique_ptr<Checkpoint>> LoadCheckpointFromFile(
    std::unique_ptr<MappedFile> file) {
  auto ckpt = std::make_unique<Checkpoint>();
  ckpt->file = std::move(file);
  const uint8_t* data = ckpt->file->data();
  const uint64_t size = ckpt->file->size();
  uint32_t magic = 0;
  if (size >= 4) std::memcpy(&magic, data, 4);
  if (magic == gguf::kMagic) {
    FM_RETURN_IF_ERROR(LoadGguf(ckpt.get()));
  } else {
    // llama2.c: the "ak42" magic, or no magic at all (legacy header).
    FM_RETURN_IF_ERROR(LoadLlama2c(ckpt.get()));
  }
  FM_RETURN_IF_ERROR(ValidateWeights(ckpt->config, ckpt->weights));
  ckpt->weight_bytes = WeightBytes(ckpt->weights);
  if (ckpt->tensor_types.empty()) {  // llama2.c: every tensor is F32
    const LlamaWeights& w = ckpt->weights;
    // The embedding, the final norm, an untied classifier, the layers'.
    int32_t n = w.shared_classifier ? 2 : 3;
    for (const LayerWeights& l : w.layers) {
      n += static_cast<int32_t>(LayerTensors(l).size());
    }
    ckpt->tensor_types["F32"] = n;
  }
  return ckpt;
}

}  // namespace fm::model
