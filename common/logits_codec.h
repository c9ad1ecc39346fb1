// Logits on the wire: the one place that packs a float vector into
// fm.v1.Logits (dense f32, dense f16 or top-K) and unpacks it, validating
// everything a peer could get wrong.
#ifndef FM_COMMON_LOGITS_CODEC_H_
#define FM_COMMON_LOGITS_CODEC_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "fm/v1/common.pb.h"

namespace fm {

// Largest vocabulary a logits message may declare (Llama 3 has 128,256).
inline constexpr int32_t kMaxLogitsVocab = 1 << 22;

// Validates a requested format against the vocabulary size: INVALID_ARGUMENT
// for an unknown dtype or top_k outside [0, vocab_size].
absl::Status ValidateLogitsFormat(const fm::v1::LogitsFormat& format,
                                  int32_t vocab_size);

// Packs `logits` (vocab_size entries) as `format` asks. Dense f32 is filled
// with Resize + memcpy (see DESIGN.md: 2.4x cheaper than add_values).
// `allowed` (AppendOp.allowed_ids: a bitmap of ceil(vocab_size / 8) bytes,
// or empty for every id) restricts a top-K head to its ids.
void EncodeLogits(absl::Span<const float> logits,
                  const fm::v1::LogitsFormat& format, fm::v1::Logits* out,
                  absl::string_view allowed = {});

// INVALID_ARGUMENT naming `field` unless `allowed` is empty or a bitmap of
// exactly ceil(vocab_size / 8) bytes with no bit set past vocab_size.
absl::Status ValidateAllowedIds(absl::string_view allowed, int32_t vocab_size,
                                absl::string_view field);

// Unpacks into a dense vector of `expected_vocab` entries (top-K: absent
// ids are -infinity). INVALID_ARGUMENT when vocab_size differs from
// `expected_vocab` (if > 0) or exceeds kMaxLogitsVocab, the payload is missing or has the wrong
// length, an id is out of range or repeated, or a value is NaN/+inf
// (naming the index).
absl::Status DecodeLogits(const fm::v1::Logits& in, int32_t expected_vocab,
                          std::vector<float>* out);

}  // namespace fm

#endif  // FM_COMMON_LOGITS_CODEC_H_
