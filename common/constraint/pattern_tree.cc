// EmitPattern: alternation and character classes become rules, repetition
// a right-recursive rule (unbounded) or nested optionals (bounded), so the
// recognizer's stacks stay shallow.
#include "common/constraint/pattern_tree.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fm::constraint {
namespace {

class Emitter {
 public:
  explicit Emitter(ByteGrammar* grammar) : g_(*grammar) {}

  absl::StatusOr<Alternative> Emit(const PatternNode& node) {
    Alternative out;
    switch (node.kind) {
      case PatternNode::Kind::kEmpty:
        break;
      case PatternNode::Kind::kClass:
        FM_RETURN_IF_ERROR(EmitClass(node.chars, &out));
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
      Alternative alt;
      for (const auto& [lo, hi] : seq) {
        ByteSet bytes;
        for (int b = lo; b <= hi; ++b) bytes.set(b);
        alt.push_back(g_.Bytes(bytes));
      }
      g_.AddAlternative(rule, std::move(alt));
    }
    if (ascii.any()) g_.AddAlternative(rule, {g_.Bytes(ascii)});
    out->push_back(ByteGrammar::Rule(rule));
    return absl::OkStatus();
  }

  static constexpr int64_t kMaxInline = 1 << 20;
  ByteGrammar& g_;
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

CodePointSet Range(uint32_t lo, uint32_t hi) {
  CodePointSet s;
  s.Add(lo, hi);
  return s;
}

absl::StatusOr<Alternative> EmitPattern(const PatternNode& node,
                                        ByteGrammar* grammar) {
  Emitter emitter(grammar);
  return emitter.Emit(node);
}

}  // namespace fm::constraint
