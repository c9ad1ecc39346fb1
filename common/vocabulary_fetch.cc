// FetchVocabulary: the GetVocab page loop, bounded.
#include "common/vocabulary_fetch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/channel_factory.h"
#include "common/status_util.h"

namespace fm {
namespace {

// 4096 pages of 2 MiB hold any vocabulary the tokenizer accepts.
constexpr int kMaxVocabPages = 4096;

}  // namespace

absl::StatusOr<fm::v1::GetVocabResponse> FetchVocabulary(
    fm::v1::TokenizerService::StubInterface& tokenizer,
    absl::Duration call_timeout) {
  fm::v1::GetVocabResponse vocab;
  fm::v1::GetVocabRequest page_request;
  for (int page = 0; page < kMaxVocabPages; ++page) {
    fm::v1::GetVocabResponse page_response;
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineAfter(call_timeout));
    grpc::Status s = tokenizer.GetVocab(&ctx, page_request, &page_response);
    if (!s.ok()) return FromGrpcStatus(s, "tokenizer");
    const int32_t next = page_response.next_offset();
    if (page == 0) {
      vocab = page_response;
      vocab.clear_entries();
    }
    // A pre-paging tokenizer sends everything with no vocab_size.
    const bool paged = page_response.vocab_size() > 0;
    if (paged &&
        (page_response.offset() != page_request.offset() ||
         next != page_request.offset() + page_response.entries_size() ||
         next > page_response.vocab_size() ||
         (page_response.entries_size() == 0 &&
          next < page_response.vocab_size()))) {
      return absl::FailedPreconditionError(
          absl::StrCat("tokenizer GetVocab page at ", page_request.offset(),
                       " is inconsistent (", page_response.entries_size(),
                       " entries, next_offset ", next, ", vocab_size ",
                       page_response.vocab_size(), ")"));
    }
    for (fm::v1::VocabEntry& e : *page_response.mutable_entries()) {
      *vocab.add_entries() = std::move(e);
    }
    if (!paged || next >= page_response.vocab_size()) {
      vocab.set_offset(0);
      vocab.set_next_offset(vocab.entries_size());
      return vocab;
    }
    page_request.set_offset(next);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("tokenizer vocabulary needs more than ", kMaxVocabPages,
                   " GetVocab pages"));
}

}  // namespace fm
