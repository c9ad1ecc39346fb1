// BpeModel: byte-pair encoding by merge rank, Hugging Face's BPE model
// (tokenizer.json "model": {"type": "BPE"}) and llama.cpp's for GGUF
// "gpt2" vocabularies. A word starts as its characters (each a piece, its
// bytes as <0xXX> pieces with byte fallback, or unk); the adjacent pair
// with the best merge rank is merged, leftmost first, until none applies.
#ifndef FM_SERVICES_TOKENIZER_BPE_MODEL_H_
#define FM_SERVICES_TOKENIZER_BPE_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/token_id.h"

namespace fm::tokenizer {

struct BpeOptions {
  // A character that is no piece becomes its <0xXX> byte pieces.
  bool byte_fallback = false;
  // The id for a character that is no piece (-1: the character is dropped,
  // as Hugging Face drops it without an unk_token).
  TokenId unk = -1;
  // Consecutive unknown characters give one unk.
  bool fuse_unk = false;
  // A word that is a piece is that piece, merges or not (Llama 3).
  bool ignore_merges = false;
};

// A merge written as one line, "left right": true and the two pieces
// when it is exactly two non-empty pieces separated by one space.
bool SplitMergeLine(absl::string_view line, std::pair<std::string, std::string>* merge);

class BpeModel {
 public:
  // `vocab`: the pieces merges may form, with their ids. `merges`: pairs
  // of pieces, best first. INVALID_ARGUMENT naming the merge and the piece
  // when a merge's pieces or their concatenation are not in `vocab`.
  static absl::StatusOr<std::unique_ptr<BpeModel>> Create(
      absl::flat_hash_map<std::string, TokenId> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges,
      BpeOptions options);

  // Appends the ids of one word (valid UTF-8 in the model's alphabet).
  void Encode(absl::string_view word, std::vector<TokenId>* ids) const;

 private:
  BpeModel() = default;

  static uint64_t PairKey(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  struct MergeRule {
    int32_t rank;
    TokenId merged;
  };

  // Encode without the cache.
  void MergeWord(absl::string_view word, std::vector<TokenId>* ids) const;

  absl::flat_hash_map<std::string, TokenId> vocab_;
  absl::flat_hash_map<uint64_t, MergeRule> merges_;
  TokenId byte_ids_[256];  // <0xXX> pieces; -1 where absent
  BpeOptions options_;

  // Words seen recently and their ids: text repeats its words, and a
  // merge costs a hash lookup (a cache miss) per pair. Sharded so that
  // threads rarely meet on a lock; a full shard starts over.
  static constexpr int kCacheShards = 16;
  static constexpr size_t kCacheWordsPerShard = 4096;
  static constexpr size_t kMaxCachedWordBytes = 48;
  struct CacheShard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::vector<TokenId>> words ABSL_GUARDED_BY(mu);
  };
  mutable std::unique_ptr<CacheShard[]> cache_ = std::make_unique<CacheShard[]>(kCacheShards);
};

}  // namespace fm::tokenizer

#endif  // FM_SERVICES_TOKENIZER_BPE_MODEL_H_
