// ProfileStore: named chains in memory behind an absl::Mutex, mirrored to a
// JSON file written atomically under a file lock, reloaded when another
// writer changed it; see profile_store.h.
#include "services/sampler/profile_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/sampler/chain_json.h"

namespace fm::sampler {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxFileBytes = 64 << 20;

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status CheckName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxProfileNameLength;
  for (char c : name) {
    ok &= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "profile name '", name.substr(0, 80), "' is invalid: use 1 to ",
        kMaxProfileNameLength, " characters of [A-Za-z0-9_.-]"));
  }
  return absl::OkStatus();
}

// NOT_FOUND when the file does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no file ", path));
    }
    return ErrnoError("cannot open", path);
  }
  std::string data;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoError("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxFileBytes) {
      ::close(fd);
      return absl::DataLossError(absl::StrCat(
          "profiles file ", path, " exceeds ", kMaxFileBytes, " bytes"));
    }
  }
  ::close(fd);
  return data;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& data) {
  const std::string temp = absl::StrCat(path, ".tmp");
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", temp);
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoError("cannot write", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = ErrnoError("cannot fsync", temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return s;
  }
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    return ErrnoError("cannot close", temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoError("cannot rename onto", path);
    ::unlink(temp.c_str());
    return s;
  }
  // Make the rename itself durable.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

// An exclusive flock on PATH.lock for the life of the object: the writers
// of one profile file, in any process, take turns.
class FileLock {
 public:
  // Tries for up to 5 s: a writer holds it for one file write.
  static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(
      const std::string& path) {
    const std::string lock_path = absl::StrCat(path, ".lock");
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("cannot open", lock_path);
    const absl::Time give_up = absl::Now() + absl::Seconds(5);
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        absl::Status s = ErrnoError("cannot lock", lock_path);
        ::close(fd);
        return s;
      }
      if (absl::Now() > give_up) {
        ::close(fd);
        return absl::UnavailableError(absl::StrCat(
            lock_path, " is held by another writer for over 5 s"));
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return std::unique_ptr<FileLock>(new FileLock(fd));
  }
  ~FileLock() { ::close(fd_); }  // releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const Profile>> MakeProfile(
    std::string name, const ChainSpec& spec) {
  absl::StatusOr<std::unique_ptr<SamplerChain>> chain = BuildChain(spec);
  if (!chain.ok()) return chain.status();
  auto profile = std::make_shared<Profile>();
  profile->name = std::move(name);
  profile->spec = spec;
  profile->json = ChainToJson(spec);
  profile->prototype = std::shared_ptr<const SamplerChain>(*std::move(chain));
  return std::shared_ptr<const Profile>(std::move(profile));
}

absl::Status ProfileStore::Load(std::string* content, ProfileMap* profiles,
                                bool* added_default) const {
  absl::StatusOr<std::string> text = ReadFile(path_);
  if (!text.ok()) return text.status();
  Json root;
  try {
    root = Json::parse(*text);
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("profiles file ", path_,
                                            " is not valid JSON: ", e.what()));
  }
  auto list = root.is_object() ? root.find("profiles") : root.end();
  if (list == root.end() || !list->is_object()) {
    return absl::DataLossError(
        absl::StrCat("profiles file ", path_, " lacks a \"profiles\" object"));
  }
  ProfileMap loaded;
  for (auto it = list->begin(); it != list->end(); ++it) {
    absl::Status status = CheckName(it.key());
    absl::StatusOr<ChainSpec> spec = ChainSpecFromJson(it.value());
    if (status.ok()) status = spec.status();
    absl::StatusOr<std::shared_ptr<const Profile>> profile =
        status.ok() ? MakeProfile(it.key(), *spec)
                    : absl::StatusOr<std::shared_ptr<const Profile>>(status);
    if (!profile.ok()) {
      return absl::DataLossError(absl::StrCat("profiles file ", path_,
                                              ": profile '", it.key(),
                                              "': ", profile.status().message()));
    }
    loaded[it.key()] = *std::move(profile);
  }
  const bool add_default = loaded.count(std::string(kDefaultProfile)) == 0;
  if (add_default) {
    absl::StatusOr<std::shared_ptr<const Profile>> def =
        MakeProfile(std::string(kDefaultProfile), DefaultChainSpec());
    if (!def.ok()) return def.status();
    loaded[std::string(kDefaultProfile)] = *std::move(def);
  }
  if (added_default != nullptr) *added_default = add_default;
  *content = *std::move(text);
  *profiles = std::move(loaded);
  return absl::OkStatus();
}

std::string ProfileStore::Serialize(const ProfileMap& profiles) {
  Json list = Json::object();
  for (const auto& [name, profile] : profiles) {
    list[name] = ChainSpecToJson(profile->spec);
  }
  Json root = {{"version", 1}, {"profiles", std::move(list)}};
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

absl::StatusOr<std::unique_ptr<ProfileStore>> ProfileStore::Open(
    std::string path) {
  std::unique_ptr<ProfileStore> store(new ProfileStore(std::move(path)));
  if (store->path_.empty()) {
    absl::StatusOr<std::shared_ptr<const Profile>> def =
        MakeProfile(std::string(kDefaultProfile), DefaultChainSpec());
    if (!def.ok()) return def.status();
    absl::MutexLock lock(&store->mu_);
    store->profiles_[std::string(kDefaultProfile)] = *std::move(def);
    return store;
  }
  std::string content;
  ProfileMap profiles;
  bool added_default = false;
  absl::Status loaded = store->Load(&content, &profiles, &added_default);
  if (loaded.ok() && !added_default) {  // nothing to write: it may be read-only
    absl::MutexLock lock(&store->mu_);
    store->profiles_ = std::move(profiles);
    store->content_ = std::move(content);
    return store;
  }
  if (!loaded.ok() && !absl::IsNotFound(loaded)) return loaded;
  // A missing file is created, a file without `default` gets it, through
  // Update: under the file lock, as a replica sharing the file may be
  // starting too.
  absl::Status written =
      store->Update([](ProfileMap&) { return absl::OkStatus(); });
  if (!written.ok()) return written;
  return store;
}

ProfileStore::~ProfileStore() {
  {
    absl::MutexLock lock(&watch_mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

absl::StatusOr<std::shared_ptr<const Profile>> ProfileStore::Get(
    absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = profiles_.find(std::string(name));
  if (it == profiles_.end()) {
    return absl::NotFoundError(
        absl::StrCat("unknown sampler profile '", name.substr(0, 80), "'"));
  }
  return it->second;
}

size_t ProfileStore::size() const {
  absl::MutexLock lock(&mu_);
  return profiles_.size();
}

std::vector<std::shared_ptr<const Profile>> ProfileStore::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<const Profile>> out;
  out.reserve(profiles_.size());
  for (const auto& [name, profile] : profiles_) out.push_back(profile);
  return out;
}

absl::Status ProfileStore::Put(absl::string_view name, const ChainSpec& spec) {
  if (absl::Status s = CheckName(name); !s.ok()) return s;
  // Validate (and build the prototype) outside the lock.
  absl::StatusOr<std::shared_ptr<const Profile>> profile =
      MakeProfile(std::string(name), spec);
  if (!profile.ok()) return profile.status();
  return Update([&](ProfileMap& profiles) {
    if (profiles.find(std::string(name)) == profiles.end() &&
        profiles.size() >= kMaxProfiles) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot add profile '", name,
                       "': the store holds the maximum of ", kMaxProfiles));
    }
    profiles[std::string(name)] = *profile;
    return absl::OkStatus();
  });
}

absl::Status ProfileStore::Delete(absl::string_view name) {
  if (name == kDefaultProfile) {
    return absl::FailedPreconditionError(
        "the 'default' profile cannot be deleted; replace it with put");
  }
  return Update([&](ProfileMap& profiles) {
    if (profiles.erase(std::string(name)) == 0) {
      return absl::NotFoundError(
          absl::StrCat("unknown sampler profile '", name.substr(0, 80), "'"));
    }
    return absl::OkStatus();
  });
}

absl::Status ProfileStore::Update(
    const std::function<absl::Status(ProfileMap&)>& change) {
  if (path_.empty()) {
    absl::MutexLock lock(&mu_);
    ProfileMap next = profiles_;
    if (absl::Status s = change(next); !s.ok()) return s;
    profiles_ = std::move(next);
    return absl::OkStatus();
  }
  // Writers take turns, in this process and in others sharing the file;
  // readers (Get) are not held up meanwhile.
  absl::StatusOr<std::unique_ptr<FileLock>> file_lock = FileLock::Acquire(path_);
  if (!file_lock.ok()) return file_lock.status();
  // Start from the file as the other writers left it (this store's own
  // profiles when there is no file).
  std::string on_file;
  ProfileMap next;
  absl::Status loaded = Load(&on_file, &next);
  if (absl::IsNotFound(loaded)) {
    absl::MutexLock lock(&mu_);
    next = profiles_;
    if (next.empty()) {
      absl::StatusOr<std::shared_ptr<const Profile>> def =
          MakeProfile(std::string(kDefaultProfile), DefaultChainSpec());
      if (!def.ok()) return def.status();
      next[std::string(kDefaultProfile)] = *std::move(def);
    }
  } else if (!loaded.ok()) {
    return absl::DataLossError(
        absl::StrCat(loaded.message(), " (not overwritten: fix or remove it)"));
  }
  if (absl::Status s = change(next); !s.ok()) return s;
  std::string content = Serialize(next);
  if (content != on_file) {
    if (absl::Status s = WriteFileAtomically(path_, content); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  profiles_ = std::move(next);
  content_ = std::move(content);
  return absl::OkStatus();
}

absl::StatusOr<bool> ProfileStore::Refresh() {
  if (path_.empty()) return false;
  std::string known;
  {
    absl::MutexLock lock(&mu_);
    known = content_;
  }
  // Read and parsed outside the lock: Get keeps answering meanwhile. The
  // file is small; comparing content (not inode or mtime, which a rename
  // or a coarse clock can leave unchanged) never misses a change.
  absl::StatusOr<std::string> text = ReadFile(path_);
  if (absl::IsNotFound(text.status())) return false;  // keep what we have
  if (!text.ok()) return text.status();
  if (*text == known) return false;
  std::string content;
  ProfileMap profiles;
  if (absl::Status s = Load(&content, &profiles); !s.ok()) {
    return absl::IsNotFound(s) ? absl::StatusOr<bool>(false) : s;
  }
  absl::MutexLock lock(&mu_);
  // A write of this store's own came in between: it is as new.
  if (content_ != known) return false;
  profiles_ = std::move(profiles);
  content_ = std::move(content);
  return true;
}

void ProfileStore::StartWatching(
    absl::Duration period, std::function<void(const absl::Status&)> on_reload) {
  if (path_.empty() || watcher_.joinable()) return;
  watcher_ = std::thread([this, period, on_reload = std::move(on_reload)] {
    std::string last_failure;  // a corrupt file is reported once
    absl::MutexLock lock(&watch_mu_);
    while (!watch_mu_.AwaitWithTimeout(absl::Condition(&stopping_), period)) {
      watch_mu_.Unlock();
      absl::StatusOr<bool> reloaded = Refresh();
      if (reloaded.ok()) {
        last_failure.clear();
        if (*reloaded && on_reload) on_reload(absl::OkStatus());
      } else if (std::string(reloaded.status().message()) != last_failure) {
        last_failure = std::string(reloaded.status().message());
        if (on_reload) on_reload(reloaded.status());
      }
      watch_mu_.Lock();
    }
  });
}

}  // namespace fm::sampler
