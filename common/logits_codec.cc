// Logits packing and unpacking; see logits_codec.h.
#include "common/logits_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/half.h"

namespace fm {
namespace {

constexpr float kMaxFinite = std::numeric_limits<float>::max();
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

absl::Status CheckValue(float v, int64_t index) {
  // -inf is a legitimate logit (a banned token); NaN and +inf are not.
  if (std::isnan(v) || (std::isinf(v) && v > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logits[", index, "] is ", std::isnan(v) ? "NaN" : "+inf",
        "; logits must be finite or -inf"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateLogitsFormat(const fm::v1::LogitsFormat& format,
                                  int32_t vocab_size) {
  if (!fm::v1::LogitsDtype_IsValid(format.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logits_format.dtype = ", format.dtype(), " is not a LogitsDtype"));
  }
  if (format.top_k() < 0 || format.top_k() > vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits_format.top_k = ", format.top_k(),
                     " is outside [0, ", vocab_size, "] (vocabulary size)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAllowedIds(absl::string_view allowed, int32_t vocab_size,
                                absl::string_view field) {
  if (allowed.empty()) return absl::OkStatus();
  const size_t bytes = (static_cast<size_t>(vocab_size) + 7) / 8;
  if (allowed.size() != bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " has ", allowed.size(), " bytes; a bitmap of ",
                     vocab_size, " ids has ", bytes));
  }
  if (vocab_size % 8 != 0 &&
      (static_cast<uint8_t>(allowed.back()) >> (vocab_size % 8)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " allows ids past the vocabulary (", vocab_size, " ids)"));
  }
  return absl::OkStatus();
}

void EncodeLogits(absl::Span<const float> logits,
                  const fm::v1::LogitsFormat& format, fm::v1::Logits* out,
                  absl::string_view allowed) {
  const int n = static_cast<int>(logits.size());
  out->set_vocab_size(n);
  if (format.top_k() > 0) {
    const int k = std::min(format.top_k(), n);
    // A bounded min-heap of the best k seen so far: one pass over the
    // vector, and only values above the current k-th best touch the heap.
    // Higher logit first; on equal logits the lower id wins.
    using Entry = std::pair<float, int32_t>;
    auto better = [](const Entry& a, const Entry& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    std::vector<Entry> heap;
    heap.reserve(k);
    for (int32_t i = 0; i < n; ++i) {
      if (!allowed.empty() &&
          !((static_cast<uint8_t>(allowed[i >> 3]) >> (i & 7)) & 1)) {
        continue;
      }
      const Entry e{logits[i], i};
      if (static_cast<int>(heap.size()) < k) {
        heap.push_back(e);
        std::push_heap(heap.begin(), heap.end(), better);
      } else if (better(e, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = e;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), better);
    fm::v1::SparseLogits* top = out->mutable_top();
    const int kept = static_cast<int>(heap.size());  // < k when few allowed
    top->mutable_ids()->Resize(kept, 0);
    top->mutable_values()->Resize(kept, 0.0f);
    for (int i = 0; i < kept; ++i) {
      top->set_ids(i, heap[i].second);
      top->set_values(i, heap[i].first);
    }
    return;
  }
  if (format.dtype() == fm::v1::LOGITS_DTYPE_F16) {
    std::string* bytes = out->mutable_f16();
    bytes->resize(static_cast<size_t>(n) * 2);
    std::vector<uint16_t> half(n);
    F32ToF16Row(logits.data(), half.data(), n);
    std::memcpy(bytes->data(), half.data(), bytes->size());  // little-endian host
    return;
  }
  auto* values = out->mutable_f32()->mutable_values();
  values->Resize(n, 0.0f);
  std::memcpy(values->mutable_data(), logits.data(), sizeof(float) * n);
}

absl::Status DecodeLogits(const fm::v1::Logits& in, int32_t expected_vocab,
                          std::vector<float>* out) {
  const int32_t n = in.vocab_size();
  if (n <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits.vocab_size = ", n, " must be > 0"));
  }
  if (n > kMaxLogitsVocab) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logits.vocab_size = ", n, " exceeds the limit ", kMaxLogitsVocab));
  }
  if (expected_vocab > 0 && n != expected_vocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits.vocab_size = ", n, " differs from the expected ",
                     "vocabulary size ", expected_vocab));
  }
  switch (in.data_case()) {
    case fm::v1::Logits::kF32: {
      const auto& values = in.f32().values();
      if (values.size() != n) {
        return absl::InvalidArgumentError(absl::StrCat(
            "logits.f32 has ", values.size(), " values; vocab_size is ", n));
      }
      out->resize(n);
      std::memcpy(out->data(), values.data(), sizeof(float) * n);
      break;
    }
    case fm::v1::Logits::kF16: {
      if (in.f16().size() != static_cast<size_t>(n) * 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("logits.f16 has ", in.f16().size(), " bytes; ",
                         "2 * vocab_size is ", 2 * static_cast<int64_t>(n)));
      }
      std::vector<uint16_t> half(n);
      std::memcpy(half.data(), in.f16().data(), in.f16().size());
      out->resize(n);
      F16ToF32Row(half.data(), out->data(), n);
      break;
    }
    case fm::v1::Logits::kTop: {
      const auto& ids = in.top().ids();
      const auto& values = in.top().values();
      if (ids.size() != values.size() || ids.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "logits.top has ", ids.size(), " ids and ", values.size(),
            " values; they must be equal and non-zero"));
      }
      out->assign(n, -std::numeric_limits<float>::infinity());
      std::vector<bool> seen(n, false);
      for (int i = 0; i < ids.size(); ++i) {
        const int32_t id = ids[i];
        if (id < 0 || id >= n || seen[id]) {
          return absl::InvalidArgumentError(absl::StrCat(
              "logits.top.ids[", i, "] = ", id,
              (id < 0 || id >= n) ? absl::StrCat(" is outside [0, ", n, ")")
                                  : std::string(" is repeated")));
        }
        seen[id] = true;
        absl::Status ok = CheckValue(values[i], id);
        if (!ok.ok()) return ok;
        (*out)[id] = values[i];
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          "logits carry no data (set f32, f16 or top)");
  }
  // One branch-free pass the compiler vectorises; the slow path only runs
  // to name the offending index.
  const float* v = out->data();
  int bad = 0;
  for (int32_t i = 0; i < n; ++i) bad |= !(v[i] <= kMaxFinite) & (v[i] != kMinusInf);
  if (bad) {
    for (int32_t i = 0; i < n; ++i) {
      absl::Status ok = CheckValue(v[i], i);
      if (!ok.ok()) return ok;
    }
  }
  return absl::OkStatus();
}

}  // namespace fm
