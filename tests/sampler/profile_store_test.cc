// ProfileStore: default profile, persistence across reopen, atomic writes,
// corrupt files, and concurrent put/get/delete while chains sample.
#include "services/sampler/profile_store.h"

#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/sampler/chain_json.h"
#include "tests/support/test_env.h"

namespace fm::sampler {
namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChainSpec Creative() {
  return {{"top_k", {{"k", int64_t{100}}}},
          {"temperature", {{"temperature", 1.3}}},
          {"dist", {}}};
}

TEST_CASE("a missing file is created holding the default profile") {
  const std::string dir = testing::MakeTempDir();
  REQUIRE_FALSE(dir.empty());
  const std::string path = dir + "/profiles.json";
  auto store = ProfileStore::Open(path);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  CHECK(FileExists(path));
  auto def = (*store)->Get("default");
  REQUIRE(def.ok());
  CHECK((*def)->json == ChainToJson(DefaultChainSpec()));
  REQUIRE((*def)->prototype != nullptr);
  CHECK((*def)->prototype->size() == DefaultChainSpec().size());
  CHECK((*store)->List().size() == 1);
}

TEST_CASE("profiles survive a reopen - deletes too") {
  const std::string path = testing::MakeTempDir() + "/p.json";
  {
    auto store = ProfileStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->Put("creative", Creative()).ok());
    REQUIRE((*store)->Put("strict", {{"greedy", {}}}).ok());
    REQUIRE((*store)
                ->Put("default", {{"top_k", {{"k", int64_t{5}}}}, {"dist", {}}})
                .ok());
  }
  CHECK_FALSE(FileExists(path + ".tmp"));
  {
    auto store = ProfileStore::Open(path);
    REQUIRE(store.ok());
    auto list = (*store)->List();
    REQUIRE(list.size() == 3);
    CHECK(list[0]->name == "creative");
    CHECK(list[1]->name == "default");
    CHECK(list[2]->name == "strict");
    CHECK((*store)->Get("creative").value()->json == ChainToJson(Creative()));
    CHECK((*store)->Get("default").value()->spec.size() == 2);
    REQUIRE((*store)->Delete("creative").ok());
  }
  auto store = ProfileStore::Open(path);
  REQUIRE(store.ok());
  CHECK((*store)->Get("creative").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK((*store)->List().size() == 2);
}

TEST_CASE("bad puts and deletes leave the store and the file unchanged") {
  const std::string path = testing::MakeTempDir() + "/p.json";
  auto store = ProfileStore::Open(path);
  REQUIRE(store.ok());
  const std::string before = ReadAll(path);
  auto status = (*store)->Put("x", {{"top_p", {{"p", 2.0}}}, {"dist", {}}});
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), "top_p"));
  CHECK((*store)->Put("bad name!", Creative()).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Put("", Creative()).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Put(std::string(65, 'a'), Creative()).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Put("nosel", {{"top_k", {}}}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Delete("nothing").code() == absl::StatusCode::kNotFound);
  CHECK((*store)->Delete("default").code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK((*store)->Get("x").status().code() == absl::StatusCode::kNotFound);
  CHECK(ReadAll(path) == before);
}

TEST_CASE("a corrupt or invalid file is DATA_LOSS naming the path") {
  const std::string dir = testing::MakeTempDir();
  const std::string path = dir + "/p.json";
  for (const std::string& content :
       {std::string("{not json"), std::string("[]"),
        std::string(R"({"version":1,"profiles":{"a":[{"stage":"top_k"}]}})"),
        std::string(R"({"version":1,"profiles":{"a b":[{"stage":"dist"}]}})"),
        std::string(R"({"version":1,"profiles":{"a":5}})")}) {
    CAPTURE(content);
    std::ofstream(path) << content;
    auto store = ProfileStore::Open(path);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == absl::StatusCode::kDataLoss);
    CHECK(absl::StrContains(store.status().message(), path));
  }
  // A file without `default` gets it added.
  std::ofstream(path)
      << R"({"version":1,"profiles":{"g":[{"stage":"greedy"}]}})";
  auto store = ProfileStore::Open(path);
  REQUIRE(store.ok());
  CHECK((*store)->List().size() == 2);
  CHECK(absl::StrContains(ReadAll(path), "\"default\""));
}

TEST_CASE("a write failure is reported and changes nothing") {
  const std::string dir = testing::MakeTempDir();
  const std::string path = dir + "/sub/p.json";  // Directory is missing.
  auto store = ProfileStore::Open(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == absl::StatusCode::kInternal);
  CHECK(absl::StrContains(store.status().message(), "sub/p.json"));
}

TEST_CASE("a failed write leaves the in-memory store unchanged") {
  const std::string dir = testing::MakeTempDir() + "/sub";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  auto store = ProfileStore::Open(dir + "/p.json");
  REQUIRE(store.ok());
  REQUIRE((*store)->Put("kept", Creative()).ok());
  std::filesystem::remove_all(dir);  // Every later write now fails.
  const absl::Status put = (*store)->Put("lost", Creative());
  CHECK(put.code() == absl::StatusCode::kInternal);
  CHECK((*store)->Get("lost").status().code() == absl::StatusCode::kNotFound);
  CHECK((*store)->Delete("kept").code() == absl::StatusCode::kInternal);
  CHECK((*store)->Get("kept").ok());
}

