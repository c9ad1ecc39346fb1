// RouteTable: name validation, channel creation, snapshots.
#include "services/gateway/route_table.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fm::gateway {
namespace {

absl::Status ValidateName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            (absl::ascii_islower(name[0]) || absl::ascii_isdigit(name[0]));
  for (char c : name) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' ||
                c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("route name '", name.substr(0, 80),
                   "' must match [a-z0-9][a-z0-9_-]{0,63}"));
}

}  // namespace

std::shared_ptr<const StageCatalog> SamplerRoute::Catalog(
    const fm::v1::SamplerChain& chain, grpc::ClientContext* ctx) const {
  const absl::Time now = absl::Now();
  std::shared_ptr<const StageCatalog> known;
  {
    absl::MutexLock lock(&catalog_mu_);
    known = catalog_;
    bool fresh = known != nullptr && now - catalog_fetched_ < kCatalogTtl;
    for (int i = 0; fresh && i < chain.stages_size(); ++i) {
      fresh = known->Knows(chain.stages(i).stage());
    }
    if (fresh || now - catalog_failed_ < kCatalogRetry) return known;
  }
  fm::v1::ListStagesResponse stages;
  const grpc::Status status = stub->ListStages(ctx, {}, &stages);
  absl::MutexLock lock(&catalog_mu_);
  if (!status.ok()) {
    catalog_failed_ = absl::Now();
    return catalog_;
  }
  catalog_ = std::make_shared<const StageCatalog>(stages);
  catalog_fetched_ = absl::Now();
  return catalog_;
}

absl::Status RouteTable::AddFlag(const std::string& flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos) return Set("default", flag);
  return Set(flag.substr(0, eq), flag.substr(eq + 1));
}

absl::Status RouteTable::Set(const std::string& name,
                             const std::string& target) {
  absl::Status valid = ValidateName(name);
  if (!valid.ok()) return valid;
  auto channel = MakeChannel(target, channel_options_);
  if (!channel.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("route ", name, " target '", target,
                     "': ", channel.status().message()));
  }
  auto route = std::make_shared<SamplerRoute>();
  route->name = name;
  route->target = target;
  route->channel = *channel;
  route->stub = fm::v1::SamplerService::NewStub(route->channel);
  absl::MutexLock lock(&mu_);
  routes_[name] = std::move(route);
  return absl::OkStatus();
}

absl::Status RouteTable::Delete(const std::string& name) {
  if (name == "default") {
    return absl::FailedPreconditionError(
        "route 'default' cannot be deleted (replace it with SetRoute)");
  }
  absl::MutexLock lock(&mu_);
  if (routes_.erase(name) == 0) {
    return absl::NotFoundError(
        absl::StrCat("no sampler route named '", name.substr(0, 80), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const SamplerRoute>> RouteTable::Find(
    const std::string& name) const {
  const std::string key = name.empty() ? "default" : name;
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(key);
  if (it == routes_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "no sampler route named '", key.substr(0, 80), "' (see ListRoutes)"));
  }
  return it->second;
}

std::vector<std::shared_ptr<const SamplerRoute>> RouteTable::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const SamplerRoute>> out;
  for (const auto& [name, route] : routes_) out.push_back(route);
  return out;
}

}  // namespace fm::gateway
