// fm-model: serves a Llama checkpoint (llama2.c or GGUF) over gRPC.
// Exits non-zero with a clear message when the model cannot be loaded.
#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/file_digest.h"
#include "common/log.h"
#include "common/server_flags.h"
#include "common/server_runner.h"
#include "services/model/blas_core.h"
#include "services/model/cpu_features.h"
#include "services/model/llama_model.h"
#include "services/model/load_progress.h"
#include "services/model/model_metrics.h"
#include "services/model/model_service.h"

ABSL_FLAG(std::string, model, "",
          "Model file: llama2.c checkpoint or GGUF (architectures llama, "
          "qwen2, qwen3, gemma2, gemma3; F32, F16, BF16, Q4_0, Q4_1, Q5_0, "
          "Q5_1, Q8_0, Q2_K-Q6_K). Required.");
ABSL_FLAG(int, ctx_size, 0,
          "Serve at most this many positions per sequence (0: the file's "
          "context length).");
ABSL_FLAG(std::string, model_sha256, "",
          "Expected sha256 of --model; refuse to start on mismatch.");
ABSL_FLAG(std::string, kv_dtype, "f16",
          "KV cache element type: f16 (half the memory of long contexts) or "
          "f32 (exact).");
ABSL_FLAG(int, threads, 1, "Compute threads (all matrix kernels).");
ABSL_FLAG(int, max_sessions, 64, "Open Session streams at most.");
ABSL_FLAG(int, max_sequences, 16, "Sequences per session at most.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Minutes(5),
          "End a session that sends nothing for this long.");
ABSL_FLAG(absl::Duration, debug_step_delay, absl::ZeroDuration(),
          "Sleep this long after every forward batch: a fault-injection knob "
          "for tests and demos (never set in production).");

int main(int argc, char** argv) {
  fm::ServerRunner::BlockShutdownSignals();
  // Before anything touches BLAS: may re-exec with a better OpenBLAS core.
  const absl::Status core = fm::model::EnsureOpenBlasCore(argc, argv);
  fm::InitService("fm-model", "fm-model --model=PATH [--listen=HOST:PORT]",
                  argc, argv);
  if (!core.ok()) FM_LOG(WARNING) << core;
  if (const absl::Status limit = fm::model::CheckCpuLimit(); !limit.ok()) {
    FM_LOG(ERROR) << limit;
    return 2;
  }
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    FM_LOG(ERROR) << "--model is required";
    return 2;
  }
  fm::model::LoadProgress progress(stderr, isatty(STDERR_FILENO) == 1);
  auto sha256 =
      fm::Sha256File(path, [&progress](uint64_t done, uint64_t total) {
        progress.Bytes(done, total);
      });
  if (!sha256.ok()) {
    FM_LOG(ERROR) << "cannot read model: " << sha256.status();
    return 1;
  }
  const std::string expected = absl::GetFlag(FLAGS_model_sha256);
  if (!expected.empty()) {
    absl::Status pinned = fm::CheckSha256("model " + path, expected, *sha256);
    if (!pinned.ok()) {
      FM_LOG(ERROR) << pinned;
      return 1;
    }
  }
  if (absl::GetFlag(FLAGS_ctx_size) < 0) {
    FM_LOG(ERROR) << "--ctx_size=" << absl::GetFlag(FLAGS_ctx_size)
                  << " must be >= 0 (0: the file's context length)";
    return 2;
  }
  const std::string kv_dtype = absl::GetFlag(FLAGS_kv_dtype);
  if (kv_dtype != "f16" && kv_dtype != "f32") {
    FM_LOG(ERROR) << "--kv_dtype='" << kv_dtype << "' must be f16 or f32";
    return 2;
  }
  fm::model::LoadOptions load;
  load.threads = absl::GetFlag(FLAGS_threads);
  load.kv_dtype =
      kv_dtype == "f16" ? fm::model::KvDType::kF16 : fm::model::KvDType::kF32;
  load.ctx_size = absl::GetFlag(FLAGS_ctx_size);
  load.on_tensor_laid_out = [&progress](int64_t done, int64_t total) {
    progress.Tensors(done, total);
  };
  auto model = fm::model::LlamaModel::Load(path, load);
  progress.Finish();
  if (!model.ok()) {
    FM_LOG(ERROR) << "cannot load model: " << model.status();
    return 1;
  }
  const fm::model::ModelInfo& info = (*model)->info();
  if (fm::model::IsGenericBlasCore(info.blas_core) &&
      !fm::model::PreferredBlasCore().empty()) {
    FM_LOG(WARNING) << "OpenBLAS runs its generic core " << info.blas_core
                    << " on a CPU that supports "
                    << fm::model::PreferredBlasCore()
                    << ": matrix products will be 2-4x slower";
  }

  if (absl::GetFlag(FLAGS_idle_timeout) <= absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_max_sessions) < 1 ||
      absl::GetFlag(FLAGS_max_sequences) < 1) {
    FM_LOG(ERROR) << "--idle_timeout, --max_sessions and --max_sequences "
                     "must be positive";
    return 2;
  }
  fm::model::ModelServiceOptions options;
  options.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  options.max_sequences = absl::GetFlag(FLAGS_max_sequences);
  options.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  options.debug_step_delay = absl::GetFlag(FLAGS_debug_step_delay);
  options.model_path = path;
  options.model_sha256 = *sha256;
  fm::model::ModelServiceImpl service(model->get(), options);

  return fm::ServeUntilSignal("0.0.0.0:50052", &service,
                              fm::v1::ModelService::service_full_name(),
                              {fm::model::ModelServiceMetrics(service)});
}
