// The table of element types: ggml's numbering and block sizes
// (ggml/src/ggml-common.h), one row per type.
#include "services/model/dtype.h"

namespace fm::model {
namespace {

struct DTypeTraits {
  DType dtype;
  const char* name;
  int64_t block_elements;
  int64_t block_bytes;
};

constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "F32", 1, 4},        {DType::kF16, "F16", 1, 2},
    {DType::kBF16, "BF16", 1, 2},      {DType::kQ4_0, "Q4_0", 32, 18},
    {DType::kQ4_1, "Q4_1", 32, 20},    {DType::kQ5_0, "Q5_0", 32, 22},
    {DType::kQ5_1, "Q5_1", 32, 24},    {DType::kQ8_0, "Q8_0", 32, 34},
    {DType::kQ2_K, "Q2_K", 256, 84},   {DType::kQ3_K, "Q3_K", 256, 110},
    {DType::kQ4_K, "Q4_K", 256, 144},  {DType::kQ5_K, "Q5_K", 256, 176},
    {DType::kQ6_K, "Q6_K", 256, 210},
};

const DTypeTraits* Find(DType dtype) {
  for (const DTypeTraits& t : kTraits) {
    if (t.dtype == dtype) return &t;
  }
  return nullptr;
}

}  // namespace

absl::string_view DTypeName(DType dtype) {
  const DTypeTraits* t = Find(dtype);
  return t != nullptr ? t->name : "UNKNOWN";
}

bool DTypeFromGgml(uint32_t ggml_type, DType* out) {
  for (const DTypeTraits& t : kTraits) {
    if (static_cast<uint32_t>(t.dtype) == ggml_type) {
      *out = t.dtype;
      return true;
    }
  }
  return false;
}

int64_t DTypeBlockElements(DType dtype) {
  const DTypeTraits* t = Find(dtype);
  return t != nullptr ? t->block_elements : 0;
}

int64_t DTypeBlockBytes(DType dtype) {
  const DTypeTraits* t = Find(dtype);
  return t != nullptr ? t->block_bytes : 0;
}

uint64_t DTypeBytes(DType dtype, uint64_t elements) {
  const DTypeTraits* t = Find(dtype);
  if (t == nullptr) return 0;
  const uint64_t be = static_cast<uint64_t>(t->block_elements);
  const uint64_t bb = static_cast<uint64_t>(t->block_bytes);
  if (elements % be != 0) return 0;
  const uint64_t blocks = elements / be;
  if (blocks > UINT64_MAX / bb) return 0;
  return blocks * bb;
}

bool IsQuantized(DType dtype) { return DTypeBlockElements(dtype) > 1; }

}  // namespace fm::model
