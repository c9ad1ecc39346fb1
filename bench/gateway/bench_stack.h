// The four services on loopback over a random-weight checkpoint of a
// tinystories shape, for the gateway benchmarks (pipeline_bench,
// http_bench): the same stack, started the same way, so their figures
// compare.
#ifndef FM_BENCH_GATEWAY_BENCH_STACK_H_
#define FM_BENCH_GATEWAY_BENCH_STACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fm/v1/gateway.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace fm::bench {

// A tinystories shape (dim 288 / 6 layers is stories15M).
struct Shape {
  const char* name;
  int dim, hidden_dim, n_layers, n_heads;
};

// stories15M and stories110M.
const std::vector<Shape>& StoryShapes();

// Writes a random-weight llama2.c checkpoint of `shape` with the Llama 2
// vocabulary (32,000) and a 512-position context; returns its path.
absl::StatusOr<std::string> WriteRandomCheckpoint(const Shape& shape);

// fm-tokenizer (the Llama 2 tokenizer), fm-model (1 thread), fm-sampler
// and fm-gateway (`gateway_flags` added) on free loopback ports, each with
// its metrics listener.
class BenchStack {
 public:
  static absl::StatusOr<std::unique_ptr<BenchStack>> Start(
      const std::string& model_path, const std::string& tokenizer_path,
      int threads, const std::vector<std::string>& gateway_flags = {});

  fm::v1::GatewayService::Stub* stub() { return stub_.get(); }
  const fm::testing::ServiceProcess& gateway() const { return *gateway_; }
  // The metrics ports of tokenizer, model, sampler and gateway.
  const std::vector<int>& metrics_ports() const { return metrics_ports_; }

 private:
  BenchStack() = default;
  std::unique_ptr<fm::testing::ServiceProcess> tokenizer_, model_, sampler_,
      gateway_;
  std::unique_ptr<fm::v1::GatewayService::Stub> stub_;
  std::vector<int> metrics_ports_;
};

// One streamed generation as the client sees it.
struct StreamResult {
  int tokens = 0;
  absl::Time sent;         // the call was made
  absl::Time first, last;  // the first and the last token arrived
  bool ok = false;

  // Tokens/s after the first token (prefill excluded), 0 without two.
  double TokensPerSecond() const;
  // Milliseconds from the call to the first token.
  double TimeToFirstTokenMs() const;
};

// Streams `request` through Generate (5-minute deadline).
StreamResult GrpcStream(fm::v1::GatewayService::Stub* stub,
                        const fm::v1::GenerateRequest& request);

}  // namespace fm::bench

#endif  // FM_BENCH_GATEWAY_BENCH_STACK_H_
