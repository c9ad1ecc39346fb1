// What every kernel over interleaved rows (interleaved_layout.h) shares,
// whatever its instruction set: the block types and their kernel shapes,
// the walk over row groups and input batches, the stores of a group's 8
// results and a group's fp16 row factors. The AVX2 kernels
// (interleaved_matmul.cc) and the AVX-512 VNNI ones (interleaved_vnni.cc)
// differ only in how one group's dot products are computed.
#ifndef FM_SERVICES_MODEL_INTERLEAVED_GROUPS_H_
#define FM_SERVICES_MODEL_INTERLEAVED_GROUPS_H_

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "services/model/dtype.h"
#include "services/model/interleaved_layout.h"
#include "services/model/kquant_matmul.h"
#include "services/model/quant.h"
#include "services/model/quant_blocks.h"

namespace fm::model {

// How many inputs one group kernel call takes (a template argument).
template <int NB>
using Width = std::integral_constant<int, NB>;

// A block type as a value, for VisitBlockType.
template <typename Block>
struct BlockTag {
  using type = Block;
};

// Calls visit(BlockTag<B>{}) with the interleaved block type B of `dtype`
// (an integer type); does nothing for any other.
template <typename Visitor>
inline void VisitBlockType(DType dtype, Visitor&& visit) {
  switch (dtype) {
    case DType::kQ2_K:
      return visit(BlockTag<BlockQ2_Kx8>{});
    case DType::kQ3_K:
      return visit(BlockTag<BlockQ3_Kx8>{});
    case DType::kQ4_K:
      return visit(BlockTag<BlockQ4_Kx8>{});
    case DType::kQ5_K:
      return visit(BlockTag<BlockQ5_Kx8>{});
    case DType::kQ6_K:
      return visit(BlockTag<BlockQ6_Kx8>{});
    case DType::kQ8_0:
      return visit(BlockTag<BlockQ8_0x8>{});
    case DType::kQ4_0:
      return visit(BlockTag<BlockQ4_0x8>{});
    case DType::kQ5_0:
      return visit(BlockTag<BlockQ5_0x8>{});
    case DType::kQ4_1:
      return visit(BlockTag<BlockQ4_1x8>{});
    case DType::kQ5_1:
      return visit(BlockTag<BlockQ5_1x8>{});
    default:
      return;
  }
}

// The four shapes of group kernel, by block type: 16-weight sub-blocks
// (Q2_K, Q3_K, Q6_K), 32-weight sub-blocks with 6-bit scales (Q4_K, Q5_K),
// Q8_0, and the 4- and 5-bit 32-weight types (Q4_0, Q5_0, Q4_1, Q5_1).
enum class GroupFamily { kSub16, kQ45K, kQ8_0, kNibbles32 };

template <typename Block>
constexpr GroupFamily FamilyOf() {
  if constexpr (std::is_same_v<Block, BlockQ2_Kx8> ||
                std::is_same_v<Block, BlockQ3_Kx8> ||
                std::is_same_v<Block, BlockQ6_Kx8>) {
    return GroupFamily::kSub16;
  } else if constexpr (std::is_same_v<Block, BlockQ4_Kx8> ||
                       std::is_same_v<Block, BlockQ5_Kx8>) {
    return GroupFamily::kQ45K;
  } else if constexpr (std::is_same_v<Block, BlockQ8_0x8>) {
    return GroupFamily::kQ8_0;
  } else {
    return GroupFamily::kNibbles32;
  }
}

// Weights per row in one block: 256 for the K types (which read
// Q8KActivations), 32 for the others (Q8Activations).
template <typename Block>
constexpr int BlockWeights() {
  constexpr GroupFamily f = FamilyOf<Block>();
  return f == GroupFamily::kSub16 || f == GroupFamily::kQ45K ? kQkK
                                                             : kQ8BlockSize;
}

// 8 fp16 per-row factors as floats.
__attribute__((target("avx2,f16c"))) inline __m256 RowHalves(
    const uint16_t* h) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h)));
}

// Stores rows [lo, hi) (within group g) of input i's results, v's lane r
// being the group's row r.
__attribute__((target("avx2"))) inline void StoreRows(__m256 v, int64_t g,
                                                      int64_t lo, int64_t hi,
                                                      int64_t i, int64_t rows,
                                                      float* out) {
  float* dst = out + i * rows + g * kInterleave;
  if (lo == 0 && hi == kInterleave) {
    _mm256_storeu_ps(dst, v);
    return;
  }
  alignas(32) float lanes[kInterleave];
  _mm256_store_ps(lanes, v);
  for (int64_t r = lo; r < hi; ++r) dst[r] = lanes[r];
}

// Runs `kernel(Width<W>{}, g, lo, hi, i)` for every group g of 8 rows that
// meets [row_begin, row_end) (lo, hi: the group's rows in range) and every
// batch of inputs i..i+W-1, the widths tried in the order given (e.g. 4,
// 2, 1: as many 4s as fit, then 2s, then 1s). Whatever n is, input i's
// results come from the same arithmetic: a kernel computes each input of
// its batch alone.
template <int... kWidths, typename GroupKernel>
inline void ForEachGroup(int64_t n, int64_t row_begin, int64_t row_end,
                         const GroupKernel& kernel) {
  for (int64_t g = row_begin / kInterleave; g * kInterleave < row_end; ++g) {
    const int64_t lo = std::max<int64_t>(row_begin - g * kInterleave, 0);
    const int64_t hi =
        std::min<int64_t>(row_end - g * kInterleave, kInterleave);
    int64_t i = 0;
    const auto run = [&](auto width) {
      for (; i + width() <= n; i += width()) kernel(width, g, lo, hi, i);
    };
    (run(Width<kWidths>{}), ...);
  }
}

// MatMulInterleaved's contract with the group kernels of one instruction
// set: Groups<Block, Inputs>{blocks, blocks per row, inputs, rows, out}
// called as ForEachGroup's kernel, in batches of kWidths inputs.
template <template <typename, typename> class Groups, int... kWidths>
inline void RunInterleaved(DType dtype, const void* packed,
                           const Q8Activations& x32, const Q8KActivations& xk,
                           int64_t rows, int64_t row_begin, int64_t row_end,
                           float* out) {
  VisitBlockType(dtype, [&](auto tag) {
    using Block = typename decltype(tag)::type;
    const auto run = [&](const auto& x) {
      using Inputs = std::decay_t<decltype(x)>;
      const int64_t nb = x.cols / BlockWeights<Block>();
      ForEachGroup<kWidths...>(
          x.n, row_begin, row_end,
          Groups<Block, Inputs>{static_cast<const Block*>(packed), nb, x, rows,
                                out});
    };
    if constexpr (BlockWeights<Block>() == kQkK) {
      run(xk);
    } else {
      run(x32);
    }
  });
}

}  // namespace fm::model

#endif  // FM_SERVICES_MODEL_INTERLEAVED_GROUPS_H_
