// GgufWriter: GGUF serialisation (little-endian, 32-byte alignment).
#include "tests/support/gguf_writer.h"

#include <fstream>

#include "absl/strings/str_cat.h"

namespace fm::testing {
namespace {

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void PutString(std::string* out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out->append(s);
}

// GGUF value type numbers.
constexpr uint32_t kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
                   kString = 8, kArray = 9;

// An array value of fixed-size numbers of GGUF type `type`.
template <typename T>
std::string NumberArray(uint32_t type, const std::vector<T>& values) {
  std::string v;
  Put<uint32_t>(&v, kArray);
  Put<uint32_t>(&v, type);
  Put<uint64_t>(&v, values.size());
  for (T x : values) Put<T>(&v, x);
  return v;
}

}  // namespace

void GgufWriter::AddString(const std::string& key, const std::string& value) {
  std::string v;
  Put<uint32_t>(&v, kString);
  PutString(&v, value);
  AddRawValue(key, v);
}

void GgufWriter::AddUint32(const std::string& key, uint32_t value) {
  std::string v;
  Put<uint32_t>(&v, kUint32);
  Put<uint32_t>(&v, value);
  AddRawValue(key, v);
}

void GgufWriter::AddFloat32(const std::string& key, float value) {
  std::string v;
  Put<uint32_t>(&v, kFloat32);
  Put<float>(&v, value);
  AddRawValue(key, v);
}

void GgufWriter::AddBool(const std::string& key, bool value) {
  std::string v;
  Put<uint32_t>(&v, kBool);
  Put<uint8_t>(&v, value ? 1 : 0);
  AddRawValue(key, v);
}

void GgufWriter::AddStringArray(const std::string& key,
                                const std::vector<std::string>& values) {
  std::string v;
  Put<uint32_t>(&v, kArray);
  Put<uint32_t>(&v, kString);
  Put<uint64_t>(&v, values.size());
  for (const auto& s : values) PutString(&v, s);
  AddRawValue(key, v);
}

void GgufWriter::AddInt32Array(const std::string& key,
                               const std::vector<int32_t>& values) {
  AddRawValue(key, NumberArray(kInt32, values));
}

void GgufWriter::AddFloat32Array(const std::string& key,
                                 const std::vector<float>& values) {
  AddRawValue(key, NumberArray(kFloat32, values));
}

void GgufWriter::AddRawValue(const std::string& key,
                             const std::string& type_and_value) {
  PutString(&kv_, key);
  kv_ += type_and_value;
  ++n_kv_;
}

void GgufWriter::AddRawTensor(const std::string& name, std::vector<uint64_t> ne,
                              uint32_t type, std::string bytes) {
  tensors_.push_back(Tensor{name, std::move(ne), type, std::move(bytes)});
}

std::string GgufWriter::Serialize() const {
  constexpr uint64_t kAlign = 32;
  std::string out;
  Put<uint32_t>(&out, 0x46554747);  // "GGUF"
  Put<uint32_t>(&out, version_);
  Put<uint64_t>(&out, tensors_.size());
  Put<uint64_t>(&out, n_kv_);
  out += kv_;
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) Put<uint64_t>(&out, d);
    Put<uint32_t>(&out, t.type);
    Put<uint64_t>(&out, offset);
    offset += (t.bytes.size() + kAlign - 1) / kAlign * kAlign;
  }
  out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  for (const Tensor& t : tensors_) {
    out += t.bytes;
    out.resize((out.size() + kAlign - 1) / kAlign * kAlign, '\0');
  }
  return out;
}

absl::Status GgufWriter::Write(const std::string& path) const {
  const std::string bytes = Serialize();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace fm::testing
