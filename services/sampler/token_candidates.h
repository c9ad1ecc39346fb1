// The candidate set a sampler chain works on: one entry per token still in
// the running, after llama.cpp's llama_token_data / llama_token_data_array.
#ifndef FM_SERVICES_SAMPLER_TOKEN_CANDIDATES_H_
#define FM_SERVICES_SAMPLER_TOKEN_CANDIDATES_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "common/token_id.h"

namespace fm::sampler {

struct TokenData {
  TokenId id;
  float logit;  // May be -inf (banned); never NaN or +inf.
  float prob;   // Only meaningful right after a stage computed it (Softmax).
};

struct TokenCandidates {
  // (size) The candidates, in no particular order unless `sorted`.
  std::vector<TokenData> data;
  // Index into `data` of the chosen candidate, set by a selector stage.
  // It is an index in the data array, NOT a token id. -1 = nothing chosen.
  int64_t selected = -1;
  // True when `data` is sorted by logit, highest first. Do not assume the
  // data is sorted: always check this flag.
  bool sorted = false;
  // True when data[i].id == i for every i (the full vocabulary in id order),
  // which lets stages that know token ids (penalties, bias) index directly.
  // Any stage that removes or reorders entries must clear it.
  bool dense = false;
  // Optional: log(sum(exp(logit))) over the final set, left by a selector
  // that computed it anyway, so Sample need not recompute it. NaN = unknown.
  // Only a selector (the last stage) sets it; Sample resets it per call.
  double log_normalizer = std::numeric_limits<double>::quiet_NaN();

  size_t size() const { return data.size(); }
  bool empty() const { return data.empty(); }
};

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_TOKEN_CANDIDATES_H_
