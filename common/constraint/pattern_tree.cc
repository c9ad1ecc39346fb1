// EmitPattern: alternation and character classes become rules, repetition
// a right-recursive rule (unbounded) or nested optionals (bounded), so the
// recognizer's stacks stay shallow.
#include "common/constraint/pattern_tree.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace fm::constraint {
namespace {

class Emitter {
 public:
  Emitter(ByteGrammar* grammar, TextEncoding encoding)
      : g_(*grammar), encoding_(encoding) {}

  absl::StatusOr<Alternative> Emit(const PatternNode& node) {
    Alternative out;
    switch (node.kind) {
      case PatternNode::Kind::kEmpty:
        break;
      case PatternNode::Kind::kClass:
        if (encoding_ == TextEncoding::kJsonStringContent) {
          FM_RETURN_IF_ERROR(EmitJsonClass(node.chars, &out));
        } else {
          FM_RETURN_IF_ERROR(EmitClass(node.chars, &out));
        }
        break;
      case PatternNode::Kind::kConcat:
        for (const auto& child : node.children) {
          FM_ASSIGN_OR_RETURN(Alternative part, Emit(*child));
          out.insert(out.end(), part.begin(), part.end());
        }
        break;
      case PatternNode::Kind::kRule:
        out.push_back(ByteGrammar::Rule(node.rule));
        break;
      case PatternNode::Kind::kAlt: {
        const int32_t rule = g_.AddRule("alternation");
        for (const auto& child : node.children) {
          FM_ASSIGN_OR_RETURN(Alternative part, Emit(*child));
          g_.AddAlternative(rule, std::move(part));
        }
        out.push_back(ByteGrammar::Rule(rule));
        break;
      }
      case PatternNode::Kind::kRepeat: {
        FM_ASSIGN_OR_RETURN(Alternative body, Emit(*node.children[0]));
        for (int32_t k = 0; k < node.min; ++k) {
          out.insert(out.end(), body.begin(), body.end());
          FM_RETURN_IF_ERROR(CheckGrowth(out));
        }
        if (node.max < 0) {
          // star := body star | ()   (a tail call: constant depth)
          const int32_t star = g_.AddRule("repeat");
          Alternative again = body;
          again.push_back(ByteGrammar::Rule(star));
          g_.AddAlternative(star, std::move(again));
          g_.AddAlternative(star, {});
          out.push_back(ByteGrammar::Rule(star));
        } else if (node.max > node.min) {
          // opt_k := body opt_{k-1} | ()   (up to max - min more)
          int32_t inner = -1;
          for (int32_t k = 0; k < node.max - node.min; ++k) {
            const int32_t opt = g_.AddRule("optional");
            Alternative once = body;
            if (inner >= 0) once.push_back(ByteGrammar::Rule(inner));
            g_.AddAlternative(opt, std::move(once));
            g_.AddAlternative(opt, {});
            inner = opt;
            FM_RETURN_IF_ERROR(g_.CheckSize());
          }
          out.push_back(ByteGrammar::Rule(inner));
        }
        break;
      }
    }
    FM_RETURN_IF_ERROR(CheckGrowth(out));
    return out;
  }