TEST_CASE("stores sharing a file see each other's changes and lose none") {
  const std::string path = testing::MakeTempDir() + "/shared.json";
  auto a = ProfileStore::Open(path);
  auto b = ProfileStore::Open(path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->Put("from_a", Creative()).ok());
  // b has not looked yet; its own write starts from the file, keeping a's.
  REQUIRE((*b)->Put("from_b", {{"greedy", {}}}).ok());
  CHECK((*b)->Get("from_a").ok());
  auto refreshed = (*a)->Refresh();
  REQUIRE(refreshed.ok());
  CHECK(*refreshed);
  CHECK((*a)->Get("from_b").ok());
  refreshed = (*a)->Refresh();
  REQUIRE(refreshed.ok());
  CHECK_FALSE(*refreshed);  // nothing new, nothing reloaded
  REQUIRE((*a)->Delete("from_b").ok());
  REQUIRE((*b)->Refresh().ok());
  CHECK((*b)->Get("from_b").status().code() == absl::StatusCode::kNotFound);
  auto c = ProfileStore::Open(path);
  REQUIRE(c.ok());
  CHECK((*c)->List().size() == 2);  // default, from_a
}

TEST_CASE("two stores writing one file at once keep every profile") {
  const std::string path = testing::MakeTempDir() + "/shared.json";
  auto a = ProfileStore::Open(path);
  auto b = ProfileStore::Open(path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  constexpr int kEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (ProfileStore* store : {a->get(), b->get()}) {
    writers.emplace_back([store, &failures, prefix = store == a->get() ? "a" : "b"] {
      for (int i = 0; i < kEach; ++i) {
        if (!store->Put(absl::StrCat(prefix, i), Creative()).ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  CHECK(failures == 0);
  auto c = ProfileStore::Open(path);
  REQUIRE(c.ok());
  CHECK((*c)->List().size() == 2 * kEach + 1);
}

TEST_CASE("the watcher reloads what another store wrote") {
  // Declared first: they outlive b's watcher thread, which counts here.
  std::atomic<int> reloads{0}, failures{0};
  const std::string path = testing::MakeTempDir() + "/shared.json";
  auto a = ProfileStore::Open(path);
  auto b = ProfileStore::Open(path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  (*b)->StartWatching(absl::Milliseconds(20), [&](const absl::Status& s) {
    ++(s.ok() ? reloads : failures);
  });
  REQUIRE((*a)->Put("watched", Creative()).ok());
  for (int i = 0; i < 500 && !(*b)->Get("watched").ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK((*b)->Get("watched").ok());
  CHECK(reloads >= 1);
  CHECK(failures == 0);
}

TEST_CASE("a corrupt shared file is neither adopted nor overwritten") {
  const std::string path = testing::MakeTempDir() + "/shared.json";
  auto a = ProfileStore::Open(path);
  REQUIRE(a.ok());
  REQUIRE((*a)->Put("kept", Creative()).ok());
  {
    std::ofstream out(path + ".new");
    out << "{not json";
  }
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
  auto refreshed = (*a)->Refresh();
  CHECK(refreshed.status().code() == absl::StatusCode::kDataLoss);
  CHECK((*a)->Get("kept").ok());
  const absl::Status put = (*a)->Put("more", Creative());
  CHECK(put.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(put.message(), "not overwritten"));
  CHECK(ReadAll(path) == "{not json");
}

TEST_CASE("in-memory store (empty path)") {
  auto store = ProfileStore::Open("");
  REQUIRE(store.ok());
  REQUIRE((*store)->Put("a", Creative()).ok());
  CHECK((*store)->List().size() == 2);
}

TEST_CASE("concurrent puts and gets and deletes while snapshots sample") {
  const std::string path = testing::MakeTempDir() + "/p.json";
  auto opened = ProfileStore::Open(path);
  REQUIRE(opened.ok());
  ProfileStore& store = **opened;
  constexpr int kThreads = 4;
  constexpr int kIterations = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const std::vector<float> logits(500, 0.0f);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const std::string name = absl::StrCat("p", t, "_", i % 3);
        ChainSpec spec = {{"top_k", {{"k", int64_t{1 + i}}}}, {"dist", {}}};
        if (!store.Put(name, spec).ok()) ++failures;
        // Another writer may replace "shared" at any time; a snapshot is
        // unaffected.
        if (!store.Put("shared", spec).ok()) ++failures;
        auto snapshot = store.Get("shared");
        if (!snapshot.ok()) {
          ++failures;
          continue;
        }
        auto chain = (*snapshot)->prototype->CloneChain();
        SamplingContext ctx{Rng(t, 0, i)};
        if (!chain->Sample(logits, ctx).ok()) ++failures;
        if (store.List().empty()) ++failures;
        if (i % 3 == 2 && !store.Delete(name).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  // The file on disk matches memory after the storm.
  auto reopened = ProfileStore::Open(path);
  REQUIRE(reopened.ok());
  auto a = store.List();
  auto b = (*reopened)->List();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]->name == b[i]->name);
    CHECK(a[i]->json == b[i]->json);
  }
}

}  // namespace
}  // namespace fm::sampler
