// FetchVocabulary: a tokenizer's whole exported vocabulary, read page by
// page (a 262k-piece vocabulary exceeds one gRPC message) with every page
// checked to start where the last ended. Shared by the gateway (to decode)
// and the sampler (to constrain).
#ifndef FM_COMMON_VOCABULARY_FETCH_H_
#define FM_COMMON_VOCABULARY_FETCH_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fm/v1/tokenizer.grpc.pb.h"

namespace fm {

// One response holding every entry (offset 0, next_offset = vocab_size).
// The tokenizer's status (named) when a call fails; FAILED_PRECONDITION
// for inconsistent pages. Each call has `call_timeout`.
absl::StatusOr<fm::v1::GetVocabResponse> FetchVocabulary(
    fm::v1::TokenizerService::StubInterface& tokenizer,
    absl::Duration call_timeout);

}  // namespace fm

#endif  // FM_COMMON_VOCABULARY_FETCH_H_
