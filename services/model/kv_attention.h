// Attention over an F16 KV cache (the default --kv_dtype): scores and the
// value mix read half-precision keys and values, converted in registers
// (F16C), and F32 rows are stored into it rounded to nearest even.
#ifndef FM_SERVICES_MODEL_KV_ATTENTION_H_
#define FM_SERVICES_MODEL_KV_ATTENTION_H_

#include <cstdint>

namespace fm::model {

// scores[t] = scale * dot(q, keys + t * stride), head_size values each.
void AttentionScoresF16(const float* q, const uint16_t* keys, int64_t stride,
                        int64_t n_pos, int64_t head_size, float scale,
                        float* scores);
// out[i] = sum over t of weights[t] * values[t * stride + i].
void AttentionMixF16(const float* weights, const uint16_t* values,
                     int64_t stride, int64_t n_pos, int64_t head_size,
                     float* out);
// out[0, n) = in rounded to IEEE half (as F32ToF16, vectorized).
void StoreF16(const float* in, uint16_t* out, int64_t n);

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_KV_ATTENTION_H_