 private:
  absl::Status CheckGrowth(const Alternative& pending) {
    FM_RETURN_IF_ERROR(g_.CheckSize());
    if (static_cast<int64_t>(pending.size()) > kMaxInline) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the constraint compiles to a sequence of more than ",
                       kMaxInline, " elements (the limit)"));
    }
    return absl::OkStatus();
  }

  absl::Status EmitClass(const CodePointSet& chars, Alternative* out) {
    if (chars.empty()) {
      // Matches nothing: a rule without alternatives.
      out->push_back(ByteGrammar::Rule(g_.AddRule("empty class")));
      return absl::OkStatus();
    }
    const auto sequences = chars.Utf8Sequences();
    if (sequences.size() == 1 && sequences[0].size() == 1) {
      ByteSet bytes;
      for (int b = sequences[0][0].first; b <= sequences[0][0].second; ++b) {
        bytes.set(b);
      }
      out->push_back(g_.Bytes(bytes));
      return absl::OkStatus();
    }
    const int32_t rule = g_.AddRule("class");
    // The one-byte sequences share one alternative.
    ByteSet ascii;
    for (const auto& seq : sequences) {
      if (seq.size() == 1) {
        for (int b = seq[0].first; b <= seq[0].second; ++b) ascii.set(b);
        continue;
      }
      CodePointSet::ByteRanges rest(seq.begin() + 1, seq.end());
      g_.AddAlternative(rule,
                        {RangeBytes(seq[0]), ByteGrammar::Rule(Suffix(rest))});
    }
    if (ascii.any()) g_.AddAlternative(rule, {g_.Bytes(ascii)});
    out->push_back(ByteGrammar::Rule(rule));
    return absl::OkStatus();
  }

  GrammarElement RangeBytes(std::pair<uint8_t, uint8_t> range) {
    ByteSet bytes;
    for (int b = range.first; b <= range.second; ++b) bytes.set(b);
    return g_.Bytes(bytes);
  }

  // The rule for the rest of multi-byte sequences, one per distinct rest
  // (in a tail call): so that every sequence that still needs, say, one
  // continuation byte waits in the same recognizer state. Written out
  // per sequence, a character class with all of UTF-8 left 18 states
  // between two characters, which a counted string (maxLength) has at
  // every position; shared, 7.
  int32_t Suffix(const CodePointSet::ByteRanges& ranges) {
    auto it = suffixes_.find(ranges);
    if (it != suffixes_.end()) return it->second;
    Alternative alt = {RangeBytes(ranges[0])};
    if (ranges.size() > 1) {
      alt.push_back(ByteGrammar::Rule(
          Suffix(CodePointSet::ByteRanges(ranges.begin() + 1, ranges.end()))));
    }
    const int32_t rule = g_.AddRule("utf-8 rest");
    g_.AddAlternative(rule, std::move(alt));
    suffixes_.emplace(ranges, rule);
    return rule;
  }

  // `chars` as they appear inside a JSON string (see TextEncoding).
  absl::Status EmitJsonClass(const CodePointSet& chars, Alternative* out) {
    CodePointSet plain = Range(0x20, kMaxCodePoint);
    plain = plain.Intersect(chars);
    const bool quote = chars.Contains('"'), backslash = chars.Contains('\\');
    CodePointSet controls = chars.Intersect(Range(0, 0x1F));
    if (!quote && !backslash && controls.empty()) {
      return EmitClass(plain, out);
    }
    CodePointSet without;
    without.Add('"', '"');
    without.Add('\\', '\\');
    plain = plain.Intersect(without.Complement());
    const int32_t rule = g_.AddRule("json char");
    if (!plain.empty()) {
      Alternative alt;
      FM_RETURN_IF_ERROR(EmitClass(plain, &alt));
      g_.AddAlternative(rule, std::move(alt));
    }
    auto one = [](uint8_t b) {
      ByteSet set;
      set.set(b);
      return set;
    };
    // After the backslash: a short escape letter, or u00 and two hex digits.
    ByteSet letters;
    if (quote) letters.set('"');
    if (backslash) letters.set('\\');
    static constexpr std::pair<uint32_t, char> kShort[] = {
        {'\b', 'b'}, {'\t', 't'}, {'\n', 'n'}, {'\f', 'f'}, {'\r', 'r'}};
    for (const auto& [cp, letter] : kShort) {
      if (controls.Contains(cp)) letters.set(letter);
    }
    if (letters.any()) {
      g_.AddAlternative(rule, {g_.Bytes(one('\\')), g_.Bytes(letters)});
    }
    for (uint32_t high = 0; high < 2; ++high) {
      ByteSet low;
      for (uint32_t d = 0; d < 16; ++d) {
        if (!controls.Contains(high * 16 + d)) continue;
        const char* kHex = "0123456789abcdef";
        low.set(kHex[d]);
        low.set(absl::ascii_toupper(kHex[d]));
      }
      if (low.none()) continue;
      g_.AddAlternative(
          rule, {g_.Bytes(one('\\')), g_.Bytes(one('u')), g_.Bytes(one('0')),
                 g_.Bytes(one('0')), g_.Bytes(one('0' + high)), g_.Bytes(low)});
    }
    out->push_back(ByteGrammar::Rule(rule));
    return absl::OkStatus();
  }

  static constexpr int64_t kMaxInline = 1 << 20;
  ByteGrammar& g_;
  std::map<CodePointSet::ByteRanges, int32_t> suffixes_;  // Suffix rules
  const TextEncoding encoding_;
};

}  // namespace

std::unique_ptr<PatternNode> ClassNode(CodePointSet chars) {
  auto node = std::make_unique<PatternNode>();
  node->kind = PatternNode::Kind::kClass;
  node->chars = std::move(chars);
  return node;
}

std::unique_ptr<PatternNode> RuleNode(int32_t rule) {
  auto node = std::make_unique<PatternNode>();
  node->kind = PatternNode::Kind::kRule;
  node->rule = rule;
  return node;
}

std::unique_ptr<PatternNode> LiteralNode(absl::string_view utf8) {
  std::vector<std::unique_ptr<PatternNode>> parts;
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8At(utf8, i, &cp);
    if (n == 0) break;  // callers pass valid UTF-8
    parts.push_back(ClassNode(Range(cp, cp)));
    i += n;
  }
  return ConcatNode(std::move(parts));
}

std::unique_ptr<PatternNode> ConcatNode(
    std::vector<std::unique_ptr<PatternNode>> parts) {
  auto node = std::make_unique<PatternNode>();
  node->kind = PatternNode::Kind::kConcat;
  node->children = std::move(parts);
  return node;
}

std::unique_ptr<PatternNode> AltNode(
    std::vector<std::unique_ptr<PatternNode>> choices) {
  auto node = std::make_unique<PatternNode>();
  node->kind = PatternNode::Kind::kAlt;
  node->children = std::move(choices);
  return node;
}

std::unique_ptr<PatternNode> RepeatNode(std::unique_ptr<PatternNode> body,
                                        int32_t min, int32_t max) {
  auto node = std::make_unique<PatternNode>();
  node->kind = PatternNode::Kind::kRepeat;
  node->min = min;
  node->max = max;
  node->children.push_back(std::move(body));
  return node;
}

CodePointSet Range(uint32_t lo, uint32_t hi) {
  CodePointSet s;
  s.Add(lo, hi);
  return s;
}

absl::StatusOr<Alternative> EmitPattern(const PatternNode& node,
                                        ByteGrammar* grammar,
                                        TextEncoding encoding) {
  Emitter emitter(grammar, encoding);
  return emitter.Emit(node);
}

}  // namespace fm::constraint
