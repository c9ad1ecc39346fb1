// ProfileStore: named chains in memory behind an absl::Mutex, mirrored to a
// JSON file written atomically; see profile_store.h.
#include "services/sampler/profile_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
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

absl::StatusOr<std::unique_ptr<ProfileStore>> ProfileStore::Open(
    std::string path) {
  std::unique_ptr<ProfileStore> store(new ProfileStore(std::move(path)));
  ProfileMap profiles;
  bool write_back = false;
  if (!store->path_.empty()) {
    absl::StatusOr<std::string> text = ReadFile(store->path_);
    if (absl::IsNotFound(text.status())) {
      write_back = true;
    } else if (!text.ok()) {
      return text.status();
    } else {
      Json root;
      try {
        root = Json::parse(*text);
      } catch (const std::exception& e) {
        return absl::DataLossError(absl::StrCat(
            "profiles file ", store->path_, " is not valid JSON: ", e.what()));
      }
      auto list = root.is_object() ? root.find("profiles") : root.end();
      if (list == root.end() || !list->is_object()) {
        return absl::DataLossError(absl::StrCat(
            "profiles file ", store->path_, " lacks a \"profiles\" object"));
      }
      for (auto it = list->begin(); it != list->end(); ++it) {
        absl::Status status = CheckName(it.key());
        absl::StatusOr<ChainSpec> spec = ChainSpecFromJson(it.value());
        if (status.ok()) status = spec.status();
        absl::StatusOr<std::shared_ptr<const Profile>> profile =
            status.ok()
                ? MakeProfile(it.key(), *spec)
                : absl::StatusOr<std::shared_ptr<const Profile>>(status);
        if (!profile.ok()) {
          return absl::DataLossError(
              absl::StrCat("profiles file ", store->path_, ": profile '",
                           it.key(), "': ", profile.status().message()));
        }
        profiles[it.key()] = *std::move(profile);
      }
    }
  }
  if (profiles.find(std::string(kDefaultProfile)) == profiles.end()) {
    absl::StatusOr<std::shared_ptr<const Profile>> def =
        MakeProfile(std::string(kDefaultProfile), DefaultChainSpec());
    if (!def.ok()) return def.status();
    profiles[std::string(kDefaultProfile)] = *std::move(def);
    write_back = true;
  }
  absl::MutexLock lock(&store->mu_);
  if (write_back && !store->path_.empty()) {
    if (absl::Status s = store->Persist(profiles); !s.ok()) return s;
  }
  store->profiles_ = std::move(profiles);
  return store;
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
  absl::MutexLock lock(&mu_);
  ProfileMap next = profiles_;
  if (next.find(std::string(name)) == next.end() &&
      next.size() >= kMaxProfiles) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot add profile '", name,
                     "': the store holds the maximum of ", kMaxProfiles));
  }
  next[std::string(name)] = *std::move(profile);
  if (!path_.empty()) {
    if (absl::Status s = Persist(next); !s.ok()) return s;
  }
  profiles_ = std::move(next);
  return absl::OkStatus();
}

absl::Status ProfileStore::Delete(absl::string_view name) {
  if (name == kDefaultProfile) {
    return absl::FailedPreconditionError(
        "the 'default' profile cannot be deleted; replace it with put");
  }
  absl::MutexLock lock(&mu_);
  ProfileMap next = profiles_;
  if (next.erase(std::string(name)) == 0) {
    return absl::NotFoundError(
        absl::StrCat("unknown sampler profile '", name.substr(0, 80), "'"));
  }
  if (!path_.empty()) {
    if (absl::Status s = Persist(next); !s.ok()) return s;
  }
  profiles_ = std::move(next);
  return absl::OkStatus();
}

absl::Status ProfileStore::Persist(const ProfileMap& profiles) const {
  Json list = Json::object();
  for (const auto& [name, profile] : profiles) {
    list[name] = ChainSpecToJson(profile->spec);
  }
  Json root = {{"version", 1}, {"profiles", std::move(list)}};
  return WriteFileAtomically(
      path_, root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace fm::sampler
