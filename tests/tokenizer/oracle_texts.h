// The texts the tokenizer oracle tests encode: hand-picked cases (scripts
// and languages, code, emoji, digit runs, whitespace runs, text that looks
// like special tokens) and seeded random mixtures of them.
#ifndef FM_TESTS_TOKENIZER_ORACLE_TEXTS_H_
#define FM_TESTS_TOKENIZER_ORACLE_TEXTS_H_

#include <string>
#include <vector>

namespace fm::testing {

// At least 500 texts, the same on every run.
std::vector<std::string> OracleTexts();

}  // namespace fm::testing

#endif  // FM_TESTS_TOKENIZER_ORACLE_TEXTS_H_
