// End of generation: the ids after which a model has finished its turn.
// EOS, and the end-of-turn tokens of instruct models, known by the texts
// their tokenizers give them (llama.cpp recognises the same ones).
#ifndef FM_SERVICES_TOKENIZER_END_OF_GENERATION_H_
#define FM_SERVICES_TOKENIZER_END_OF_GENERATION_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "common/token_id.h"
#include "services/tokenizer/added_tokens.h"

namespace fm::tokenizer {

// "<|eot_id|>" (Llama 3), "<|im_end|>" (Qwen), "<end_of_turn>" (Gemma), ...
bool IsEndOfTurnText(absl::string_view content);

// `eos` (when >= 0) and every special added token with an end-of-turn
// text, each once, in id order.
std::vector<TokenId> EndOfGenerationIds(TokenId eos,
                                        const std::vector<AddedToken>& added);

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_END_OF_GENERATION_H_
