// Llama 2/3 and Mistral ("llama" in GGUF): the base architecture. Its
// differences are only optional: Llama 3's rope_freqs tensor (read by the
// loader) and Mistral's sliding window over every layer.
#include "common/status_macros.h"
#include "services/model/architectures.h"

namespace fm::model {

absl::Status ReadLlamaHparams(GgufHparams* h, LlamaConfig* c) {
  // GGUF's converter permutes q and k so that adjacent pairs rotate.
  c->rope_style = RopeStyle::kAdjacentPairs;
  FM_RETURN_IF_ERROR(h->Int("attention.sliding_window", false, 0, kMaxSeqLen,
                            &c->sliding_window));
  if (c->sliding_window > 0) {
    FM_RETURN_IF_ERROR(ReadSlidingLayers(h, /*default_pattern=*/0, c));
  }
  // Old converters' note on the weight layout (the permutation above).
  h->Ignore("tensor_data_layout");
  return absl::OkStatus();
}

}  // namespace fm::model
