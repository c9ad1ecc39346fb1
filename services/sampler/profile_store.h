// Named sampler chains ("profiles"): put/get/list/delete at runtime,
// persisted atomically to a JSON file, always with a `default` profile.
#ifndef FM_SERVICES_SAMPLER_PROFILE_STORE_H_
#define FM_SERVICES_SAMPLER_PROFILE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
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
// Several replicas may share one file (docker-compose's volume of a scaled
// sampler, a ReadWriteMany volume): a change is a read-modify-write of the
// file under an exclusive lock (flock on PATH.lock), so no replica's change
// overwrites another's, and Refresh() - every --profiles_refresh through
// StartWatching() - loads what the others wrote. A profile put through any
// replica thus reaches all of them.
//
// File format: {"version": 1, "profiles": {"NAME": CHAIN_JSON, ...}}.
class ProfileStore {
 public:
  // Loads `path`; creates it holding only `default` when it does not exist.
  // An empty path keeps profiles in memory only. DATA_LOSS (naming the path
  // and the profile) when the file is corrupt or holds an invalid chain.
  static absl::StatusOr<std::unique_ptr<ProfileStore>> Open(std::string path);
  ~ProfileStore();

  // NOT_FOUND for an unknown name.
  absl::StatusOr<std::shared_ptr<const Profile>> Get(
      absl::string_view name) const;
  // Every profile, sorted by name.
  std::vector<std::shared_ptr<const Profile>> List() const;
  // How many there are (List().size() without the copy).
  size_t size() const;
  // Creates or replaces; the chain is validated first (BuildChain errors).
  // INVALID_ARGUMENT for a bad name (1-64 of [A-Za-z0-9_.-]),
  // RESOURCE_EXHAUSTED past kMaxProfiles, INTERNAL if the file write fails,
  // DATA_LOSS if another writer left the file corrupt (it is not
  // overwritten), UNAVAILABLE if another writer holds the lock for 5 s.
  absl::Status Put(absl::string_view name, const ChainSpec& spec);
  // NOT_FOUND for an unknown name; FAILED_PRECONDITION for `default`
  // (replace it with Put instead). File errors as for Put.
  absl::Status Delete(absl::string_view name);

  // Loads the file again when its content differs from what this store
  // last read or wrote. True when it did; DATA_LOSS (the profiles stay as
  // they were) for a corrupt file.
  absl::StatusOr<bool> Refresh();
  // Runs Refresh() every `period` on a thread of its own until the store
  // is destroyed, passing each reload, and each new failure (a corrupt
  // content is reported once), to `on_reload` on that thread. At most
  // once; nothing for an in-memory store.
  void StartWatching(absl::Duration period,
                     std::function<void(const absl::Status&)> on_reload);

  const std::string& path() const { return path_; }

 private:
  using ProfileMap = std::map<std::string, std::shared_ptr<const Profile>>;

  explicit ProfileStore(std::string path) : path_(std::move(path)) {}
  // The file's content and profiles (`default` added, and `added_default`
  // set, when the file lacks it); NOT_FOUND when there is no file.
  absl::Status Load(std::string* content, ProfileMap* profiles,
                    bool* added_default = nullptr) const;
  // Applies `change` to the profiles as the file holds them now (under the
  // file lock), writes the result and adopts it.
  absl::Status Update(const std::function<absl::Status(ProfileMap&)>& change)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The file content that holds `profiles`.
  static std::string Serialize(const ProfileMap& profiles);

  const std::string path_;
  mutable absl::Mutex mu_;
  ProfileMap profiles_ ABSL_GUARDED_BY(mu_);
  // The file content profiles_ was read from or written as.
  std::string content_ ABSL_GUARDED_BY(mu_);

  absl::Mutex watch_mu_;
  bool stopping_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::thread watcher_;
};

// A validated snapshot of `spec` under `name` (BuildChain errors).
absl::StatusOr<std::shared_ptr<const Profile>> MakeProfile(
    std::string name, const ChainSpec& spec);

}  // namespace fm::sampler

#endif  // FM_SERVICES_SAMPLER_PROFILE_STORE_H_
