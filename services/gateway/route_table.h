// RouteTable: named sampler deployments ("default" plus any others), each a
// target that may list several addresses. Routes change at runtime; calls
// in flight keep the route they resolved.
#ifndef FM_SERVICES_GATEWAY_ROUTE_TABLE_H_
#define FM_SERVICES_GATEWAY_ROUTE_TABLE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/channel_factory.h"
#include "fm/v1/sampler.grpc.pb.h"
#include "services/gateway/stage_catalog.h"

namespace fm::gateway {

class SamplerRoute {
 public:
  std::string name;
  std::string target;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<fm::v1::SamplerService::Stub> stub;

  // The stage catalog of this deployment: fetched with ListStages (on
  // `ctx`) on first use, again when it is older than kCatalogTtl or `chain`
  // names a stage it does not list (the samplers behind the route may have
  // been upgraded), but not within kCatalogRetry of a failed fetch. nullptr
  // when the sampler could not be asked yet; callers then treat every stage
  // the safe way. Thread-safe.
  static constexpr absl::Duration kCatalogTtl = absl::Seconds(60);
  static constexpr absl::Duration kCatalogRetry = absl::Seconds(5);
  std::shared_ptr<const StageCatalog> Catalog(const fm::v1::SamplerChain& chain,
                                              grpc::ClientContext* ctx) const;

 private:
  mutable absl::Mutex catalog_mu_;
  mutable std::shared_ptr<const StageCatalog> catalog_
      ABSL_GUARDED_BY(catalog_mu_);
  mutable absl::Time catalog_fetched_ ABSL_GUARDED_BY(catalog_mu_) =
      absl::InfinitePast();
  mutable absl::Time catalog_failed_ ABSL_GUARDED_BY(catalog_mu_) =
      absl::InfinitePast();
};

// Thread-safe.
class RouteTable {
 public:
  explicit RouteTable(ChannelOptions channel_options)
      : channel_options_(std::move(channel_options)) {}

  // Parses "ADDR" (the default route) or "NAME=ADDR".
  absl::Status AddFlag(const std::string& flag);
  // Creates or replaces a route. INVALID_ARGUMENT for a bad name
  // ([a-z0-9][a-z0-9_-]{0,63}) or target.
  absl::Status Set(const std::string& name, const std::string& target);
  // NOT_FOUND for an unknown name; FAILED_PRECONDITION for "default".
  absl::Status Delete(const std::string& name);
  // "" means "default". NOT_FOUND names the unknown route.
  absl::StatusOr<std::shared_ptr<const SamplerRoute>> Find(
      const std::string& name) const;
  std::vector<std::shared_ptr<const SamplerRoute>> List() const;

 private:
  const ChannelOptions channel_options_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const SamplerRoute>> routes_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace fm::gateway

#endif  // FM_SERVICES_GATEWAY_ROUTE_TABLE_H_
