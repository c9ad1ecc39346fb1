// Tokenizer::Encode: what every tokenizer does around its own encoding.
#include "services/tokenizer/tokenizer.h"

#include "common/utf8.h"

namespace fm::tokenizer {

absl::StatusOr<std::vector<TokenId>> Tokenizer::Encode(
    absl::string_view text, const EncodeOptions& options) const {
  absl::Status valid = ValidateUtf8(text, "text");
  if (!valid.ok()) return valid;
  std::vector<TokenId> ids;
  const text::SpecialIds special = special_ids();
  if (options.add_bos && special.bos >= 0) ids.push_back(special.bos);
  absl::Status encoded = EncodeText(text, &ids);
  if (!encoded.ok()) return encoded;
  if (options.add_eos && special.eos >= 0) ids.push_back(special.eos);
  return ids;
}

}  // namespace fm::tokenizer
