// Lex: find the tags, tokenize their insides, then apply whitespace
// control to the text between them.
#include "common/jinja/lexer.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fm::jinja {
namespace {

absl::Status Error(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("template line ", line, ": ", what));
}

int CountLines(absl::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// A tag as found in the source, before its text neighbours are trimmed.
struct Piece {
  enum class Kind { kText, kOutput, kBlock, kComment } kind;
  std::string text;   // text, or the tag's inside
  int line;
  bool trim_left = false;   // "{%-": strip whitespace before
  bool trim_right = false;  // "-%}": strip whitespace after
};

absl::Status Tokenize(const Piece& tag, std::vector<Token>* out) {
  const std::string& s = tag.text;
  int line = tag.line;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') ++line;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out->push_back({Token::Kind::kName, s.substr(i, j - i), line});
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      bool is_float = false;
      if (j + 1 < s.size() && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]))) {
        is_float = true;
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      out->push_back({is_float ? Token::Kind::kFloat : Token::Kind::kInteger,
                      s.substr(i, j - i), line});
      i = j;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string value;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        const char d = s[j];
        if (d == c) {
          closed = true;
          ++j;
          break;
        }
        if (d == '\n') ++line;
        if (d == '\\' && j + 1 < s.size()) {
          const char e = s[j + 1];
          switch (e) {
            case 'n': value.push_back('\n'); break;
            case 't': value.push_back('\t'); break;
            case 'r': value.push_back('\r'); break;
            case '\\': value.push_back('\\'); break;
            case '\'': value.push_back('\''); break;
            case '"': value.push_back('"'); break;
            default: value.push_back('\\'); value.push_back(e);
          }
          j += 2;
          continue;
        }
        value.push_back(d);
        ++j;
      }
      if (!closed) return Error(line, "a string is not closed");
      out->push_back({Token::Kind::kString, std::move(value), line});
      i = j;
      continue;
    }
    static constexpr absl::string_view kTwo[] = {"==", "!=", "<=", ">=", "//", "**"};
    bool matched = false;
    for (absl::string_view op : kTwo) {
      if (absl::string_view(s).substr(i, 2) == op) {
        out->push_back({Token::Kind::kOperator, std::string(op), line});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (absl::string_view("()[]{}.,:|~+-*/%<>=").find(c) != absl::string_view::npos) {
      out->push_back({Token::Kind::kOperator, std::string(1, c), line});
      ++i;
      continue;
    }
    return Error(line, absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }
  return absl::OkStatus();
}

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(absl::string_view source) {
  // Jinja drops one trailing newline (keep_trailing_newline is off).
  if (!source.empty() && source.back() == '\n') source.remove_suffix(1);
  std::vector<Piece> pieces;
  int line = 1;
  size_t pos = 0;
  while (pos < source.size()) {
    size_t open = pos;
    while (true) {
      open = source.find('{', open);
      if (open == absl::string_view::npos || open + 1 >= source.size()) {
        open = absl::string_view::npos;
        break;
      }
      const char k = source[open + 1];
      if (k == '{' || k == '%' || k == '#') break;
      ++open;
    }
    const size_t text_end = open == absl::string_view::npos ? source.size() : open;
    if (text_end > pos) {
      pieces.push_back({Piece::Kind::kText, std::string(source.substr(pos, text_end - pos)), line});
      line += CountLines(source.substr(pos, text_end - pos));
    }
    if (open == absl::string_view::npos) break;
    const char k = source[open + 1];
    const absl::string_view close = k == '{' ? "}}" : k == '%' ? "%}" : "#}";
    size_t inner = open + 2;
    Piece tag{k == '{' ? Piece::Kind::kOutput
              : k == '%' ? Piece::Kind::kBlock
                         : Piece::Kind::kComment,
              "", line};
    if (inner < source.size() && source[inner] == '-') {
      tag.trim_left = true;
      ++inner;
    } else if (inner < source.size() && source[inner] == '+') {
      ++inner;
    }
    size_t end = source.find(close, inner);
    // In an output or block tag a "}}"/"%}" inside a string is not the end.
    if (k != '#') {
      char quote = 0;
      end = absl::string_view::npos;
      for (size_t j = inner; j + 1 < source.size(); ++j) {
        const char c = source[j];
        if (quote != 0) {
          if (c == '\\') {
            ++j;
          } else if (c == quote) {
            quote = 0;
          }
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (source.substr(j, 2) == close) {
          end = j;
          break;
        }
      }
    }
    if (end == absl::string_view::npos) {
      return Error(line, k == '#' ? "a comment is not closed"
                                  : absl::StrCat("a tag is not closed with '", close, "'"));
    }
    size_t inner_end = end;
    if (inner_end > inner && source[inner_end - 1] == '-') {
      tag.trim_right = true;
      --inner_end;
    } else if (inner_end > inner && source[inner_end - 1] == '+') {
      --inner_end;
    }
    tag.text = std::string(source.substr(inner, inner_end - inner));
    line += CountLines(source.substr(open, end + 2 - open));
    pieces.push_back(std::move(tag));
    pos = end + 2;
  }

  // Whitespace control on the text pieces, in the order Jinja applies it:
  // lstrip_blocks and trim_blocks on the source, then "-".
  for (size_t i = 0; i < pieces.size(); ++i) {
    Piece& p = pieces[i];
    if (p.kind != Piece::Kind::kText) continue;
    const Piece* before = i > 0 ? &pieces[i - 1] : nullptr;
    const Piece* after = i + 1 < pieces.size() ? &pieces[i + 1] : nullptr;
    std::string& t = p.text;
    if (after != nullptr && after->kind != Piece::Kind::kOutput) {
      // lstrip_blocks: spaces and tabs between a line's start and a block
      // or comment tag.
      size_t j = t.size();
      while (j > 0 && IsSpaceOrTab(t[j - 1])) --j;
      const bool line_start = j > 0 ? t[j - 1] == '\n' : before == nullptr;
      if (line_start) t.resize(j);
    }
    if (before != nullptr && before->kind != Piece::Kind::kOutput) {
      // trim_blocks: the first newline after a block or comment tag.
      if (!t.empty() && t[0] == '\n') {
        t.erase(0, 1);
      } else if (t.size() >= 2 && t[0] == '\r' && t[1] == '\n') {
        t.erase(0, 2);
      }
    }
    if (before != nullptr && before->trim_right) {
      t = std::string(absl::StripLeadingAsciiWhitespace(t));
    }
    if (after != nullptr && after->trim_left) {
      t = std::string(absl::StripTrailingAsciiWhitespace(t));
    }
  }

  std::vector<Token> tokens;
  for (const Piece& p : pieces) {
    switch (p.kind) {
      case Piece::Kind::kText:
        if (!p.text.empty()) tokens.push_back({Token::Kind::kText, p.text, p.line});
        break;
      case Piece::Kind::kComment:
        break;
      case Piece::Kind::kOutput:
      case Piece::Kind::kBlock: {
        const bool output = p.kind == Piece::Kind::kOutput;
        tokens.push_back({output ? Token::Kind::kOutputBegin : Token::Kind::kBlockBegin, "", p.line});
        absl::Status s = Tokenize(p, &tokens);
        if (!s.ok()) return s;
        tokens.push_back({output ? Token::Kind::kOutputEnd : Token::Kind::kBlockEnd, "", p.line});
        break;
      }
    }
  }
  tokens.push_back({Token::Kind::kEnd, "", line});
  return tokens;
}

}  // namespace fm::jinja
