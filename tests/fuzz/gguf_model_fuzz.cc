// The bytes go through the real loading path: an anonymous in-memory file
// (memfd) mapped as fm-model maps its --model.
#include "tests/fuzz/gguf_model_fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/model/checkpoint.h"
#include "services/model/llama_model.h"

namespace fm::fuzz {
namespace {

// Models beyond this many parameters load but are not run: a fuzz input is
// a few KiB, so only F16 expansion or a tied huge vocabulary could get
// here, and a forward over them would only slow the fuzzer down.
constexpr int64_t kMaxParametersToRun = 1 << 20;

void RunForward(model::LlamaModel& m) {
  const int32_t vocab = m.info().vocab_size;
  auto a = m.NewSequence(0);
  auto b = m.NewSequence(1);
  std::vector<int32_t> prompt = {0, 1 % vocab, 2 % vocab};
  std::vector<float> la, lb;
  model::ForwardItem prefill{a.get(), prompt, true, &la};
  if (!m.Forward({prefill}).ok()) return;
  const int32_t next = vocab - 1;
  model::ForwardItem step_a{a.get(), absl::MakeConstSpan(&next, 1), false, &la};
  model::ForwardItem step_b{b.get(), absl::MakeConstSpan(&next, 1), false, &lb};
  (void)m.Forward({step_a, step_b});
}

}  // namespace

int FuzzGgufModel(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz_model", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const std::string path = absl::StrCat("/proc/self/fd/", fd);
  auto ckpt = model::LoadCheckpoint(path);
  close(fd);  // the mapping keeps the bytes
  if (!ckpt.ok()) return 0;
  if ((*ckpt)->config.seq_len <= 0) return 0;
  model::LoadOptions options;
  options.threads = 1;
  options.ctx_size = 16;  // bounds the attention scratch of a huge context
  auto m = model::LlamaModel::FromCheckpoint(std::move(*ckpt), options);
  if (!m.ok()) return 0;
  if ((*m)->info().parameter_count <= kMaxParametersToRun) RunForward(**m);
  return 0;
}

}  // namespace fm::fuzz
