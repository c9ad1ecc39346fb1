// TokenId: a token's index in a model's vocabulary, [0, vocab_size). The
// one type every stage uses for it (tokenizer, model, sampler, gateway).
#ifndef FM_COMMON_TOKEN_ID_H_
#define FM_COMMON_TOKEN_ID_H_

#include <cstdint>

namespace fm {

using TokenId = int32_t;

}  // namespace fm

#endif  // FM_COMMON_TOKEN_ID_H_
