// ReadTokenizerJson: nlohmann::json's SAX parser with a handler that
// builds the tree as nlohmann's own DOM builder does, except under
// model.vocab and model.merges, where values go straight to the lists.
#include "services/tokenizer/tokenizer_json_reader.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/tokenizer/bpe_model.h"
#include "services/tokenizer/gguf_vocabulary.h"

namespace fm::tokenizer {
namespace {

using Json = nlohmann::json;

class Handler final : public nlohmann::json_sax<Json> {
 public:
  explicit Handler(TokenizerJsonDocument* doc) : doc_(doc) {}

  std::string error;

  bool null() override { return Scalar(Json(nullptr)); }
  bool boolean(bool v) override { return Scalar(Json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return VocabId(v);
    return Scalar(Json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) {
      return VocabId(v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
    }
    return Scalar(Json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    return Scalar(Json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) return MergeString(v);
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(v));
      return pair_.size() <= 2 || Fail(absl::StrCat(MergeAt(), ": has more than two pieces"));
    }
    return Scalar(Json(std::move(v)));
  }
  bool binary(binary_t&) override { return Fail("binary values are not JSON"); }

  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }

  bool start_object(std::size_t) override {
    if (!Deeper()) return false;
    if (mode_ == Mode::kVocab) return Fail(VocabAt() + ": is not an integer id");
    if (mode_ != Mode::kTree) return Fail(MergeAt() + ": is neither \"left right\" nor [left, right]");
    if (AtModelMember("vocab")) {
      mode_ = Mode::kVocab;
      doc_->has_vocab = true;
      return true;
    }
    return Open(Json::object());
  }
  bool end_object() override {
    --depth_;
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kTree;
      return true;
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (!Deeper()) return false;
    if (mode_ == Mode::kVocab) return Fail(VocabAt() + ": is not an integer id");
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      return true;
    }
    if (mode_ == Mode::kMergePair) return Fail(MergeAt() + ": is neither \"left right\" nor [left, right]");
    if (AtModelMember("merges")) {
      mode_ = Mode::kMerges;
      doc_->has_merges = true;
      return true;
    }
    return Open(Json::array());
  }
  bool end_array() override {
    --depth_;
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) {
        return Fail(MergeAt() + ": is neither \"left right\" nor [left, right]");
      }
      doc_->merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::kMerges;
      return true;
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kTree;
      return true;
    }
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    if (error.empty()) {
      error = absl::StrCat("not valid JSON at byte ", position, ": ", e.what());
    }
    return false;
  }

 private:
  enum class Mode { kTree, kVocab, kMerges, kMergePair };

  bool Fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }
  bool Deeper() {
    if (++depth_ > kMaxJsonDepth) {
      return Fail(absl::StrCat("nests deeper than ", kMaxJsonDepth, " levels"));
    }
    return true;
  }
  // The next value is member `name` of the root's "model" object.
  bool AtModelMember(absl::string_view name) const {
    return stack_.size() == 2 && in_model_ && key_ == name && stack_.back()->is_object();
  }
  std::string VocabAt() const {
    return absl::StrCat("model.vocab['", absl::CHexEscape(key_.substr(0, 64)), "']");
  }
  std::string MergeAt() const { return absl::StrCat("model.merges[", doc_->merges.size(), "]"); }

  bool VocabId(int64_t id) {
    if (id < 0 || id >= kMaxVocabSize) {
      return Fail(absl::StrCat(VocabAt(), ": id ", id, " is outside [0, ", kMaxVocabSize, ")"));
    }
    doc_->vocab.emplace_back(std::move(key_), static_cast<TokenId>(id));
    return true;
  }
  bool MergeString(const std::string& s) {
    std::pair<std::string, std::string> merge;
    if (!SplitMergeLine(s, &merge)) {
      return Fail(absl::StrCat(MergeAt(), ": '", absl::CHexEscape(s.substr(0, 64)),
                               "' is not two pieces separated by one space"));
    }
    doc_->merges.push_back(std::move(merge));
    return true;
  }

  // A scalar in the tree (anything else in the captured members is wrong).
  bool Scalar(Json v) {
    if (mode_ == Mode::kVocab) return Fail(VocabAt() + ": is not an integer id");
    if (mode_ != Mode::kTree) {
      return Fail(MergeAt() + ": is neither \"left right\" nor [left, right]");
    }
    Place(std::move(v));
    return true;
  }
  Json* Place(Json v) {
    if (stack_.empty()) {
      doc_->rest = std::move(v);
      return &doc_->rest;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(v));
      return &top.back();
    }
    Json& slot = top[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Open(Json container) {
    const bool model = stack_.size() == 1 && key_ == "model" && container.is_object();
    stack_.push_back(Place(std::move(container)));
    if (stack_.size() == 2) in_model_ = model;
    return true;
  }

  TokenizerJsonDocument* doc_;
  std::vector<Json*> stack_;
  std::string key_;
  std::vector<std::string> pair_;
  Mode mode_ = Mode::kTree;
  int depth_ = 0;
  bool in_model_ = false;
};

}  // namespace

absl::StatusOr<TokenizerJsonDocument> ReadTokenizerJson(absl::string_view json,
                                                        absl::string_view file) {
  TokenizerJsonDocument doc;
  Handler handler(&doc);
  const bool ok = Json::sax_parse(json.begin(), json.end(), &handler);
  if (!ok || !handler.error.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": ", handler.error.empty() ? "not valid JSON" : handler.error));
  }
  if (!doc.rest.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": is not a JSON object"));
  }
  return doc;
}

}  // namespace fm::tokenizer
