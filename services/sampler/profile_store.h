// Named sampler chains ("profiles"): put/get/list/delete at runtime,
// persisted atomically to a JSON file, always with a `default` profile.
#ifndef FM_SERVICES_SAMPLER_PROFILE_STORE_H_
#define FM_SERVICES_SAMPLER_PROFILE_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/sampler/chain_spec.h"
#include "services/sampler/sampler_chain.h"

namespace fm::sampler {

constexpr absl::string_view kDefaultProfile = "default";
constexpr size_t kMaxProfiles = 1024;
constexpr size_t kMaxProfileNameLength = 64;

// An immutable snapshot. Users in flight keep theirs (shared_ptr) even if
// the profile is replaced or deleted meanwhile.
struct Profile {
  std::string name;
  ChainSpec spec;
  std::string json;  // ChainToJson(spec).
  // Validated chain with no history; CloneChain() it for each generation.
  std::shared_ptr<const SamplerChain> prototype;
};

// Thread-safe. Every successful Put/Delete rewrites the file atomically
// (temp file, fsync, rename, fsync of the directory) before it returns;
// a failed write leaves both the file and the store unchanged.
//
// File format: {"version": 1, "profiles": {"NAME": CHAIN_JSON, ...}}.
class ProfileStore {
 public:
  // Loads `path`; creates it holding only `default` when it does not exist.
  // An empty path keeps profiles in memory only. DATA_LOSS (naming the path
  // and the profile) when the file is corrupt or holds an invalid chain.
  static absl::StatusOr<std::unique_ptr<ProfileStore>> Open(std::string path);

  // NOT_FOUND for an unknown name.
  absl::StatusOr<std::shared_ptr<const Profile>> Get(
      absl::string_view name) const;
  // Every profile, sorted by name.
  std::vector<std::shared_ptr<const Profile>> List() const;
  // Creates or replaces; the chain is validated first (BuildChain errors).
  // INVALID_ARGUMENT for a bad name (1-64 of [A-Za-z0-9_.-]),
  // RESOURCE_EXHAUSTED past kMaxProfiles, INTERNAL if the file write fails.
  absl::Status Put(absl::string_view name, const ChainSpec& spec);
  // NOT_FOUND for an unknown name; FAILED_PRECONDITION for `default`
  // (replace it with Put instead).
  absl::Status Delete(absl::string_view name);

  const std::string& path() const { return path_; }

 private:
  using ProfileMap = std::map<std::string, std::shared_ptr<const Profile>>;

  explicit ProfileStore(std::string path) : path_(std::move(path)) {}
  absl::Status Persist(const ProfileMap& profiles) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable absl::Mutex mu_;
  ProfileMap profiles_ ABSL_GUARDED_BY(mu_);
};

// A validated snapshot of `spec` under `name` (BuildChain errors).
absl::StatusOr<std::shared_ptr<const Profile>> MakeProfile(
    std::string name, const ChainSpec& spec);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_PROFILE_STORE_H_
