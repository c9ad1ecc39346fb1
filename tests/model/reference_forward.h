// The test oracle: a plain scalar transliteration of llama2.c run.c's
// forward(), one token at a time, over a TinyModel's F32 weights.
#ifndef FM_TESTS_MODEL_REFERENCE_FORWARD_H_
#define FM_TESTS_MODEL_REFERENCE_FORWARD_H_

#include <vector>

#include "tests/model/tiny_model_writer.h"

namespace fm::model::testing {

class ReferenceTransformer {
 public:
  // Keeps a reference to `m`, which must outlive this object.
  explicit ReferenceTransformer(const TinyModel& m);

  // llama2.c forward(transformer, token, pos): returns the logits.
  std::vector<float> Forward(int token, int pos);

 private:
  const TinyModel& m_;
  std::vector<float> x_, xb_, xb2_, hb_, hb2_, q_, att_, logits_;
  std::vector<float> key_cache_;    // (layer, seq_len, kv_dim)
  std::vector<float> value_cache_;  // (layer, seq_len, kv_dim)
};

}  // namespace fm::model::testing

#endif  // FM_TESTS_MODEL_REFERENCE_FORWARD_H_
