#include "common/request_id.h"

#include <random>
#include <utility>

#include "absl/strings/str_format.h"

namespace fm {
namespace {

std::string& ThreadRequestId() {
  thread_local std::string id;
  return id;
}

}  // namespace

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x", rng());
}

bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (const char c : id) {
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false;
  }
  return true;
}

ScopedRequestId::ScopedRequestId(std::string id)
    : previous_(std::exchange(ThreadRequestId(), std::move(id))) {}

ScopedRequestId::~ScopedRequestId() {
  ThreadRequestId() = std::move(previous_);
}

const std::string& CurrentRequestId() { return ThreadRequestId(); }

}  // namespace fm
