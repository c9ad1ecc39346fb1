// The end-of-turn texts.
#include "services/tokenizer/end_of_generation.h"

#include <algorithm>

namespace fm::tokenizer {

bool IsEndOfTurnText(absl::string_view content) {
  static constexpr absl::string_view kTexts[] = {
      "<|eot_id|>",      // Llama 3 instruct
      "<|eom_id|>",      // Llama 3.1 tool calls
      "<|im_end|>",      // ChatML: Qwen, ...
      "<end_of_turn>",   // Gemma
      "<|end|>",         // Phi-3
      "<|endoftext|>",   // GPT-2, Qwen base
      "<|end_of_text|>", // Llama 3 base
      "<EOT>",           // CodeLlama infill
      "<|return|>",      // gpt-oss
      "<|call|>",
      "<end_of_utterance>",
      "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // DeepSeek
  };
  return std::find(std::begin(kTexts), std::end(kTexts), content) !=
         std::end(kTexts);
}

std::vector<TokenId> EndOfGenerationIds(TokenId eos,
                                        const std::vector<AddedToken>& added) {
  std::vector<TokenId> ids;
  if (eos >= 0) ids.push_back(eos);
  for (const AddedToken& t : added) {
    if (t.special && IsEndOfTurnText(t.content)) ids.push_back(t.id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace fm::tokenizer
