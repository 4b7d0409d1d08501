#ifndef TOKENGUARD_DETAIL_JAVA_REGEX_HPP
#define TOKENGUARD_DETAIL_JAVA_REGEX_HPP

/// Java (java.util.regex) pattern -> Boost.Regex perl pattern (SPEC 3).
///
/// Rules are written for Java; we match them with Boost. The two read much of
/// the same text differently (`\uXXXX`, `[[:alpha:]]`, `\cX`, `\Z`, `.` and
/// `\f`, ...), so nothing is passed through as is: the Java text is parsed
/// with Java's rules and every construct is re-emitted in a form whose Boost
/// meaning does not depend on Boost's flags or locale. Literals become
/// `\x{..}` (or stay a letter/digit), character classes become explicit code
/// point sets, `.`/`^`/`$`/`\Z`/`\b` become explicit classes and lookarounds
/// with Java's line terminators and Java's ASCII word characters, and `(?i)`
/// becomes `[xX]` classes (Java folds ASCII letters only). What cannot be
/// carried over exactly is refused, naming the construct and its byte offset.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenguard/detail/regex_ast.hpp"

namespace tokenguard::detail {

struct java_regex_translation {
  std::wstring pattern;  ///< Boost perl syntax, one wchar_t per Unicode code point (Linux: 32-bit)
  bool ascii_only;  ///< every code point in `pattern` is < 0x80 AND no escape in it denotes a code
                    ///< point >= 0x80
  /// Boost perl syntax for a `char` regex that decides exactly as `pattern` does for every text
  /// whose bytes are all < 0x80 (and for no other text): `.`, `$`, `\Z` and `(?m)^` look only at
  /// `\n` and `\r` (U+0085, U+2028 and U+2029 cannot occur), sets keep their ASCII part, and a
  /// non-ASCII literal becomes a one-character class that no ASCII text can match.
  std::string narrow_pattern;
  regex_ast ast;  ///< the parsed structure, for screening and prefilters
};

namespace java_regex_impl {

inline constexpr char32_t max_code_point = 0x10FFFF;
/// Deeper nesting than this is refused so that the recursive parser cannot exhaust the stack.
inline constexpr int max_group_depth = 256;
/// The most '|' a translated lookbehind may hold: Boost's compile-time walk of a lookbehind
/// visits every combination of its alternatives, at most 2^12 paths here.
inline constexpr std::size_t max_lookbehind_alternation_bars = 12;

/// The '|' of a Boost (Perl syntax) pattern outside escapes and bracket expressions.
template <class CharT>
[[nodiscard]] std::size_t count_alternation_bars(
    std::basic_string_view<CharT> boost_text) noexcept {
  std::size_t bars = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < boost_text.size(); ++i) {
    const CharT c = boost_text[i];
    if (c == '\\') {
      ++i;  // the escaped character; \x{...} holds no '|', ']' or '\\'
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      if (i + 1 < boost_text.size() && boost_text[i + 1] == '^') ++i;
      if (i + 1 < boost_text.size() && boost_text[i + 1] == ']') ++i;  // a leading ']' is literal
    } else if (c == '|') {
      ++bars;
    }
  }
  return bars;
}

/// One code point of the Java text after `\Q...\E` removal. `quoted` code points are
/// plain literals wherever Java would read them as one, and never continue a construct.
struct token {
  char32_t cp;
  std::size_t offset;  ///< byte offset of the code point in the Java text
  bool quoted;
};

/// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
inline bool decode_utf8(std::string_view text, std::vector<token>& out, std::string& error) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1Fu;
      min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0Fu;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07u;
      min = 0x10000;
    } else {
      error = "invalid UTF-8 at offset " + std::to_string(i);
      return false;
    }
    if (text.size() - i < len) {
      error = "invalid UTF-8 at offset " + std::to_string(i);
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0u) != 0x80u) {
        error = "invalid UTF-8 at offset " + std::to_string(i);
        return false;
      }
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > max_code_point || (cp >= 0xD800 && cp <= 0xDFFF)) {
      error = "invalid UTF-8 at offset " + std::to_string(i);
      return false;
    }
    out.push_back(token{cp, i, false});
    i += len;
  }
  return true;
}

/// Java's Pattern.RemoveQEQuoting: `\Q...\E` (or `\Q` to the end) quotes everything, in and
/// out of classes; outside a quote a backslash and the code point after it stay a pair, so
/// `\\Q` is not a quote. `\E` without `\Q` is left for the parser to refuse.
inline std::vector<token> remove_qe_quoting(const std::vector<token>& in) {
  std::vector<token> out;
  out.reserve(in.size());
  bool in_quote = false;
  std::size_t i = 0;
  while (i < in.size()) {
    const token& t = in[i];
    const bool next_is = i + 1 < in.size();
    if (!in_quote) {
      if (t.cp == '\\' && next_is && in[i + 1].cp == 'Q') {
        in_quote = true;
        i += 2;
        continue;
      }
      out.push_back(t);
      if (t.cp == '\\' && next_is) {
        out.push_back(in[i + 1]);
        ++i;
      }
      ++i;
      continue;
    }
    if (t.cp == '\\' && next_is && in[i + 1].cp == 'E') {
      in_quote = false;
      i += 2;
      continue;
    }
    out.push_back(token{t.cp, t.offset, true});
    ++i;
  }
  return out;
}

/// A set of code points as sorted, disjoint, non-adjacent closed ranges.
class cp_set {
 public:
  using range = std::pair<char32_t, char32_t>;

  void add(char32_t lo, char32_t hi) {
    ranges_.emplace_back(lo, hi);
    normalized_ = false;
  }
  void add(const cp_set& other) {
    ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
    normalized_ = false;
  }
  /// Java without UNICODE_CASE folds ASCII letters only: `k` never matches U+212A.
  void add_ascii_case_closure(char32_t lo, char32_t hi) {
    add(lo, hi);
    const auto fold = [&](char32_t from, char32_t to, int delta) {
      const char32_t a = std::max(lo, from);
      const char32_t b = std::min(hi, to);
      if (a <= b) add(static_cast<char32_t>(a + delta), static_cast<char32_t>(b + delta));
    };
    fold('A', 'Z', 'a' - 'A');
    fold('a', 'z', 'A' - 'a');
  }
  void complement() {
    normalize();
    std::vector<range> out;
    char32_t next = 0;
    bool open = true;
    for (const range& r : ranges_) {
      if (r.first > next) out.emplace_back(next, r.first - 1);
      if (r.second == max_code_point) {
        open = false;
        break;
      }
      next = r.second + 1;
    }
    if (open) out.emplace_back(next, max_code_point);
    ranges_ = std::move(out);
  }
  [[nodiscard]] const std::vector<range>& ranges() {
    normalize();
    return ranges_;
  }

 private:
  void normalize() {
    if (normalized_) return;
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<range> out;
    for (const range& r : ranges_) {
      if (!out.empty() && r.first <= out.back().second + 1) {
        out.back().second = std::max(out.back().second, r.second);
      } else {
        out.push_back(r);
      }
    }
    ranges_ = std::move(out);
    normalized_ = true;
  }

  std::vector<range> ranges_;
  bool normalized_ = true;
};

/// Java's predefined classes without UNICODE_CHARACTER_CLASS: ASCII only.
inline cp_set digit_set() {
  cp_set s;
  s.add('0', '9');
  return s;
}
inline cp_set word_set() {
  cp_set s;
  s.add('0', '9');
  s.add('A', 'Z');
  s.add('_', '_');
  s.add('a', 'z');
  return s;
}
inline cp_set space_set() {
  cp_set s;
  s.add('\t', '\r');  // \t \n \x0B \f \r
  s.add(' ', ' ');
  return s;
}
/// Java's line terminators (without UNIX_LINES): what `.` excludes and `$` / `^` look at.
inline cp_set dot_set() {
  cp_set s;
  s.add('\n', '\n');
  s.add('\r', '\r');
  s.add(0x85, 0x85);
  s.add(0x2028, 0x2029);
  s.complement();
  return s;
}

/// `\p{Name}` for Java's POSIX names (java.util.regex.CharPredicates.forProperty). Under
/// CASE_INSENSITIVE Java widens Lower and Upper to Alpha; the others are closed under case.
inline bool posix_property(std::u32string_view name, bool case_insensitive, cp_set& s) {
  const auto is = [&](std::string_view n) {
    return name.size() == n.size() &&
           std::equal(n.begin(), n.end(), name.begin(),
                      [](char a, char32_t b) { return char32_t(a) == b; });
  };
  if (is("Lower")) {
    s.add('a', 'z');
    if (case_insensitive) s.add('A', 'Z');
  } else if (is("Upper")) {
    s.add('A', 'Z');
    if (case_insensitive) s.add('a', 'z');
  } else if (is("ASCII")) {
    s.add(0x00, 0x7F);
  } else if (is("Alpha")) {
    s.add('A', 'Z');
    s.add('a', 'z');
  } else if (is("Digit")) {
    s.add('0', '9');
  } else if (is("Alnum")) {
    s.add('0', '9');
    s.add('A', 'Z');
    s.add('a', 'z');
  } else if (is("Punct")) {
    s.add(0x21, 0x2F);
    s.add(0x3A, 0x40);
    s.add(0x5B, 0x60);
    s.add(0x7B, 0x7E);
  } else if (is("Graph")) {
    s.add(0x21, 0x7E);
  } else if (is("Print")) {
    s.add(0x20, 0x7E);
  } else if (is("Blank")) {
    s.add('\t', '\t');
    s.add(' ', ' ');
  } else if (is("Cntrl")) {
    s.add(0x00, 0x1F);
    s.add(0x7F, 0x7F);
  } else if (is("XDigit")) {
    s.add('0', '9');
    s.add('A', 'F');
    s.add('a', 'f');
  } else if (is("Space")) {
    s.add('\t', '\r');
    s.add(' ', ' ');
  } else {
    return false;
  }
  return true;
}

inline bool is_ascii_alnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
inline bool is_ascii_alpha(char32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
/// Letters that, after a backslash, denote one code point (read by escaped_code_point).
inline bool is_code_point_escape(char32_t c) {
  return c == 'a' || c == 'e' || c == 'f' || c == 'n' || c == 'r' || c == 't' || c == 'c' ||
         c == 'x' || c == 'u';
}
inline bool is_hex(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
inline unsigned hex_value(char32_t c) {
  if (c <= '9') return c - '0';
  if (c <= 'F') return c - 'A' + 10;
  return c - 'a' + 10;
}

/// Shows a code point of the Java text in an error message.
inline std::string show(char32_t c) {
  if (c >= 0x20 && c < 0x7F) return std::string(1, static_cast<char>(c));
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string s = "U+";
  std::string hex;
  for (char32_t v = c; v != 0 || hex.size() < 4; v >>= 4) hex.insert(hex.begin(), digits[v & 0xF]);
  return s + hex;
}

/// What the atom just emitted allows after it.
enum class atom_kind : std::uint8_t { nothing, quantifiable, assertion };

class translator {
 public:
  translator(std::vector<token> tokens, std::size_t text_size)
      : t_(std::move(tokens)), text_size_(text_size) {}

  bool run(java_regex_translation& out, std::string& error) {
    bool ok = parse_alternation();
    if (ok && pos_ < t_.size()) ok = fail("unmatched ')'", t_[pos_].offset, "is invalid");
    if (ok) {
      for (const backref& r : refs_) {
        if (r.number > groups_) {
          ok = fail("back reference " + r.shown, r.offset, "refers to a group that does not exist");
          break;
        }
        if (std::find(consuming_groups_.begin(), consuming_groups_.end(), r.number) ==
            consuming_groups_.end()) {
          // Java leaves such a group unset after a zero-width repetition, Boost sets it to "".
          ok = fail("back reference " + r.shown, r.offset,
                    "to a group that can only match empty text is not supported");
          break;
        }
      }
    }
    if (!ok) {
      error = std::move(error_);
      return false;
    }
    out.pattern = std::move(out_);
    out.ascii_only = !non_ascii_;
    out.narrow_pattern = std::move(nout_);
    ast_.root = node_;
    out.ast = std::move(ast_);
    return true;
  }

 private:
  struct backref {
    int number;
    std::size_t offset;
    std::string shown;
  };

  // ---- token access ----------------------------------------------------------------------

  [[nodiscard]] bool at_end() const { return pos_ >= t_.size(); }
  [[nodiscard]] bool is_syntax(std::size_t p, char32_t c) const {
    return p < t_.size() && !t_[p].quoted && t_[p].cp == c;
  }
  [[nodiscard]] bool peek_is(char32_t c) const { return is_syntax(pos_, c); }
  [[nodiscard]] std::size_t offset_here() const {
    return pos_ < t_.size() ? t_[pos_].offset : text_size_;
  }
  /// The next code point of a multi-character construct. Quoted text never continues one
  /// (Java would read `\x\QAB\E` as `\xAB`; we refuse instead of guessing).
  bool next_plain(char32_t& c) {
    if (at_end() || t_[pos_].quoted) return false;
    c = t_[pos_++].cp;
    return true;
  }

  bool fail(const std::string& what, std::size_t offset, std::string_view why) {
    if (error_.empty()) {
      error_ = what + " at offset " + std::to_string(offset) + " " + std::string(why);
    }
    return false;
  }

  // ---- emission --------------------------------------------------------------------------
  // Everything is written twice: `out_` (wide, exact for all text) and `nout_` (narrow,
  // exact for text whose bytes are all < 0x80). Most constructs are the same ASCII text in
  // both; only code points >= 0x80 and the line-terminator classes differ.

  template <class S>
  static void append(S& out, std::string_view ascii) {
    for (const char c : ascii) out.push_back(static_cast<typename S::value_type>(c));
  }
  /// Letters and digits as themselves; everything else as `\x{..}` so that no Boost syntax
  /// (`[:`, `\<`, `#`, a space under mod_x, ...) can ever be formed.
  template <class S>
  static void append_code_point(S& out, char32_t c) {
    if (is_ascii_alnum(c)) {
      out.push_back(static_cast<typename S::value_type>(c));
      return;
    }
    static constexpr char digits[] = "0123456789ABCDEF";
    char hex[8];
    std::size_t n = 0;
    for (char32_t v = c; v != 0 || n == 0; v >>= 4) hex[n++] = digits[v & 0xF];
    append(out, "\\x{");
    while (n > 0) out.push_back(static_cast<typename S::value_type>(hex[--n]));
    append(out, "}");
  }
  /// A one-character class that no ASCII text can match (narrow program only).
  static constexpr std::string_view narrow_never = "[^\\x{0}-\\x{7F}]";

  void emit(std::string_view ascii) {
    append(out_, ascii);
    append(nout_, ascii);
  }
  void emit_code_point(char32_t c) {
    if (c >= 0x80) non_ascii_ = true;
    append_code_point(out_, c);
    if (c < 0x80) {
      append_code_point(nout_, c);
    } else {
      append(nout_, narrow_never);
    }
  }
  /// Ranges as a class body: `a-z`, `ab` (adjacent ends need no dash), `a`.
  template <class S>
  static void append_ranges(S& out, const std::vector<cp_set::range>& ranges) {
    for (const auto& [lo, hi] : ranges) {
      append_code_point(out, lo);
      if (hi == lo) continue;
      if (hi != lo + 1) append(out, "-");
      append_code_point(out, hi);
    }
  }
  void emit_set(cp_set& s) {
    const auto& r = s.ranges();
    add_chars_node(r);
    // Wide: every code point.
    if (r.empty()) {
      // Java's empty class consumes nothing and never matches; keep it one character wide.
      append(out_, "[^\\x{0}-\\x{10FFFF}]");
      non_ascii_ = true;
    } else if (r.size() == 1 && r[0].first == 0 && r[0].second == max_code_point) {
      append(out_, "(?s:.)");  // with (?s) Boost's `.` takes every code point (no match_not_dot_*)
    } else if (r.size() == 1 && r[0].first == r[0].second) {
      if (r[0].first >= 0x80) non_ascii_ = true;
      append_code_point(out_, r[0].first);
    } else {
      cp_set comp = s;
      comp.complement();
      const auto& c = comp.ranges();
      const bool set_ascii = r.back().second < 0x80;
      const bool comp_ascii = !c.empty() && c.back().second < 0x80;
      const bool negate = !set_ascii && (comp_ascii || c.size() < r.size());
      if ((negate ? c : r).back().second >= 0x80) non_ascii_ = true;
      append(out_, negate ? "[^" : "[");
      append_ranges(out_, negate ? c : r);
      append(out_, "]");
    }
    // Narrow: only the ASCII part can ever meet an ASCII text.
    std::vector<cp_set::range> a;
    for (const auto& [lo, hi] : r) {
      if (lo < 0x80) a.emplace_back(lo, std::min<char32_t>(hi, 0x7F));
    }
    if (a.empty()) {
      append(nout_, narrow_never);
      return;
    }
    if (a.size() == 1 && a[0].first == 0 && a[0].second == 0x7F) {
      append(nout_, "(?s:.)");
      return;
    }
    if (a.size() == 1 && a[0].first == a[0].second) {
      append_code_point(nout_, a[0].first);
      return;
    }
    std::vector<cp_set::range> missing;  // ASCII minus the set
    char32_t next = 0;
    for (const auto& [lo, hi] : a) {
      if (lo > next) missing.emplace_back(next, lo - 1);
      next = hi + 1;
    }
    if (next <= 0x7F) missing.emplace_back(next, 0x7F);
    // A negated class also takes bytes >= 0x80; the narrow program never sees them.
    const bool negate = missing.size() < a.size();
    append(nout_, negate ? "[^" : "[");
    append_ranges(nout_, negate ? missing : a);
    append(nout_, "]");
  }
  void emit_literal(char32_t c) {
    if (ci_ && is_ascii_alpha(c)) {
      cp_set s;
      s.add_ascii_case_closure(c, c);
      emit_set(s);
      return;
    }
    add_chars_node({cp_set::range(c, c)});
    emit_code_point(c);
  }
  /// Java's `$` (Pattern.Dollar): not multiline, at the end or before one final line
  /// terminator (`\r\n` counts as one); multiline, before any terminator; never between
  /// `\r` and `\n`.
  void emit_dollar(bool multiline) {
    non_ascii_ = true;
    add_node(multiline ? regex_node::kind::assertion : regex_node::kind::end_anchor);
    if (multiline) {
      append(out_, "(?:(?=[\\x{A}\\x{D}\\x{85}\\x{2028}\\x{2029}]|\\z)(?!(?<=\\x{D})\\x{A}))");
      append(nout_, "(?:(?=[\\x{A}\\x{D}]|\\z)(?!(?<=\\x{D})\\x{A}))");
    } else {
      append(out_,
             "(?:(?=(?:\\x{D}\\x{A}|[\\x{A}\\x{D}\\x{85}\\x{2028}\\x{2029}])?\\z)"
             "(?!(?<=\\x{D})\\x{A}))");
      append(nout_, "(?:(?=(?:\\x{D}\\x{A}|[\\x{A}\\x{D}])?\\z)(?!(?<=\\x{D})\\x{A}))");
    }
  }
  /// Java's multiline `^` (Pattern.Caret): at the start or after a line terminator, not
  /// between `\r` and `\n`, and never at the end of the input.
  void emit_multiline_caret() {
    non_ascii_ = true;
    add_node(regex_node::kind::assertion);
    append(out_,
           "(?:(?:\\A|(?<=[\\x{A}\\x{85}\\x{2028}\\x{2029}])|(?<=\\x{D})(?!\\x{A}))"
           "(?=(?s:.)))");
    append(nout_, "(?:(?:\\A|(?<=\\x{A})|(?<=\\x{D})(?!\\x{A}))(?=(?s:.)))");
  }
  /// `\b` as Java 19+ reads it: word characters are `[0-9A-Za-z_]`, like `\w`. Java 8-18
  /// also count non-ASCII letters and digits, and every version counts a combining mark
  /// after a letter; neither can be written for Boost (no Unicode tables, no unbounded
  /// lookbehind), so those texts are where this differs from some Java.
  void emit_boundary(bool negated) {
    static constexpr std::string_view w = "[0-9A-Z\\x{5F}a-z]";
    add_node(regex_node::kind::assertion);
    emit("(?:(?<=");
    emit(w);
    emit(negated ? ")(?=" : ")(?!");
    emit(w);
    emit(")|(?<!");
    emit(w);
    emit(negated ? ")(?!" : ")(?=");
    emit(w);
    emit("))");
  }

  // ---- structure (regex_ast) -------------------------------------------------------------
  // Each parse function leaves the node it built in `node_` (regex_no_node for `(?i)`).

  std::uint32_t new_node(regex_node::kind k, std::size_t offset) {
    regex_node n;
    n.type = k;
    n.offset = offset;
    ast_.nodes.push_back(std::move(n));
    return static_cast<std::uint32_t>(ast_.nodes.size() - 1);
  }
  void add_node(regex_node::kind k) { node_ = new_node(k, atom_offset_); }
  void add_chars_node(std::vector<cp_set::range> ranges) {
    node_ = new_node(regex_node::kind::chars, atom_offset_);
    ast_.nodes[node_].set = std::move(ranges);
  }
  std::uint32_t wrap_node(regex_node::kind k, std::size_t offset, std::uint32_t child) {
    const std::uint32_t n = new_node(k, offset);
    ast_.nodes[n].children.push_back(child);
    return n;
  }

  // ---- grammar ---------------------------------------------------------------------------

  bool parse_alternation() {
    std::vector<std::uint32_t> branches;
    const std::size_t start = offset_here();
    for (;;) {
      if (!parse_sequence()) return false;
      branches.push_back(node_);
      if (!peek_is('|')) break;
      ++pos_;
      emit("|");
    }
    if (branches.size() == 1) {
      node_ = branches[0];
    } else {
      node_ = new_node(regex_node::kind::alternation, start);
      ast_.nodes[node_].children = std::move(branches);
    }
    return true;
  }

  bool parse_sequence() {
    std::vector<std::uint32_t> items;
    const std::size_t start = offset_here();
    for (;;) {
      if (at_end() || peek_is('|') || peek_is(')')) break;
      atom_kind kind = atom_kind::nothing;
      const bool group = peek_is('(');
      atom_consumes_ = false;
      const std::size_t at = offset_here();
      atom_offset_ = at;
      const std::size_t out_at = out_.size();
      const std::size_t nout_at = nout_.size();
      node_ = regex_no_node;
      if (!parse_atom(kind)) return false;
      std::uint32_t atom = node_;
      // Everything but assertions and groups consumes; a group says so itself.
      const bool consumes = group ? atom_consumes_ : kind == atom_kind::quantifiable;
      bool never = false;
      quant_ = quantifier{};
      atom_out_ = out_at;  // nested sequences inside a group have moved them
      atom_nout_ = nout_at;
      if (!parse_quantifier(kind, never)) return false;
      if (consumes && !never && !frames_.empty()) frames_.back() = true;
      if (atom == regex_no_node) continue;
      if (quant_.present) {
        atom = wrap_node(regex_node::kind::repeat, at, atom);
        regex_node& r = ast_.nodes[atom];
        r.min = quant_.min;
        r.max = quant_.max;
        r.mode = quant_.mode;
      }
      items.push_back(atom);
    }
    if (items.size() == 1) {
      node_ = items[0];
    } else {
      node_ = new_node(items.empty() ? regex_node::kind::empty : regex_node::kind::sequence, start);
      ast_.nodes[node_].children = std::move(items);
    }
    return true;
  }

  bool parse_atom(atom_kind& kind) {
    const token tk = t_[pos_];
    kind = atom_kind::quantifiable;
    if (tk.quoted) {
      ++pos_;
      emit_literal(tk.cp);
      return true;
    }
    switch (tk.cp) {
      case '(':
        return parse_group(kind);
      case '[': {
        cp_set s;
        if (!parse_class(s)) return false;
        emit_set(s);
        return true;
      }
      case '\\':
        return parse_escape(kind);
      case '^':
        ++pos_;
        kind = atom_kind::assertion;
        if (multiline_) {
          emit_multiline_caret();
        } else {
          add_node(regex_node::kind::start_anchor);
          emit("\\A");
        }
        return true;
      case '$':
        ++pos_;
        kind = atom_kind::assertion;
        emit_dollar(multiline_);
        return true;
      case '.': {
        ++pos_;
        cp_set s;
        if (dotall_) {
          s.add(0, max_code_point);
        } else {
          s = dot_set();
        }
        emit_set(s);
        return true;
      }
      case '?':
      case '*':
      case '+':
      case '{': {
        if (tk.cp == '{' && !valid_braces(pos_)) {
          return fail("'{'", tk.offset, "does not start a valid quantifier {n}, {n,} or {n,m}");
        }
        return fail("quantifier '" + show(tk.cp) + "'", tk.offset, "has nothing to repeat");
      }
      default:
        ++pos_;
        emit_literal(tk.cp);
        return true;
    }
  }

  /// Whether `{` at p starts `{n}`, `{n,}` or `{n,m}` (digits only, as Java reads it).
  [[nodiscard]] bool valid_braces(std::size_t p) const {
    std::size_t q = p + 1;
    const auto digits = [&]() {
      const std::size_t start = q;
      while (q < t_.size() && !t_[q].quoted && t_[q].cp >= '0' && t_[q].cp <= '9') ++q;
      return q > start;
    };
    if (!digits()) return false;
    if (is_syntax(q, ',')) {
      ++q;
      digits();
    }
    return is_syntax(q, '}');
  }

  bool parse_number(std::uint64_t& n, bool& any) {
    n = 0;
    any = false;
    while (pos_ < t_.size() && !t_[pos_].quoted && t_[pos_].cp >= '0' && t_[pos_].cp <= '9') {
      n = n * 10 + (t_[pos_].cp - '0');
      any = true;
      ++pos_;
      if (n > 0x7FFFFFFF) return false;  // Java: "Illegal repetition range"
    }
    return true;
  }

  /// `never`: the quantifier is {0} or {0,0}, so the atom matches only empty text.
  bool parse_quantifier(atom_kind kind, bool& never) {
    if (at_end() || t_[pos_].quoted) return true;
    const token tk = t_[pos_];
    if (tk.cp != '?' && tk.cp != '*' && tk.cp != '+' && tk.cp != '{') return true;
    if (tk.cp == '{' && !valid_braces(pos_)) {
      return fail("'{'", tk.offset, "does not start a valid quantifier {n}, {n,} or {n,m}");
    }
    if (kind == atom_kind::nothing) {
      return fail("quantifier '" + show(tk.cp) + "'", tk.offset, "has nothing to repeat");
    }
    if (kind == atom_kind::assertion) {
      return fail("quantifier '" + show(tk.cp) + "'", tk.offset,
                  "on a zero-width assertion is not supported");
    }
    ++pos_;
    quant_.present = true;
    std::string q;  // the quantifier for Boost, without a lazy/possessive suffix
    if (tk.cp == '{') {
      std::uint64_t lo = 0;
      std::uint64_t hi = 0;
      bool any = false;
      if (!parse_number(lo, any)) return fail("quantifier '{'", tk.offset, "is out of range");
      q = "{" + std::to_string(lo);
      quant_.min = static_cast<std::uint32_t>(lo);
      quant_.max = quant_.min;
      if (peek_is(',')) {
        ++pos_;
        if (!parse_number(hi, any)) return fail("quantifier '{'", tk.offset, "is out of range");
        if (any && hi < lo) return fail("quantifier '{'", tk.offset, "has max < min");
        q += any ? "," + std::to_string(hi) : std::string(",");
        quant_.max = any ? static_cast<std::uint32_t>(hi) : regex_unbounded;
        never = any && hi == 0;
      } else {
        never = lo == 0;
      }
      ++pos_;  // '}', checked by valid_braces
      q += "}";
    } else {
      quant_.min = tk.cp == '+' ? 1 : 0;
      quant_.max = tk.cp == '?' ? 1 : regex_unbounded;
      q = std::string(1, static_cast<char>(tk.cp));
    }
    if (peek_is('?')) {
      quant_.mode = regex_node::greed::lazy;
      ++pos_;
      emit(q + "?");
    } else if (peek_is('+')) {
      // Java commits each iteration of a possessive repeat on its own (Curly.match2 takes
      // the first way the atom matches, iteration after iteration): `(?:a+){2}+` never
      // matches "aaa". Boost's `X{2}+` is `(?>X{2})`, which may still backtrack between
      // iterations, so write what Java does: `(?>(?>X){2})`.
      quant_.mode = regex_node::greed::possessive;
      ++pos_;
      out_.insert(atom_out_, L"(?>(?>");
      nout_.insert(atom_nout_, "(?>(?>");
      emit(")" + q + ")");
    } else {
      emit(q);
    }
    if (!at_end() && !t_[pos_].quoted &&
        (peek_is('?') || peek_is('*') || peek_is('+') || peek_is('{'))) {
      return fail("quantifier '" + show(t_[pos_].cp) + "'", t_[pos_].offset,
                  "follows another quantifier");
    }
    return true;
  }

  bool parse_group(atom_kind& kind) {
    const std::size_t open = t_[pos_].offset;
    ++pos_;
    if (++depth_ > max_group_depth) {
      return fail("group '('", open, "is nested too deeply");
    }
    const bool save_ci = ci_;
    const bool save_dotall = dotall_;
    const bool save_multiline = multiline_;
    kind = atom_kind::quantifiable;
    bool capture = false;
    int group_number = 0;
    regex_node::kind wrap = regex_node::kind::group;
    bool lookbehind = false;
    frames_.push_back(false);
    if (peek_is('?')) {
      ++pos_;
      char32_t c = 0;
      if (!next_plain(c)) {
        if (at_end()) return fail("group '(?'", open, "is incomplete");
        return fail("group '(?'", open, "followed by \\Q...\\E quoting is not supported");
      }
      switch (c) {
        case ':':
          emit("(?:");
          break;
        case '=':
          emit("(?=");
          kind = atom_kind::assertion;
          wrap = regex_node::kind::lookaround;
          break;
        case '!':
          emit("(?!");
          kind = atom_kind::assertion;
          wrap = regex_node::kind::lookaround;
          break;
        case '>':
          emit("(?>");
          wrap = regex_node::kind::atomic;
          break;
        case '<': {
          if (peek_is('=') || peek_is('!')) {
            emit(peek_is('=') ? "(?<=" : "(?<!");
            ++pos_;
            kind = atom_kind::assertion;
            wrap = regex_node::kind::lookaround;
            lookbehind = true;
            break;
          }
          std::string name;
          if (!parse_group_name(name)) return false;
          for (const auto& [n, number] : names_) {
            if (n == name)
              return fail("named group '(?<" + name + ">'", open, "is already defined");
          }
          ++groups_;
          group_number = groups_;
          open_groups_.push_back(groups_);
          capture = true;
          names_.emplace_back(name, groups_);
          emit("(?<" + name + ">");
          break;
        }
        default: {
          --pos_;
          if (!parse_flags(open)) return false;
          if (peek_is(')')) {  // (?i): applies up to the end of the enclosing group
            ++pos_;
            --depth_;
            frames_.pop_back();
            kind = atom_kind::nothing;
            node_ = regex_no_node;
            return true;
          }
          ++pos_;  // ':'
          emit("(?:");
          break;
        }
      }
    } else {
      ++groups_;
      group_number = groups_;
      open_groups_.push_back(groups_);
      capture = true;
      emit("(");
    }
    const std::size_t body = out_.size();
    if (!parse_alternation()) return false;
    if (!peek_is(')')) return fail("group '('", open, "is not closed");
    const bool body_consumes = frames_.back();
    frames_.pop_back();
    if (capture) {
      open_groups_.pop_back();
      if (body_consumes) consuming_groups_.push_back(group_number);
    }
    atom_consumes_ = body_consumes && kind != atom_kind::assertion;
    if (!capture && out_.size() == body) emit("(?:)");  // Boost refuses an empty (?=) (?>) ...
    ++pos_;
    emit(")");
    // Boost sizes a lookbehind at compile time by walking every path through it, which takes
    // time exponential in the alternations it holds (a multiline ^ is three): twenty carets
    // took 50 s to compile (found by fuzz_rules).
    if (lookbehind && count_alternation_bars(std::wstring_view(out_).substr(body)) >
                          max_lookbehind_alternation_bars) {
      return fail("lookbehind '(?<'", open,
                  "holds more than " + std::to_string(max_lookbehind_alternation_bars) +
                      " alternations once translated (its own '|', and those of each ^, $ or "
                      "\\b in it), which the engine cannot compile in bounded time");
    }
    node_ = wrap_node(wrap, open, node_);
    ast_.nodes[node_].capturing = capture;
    ci_ = save_ci;
    dotall_ = save_dotall;
    multiline_ = save_multiline;
    --depth_;
    return true;
  }

  /// Java's inline flags `(?idmsuxU-idmsuxU)` / `(?...:`; only i, m, s carry over.
  bool parse_flags(std::size_t open) {
    bool on = true;
    bool any = false;
    for (;;) {
      if (at_end()) return fail("group '(?'", open, "is not closed");
      const token tk = t_[pos_];
      if (tk.quoted) {
        return fail("group '(?'", open, "followed by \\Q...\\E quoting is not supported");
      }
      switch (tk.cp) {
        case 'i':
          ci_ = on;
          break;
        case 's':
          dotall_ = on;
          break;
        case 'm':
          multiline_ = on;
          break;
        case 'd':
        case 'u':
        case 'U':
        case 'c':
        case 'x':
          return fail("inline flag '" + show(tk.cp) + "'", tk.offset, "is not supported");
        case '-':
          if (!on) return fail("inline flag '-'", tk.offset, "is invalid");
          on = false;
          break;
        case ')':
        case ':':
          return true;
        default:
          if (!any) {
            return fail("group syntax '(?" + show(tk.cp) + "'", open, "is not supported");
          }
          return fail("inline flag '" + show(tk.cp) + "'", tk.offset, "is not supported");
      }
      any = true;
      ++pos_;
    }
  }

  /// Java: a Latin letter, then Latin letters and digits, then `>`.
  bool parse_group_name(std::string& name) {
    char32_t c = 0;
    const std::size_t at = offset_here();
    if (!next_plain(c) || !is_ascii_alpha(c)) {
      return fail("group name", at, "must start with a Latin letter");
    }
    name.push_back(static_cast<char>(c));
    for (;;) {
      if (!next_plain(c)) return fail("group name", at, "is missing its closing '>'");
      if (c == '>') return true;
      if (!is_ascii_alnum(c)) {
        return fail("group name", at, "may hold only Latin letters and digits");
      }
      name.push_back(static_cast<char>(c));
    }
  }

  /// Reads the escapes that denote one code point: \0ooo \xhh \x{h..} \uhhhh \cX \t \n \r
  /// \f \a \e, and a backslash before anything that is not a Latin letter or digit.
  /// `c` is the code point after the backslash (already consumed).
  bool escaped_code_point(char32_t c, std::size_t esc, char32_t& value) {
    switch (c) {
      case '0': {
        // Java: \0n, \0nn, \0mnn (m <= 3).
        const auto octal = [&](std::size_t p) {
          return p < t_.size() && !t_[p].quoted && t_[p].cp >= '0' && t_[p].cp <= '7';
        };
        if (!octal(pos_)) return fail("octal escape '\\0'", esc, "needs 1 to 3 octal digits");
        value = t_[pos_++].cp - '0';
        if (octal(pos_)) {
          const char32_t first = value;
          value = value * 8 + (t_[pos_++].cp - '0');
          if (first <= 3 && octal(pos_)) value = value * 8 + (t_[pos_++].cp - '0');
        }
        return true;
      }
      case 'a':
        value = 0x07;
        return true;
      case 'e':
        value = 0x1B;
        return true;
      case 'f':
        value = 0x0C;
        return true;
      case 'n':
        value = 0x0A;
        return true;
      case 'r':
        value = 0x0D;
        return true;
      case 't':
        value = 0x09;
        return true;
      case 'c': {
        // Java: the next code point XOR 0x40 (Boost reads \cX differently).
        char32_t x = 0;
        if (!next_plain(x)) return fail("control escape '\\c'", esc, "needs a character after it");
        value = x ^ 0x40;
        return true;
      }
      case 'x': {
        char32_t h = 0;
        if (peek_is('{')) {
          ++pos_;
          char32_t v = 0;
          bool any = false;
          while (pos_ < t_.size() && !t_[pos_].quoted && is_hex(t_[pos_].cp)) {
            v = v * 16 + hex_value(t_[pos_++].cp);
            any = true;
            if (v > max_code_point) return fail("hex escape '\\x{'", esc, "is above U+10FFFF");
          }
          if (!any || !peek_is('}')) return fail("hex escape '\\x{'", esc, "is invalid");
          ++pos_;
          value = v;
          return true;
        }
        char32_t v = 0;
        for (int k = 0; k < 2; ++k) {
          if (!next_plain(h) || !is_hex(h)) {
            return fail("hex escape '\\x'", esc, "needs two hex digits or {hex}");
          }
          v = v * 16 + hex_value(h);
        }
        value = v;
        return true;
      }
      case 'u': {
        if (!read_u4(value)) return fail("'\\u'", esc, "must be followed by exactly 4 hex digits");
        if (value >= 0xD800 && value <= 0xDBFF) {
          // Java joins \uD83D\uDE00 into one code point.
          const std::size_t save = pos_;
          char32_t low = 0;
          if (peek_is('\\') && is_syntax(pos_ + 1, 'u')) {
            pos_ += 2;
            if (read_u4(low) && low >= 0xDC00 && low <= 0xDFFF) {
              value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00);
              return true;
            }
          }
          pos_ = save;
        }
        return true;
      }
      default:
        if (is_ascii_alnum(c)) return fail("escape '\\" + show(c) + "'", esc, "is not supported");
        value = c;  // \. \\ \< \é ... are literals in Java
        return true;
    }
  }

  bool read_u4(char32_t& value) {
    value = 0;
    for (int k = 0; k < 4; ++k) {
      if (pos_ >= t_.size() || t_[pos_].quoted || !is_hex(t_[pos_].cp)) return false;
      value = value * 16 + hex_value(t_[pos_++].cp);
    }
    return true;
  }

  /// Refusals shared by escapes in and out of classes, with the reason.
  bool refuse_escape(char32_t c, std::size_t esc) {
    const std::string what = "escape '\\" + show(c) + "'";
    switch (c) {
      case 'E':
        return fail(what, esc, "without a preceding '\\Q' is invalid");
      case 'h':
      case 'H':
      case 'v':
      case 'V':
      case 'R':
      case 'X':
      case 'N':
      case 'G':
        return fail(what, esc, "is not supported");
      default:
        return fail(what, esc, "is not supported (Java does not have it)");
    }
  }

  bool parse_escape(atom_kind& kind) {
    const std::size_t esc = t_[pos_].offset;
    ++pos_;
    if (at_end()) return fail("a lone backslash", esc, "ends the pattern");
    const char32_t c = t_[pos_++].cp;  // never quoted: the backslash pair stays together
    kind = atom_kind::quantifiable;
    if (c >= '1' && c <= '9') return parse_backref(c, esc);
    cp_set s;
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 's':
      case 'S':
      case 'p':
      case 'P':
        if (!class_escape(c, esc, s)) return false;
        emit_set(s);
        return true;
      case 'b':
      case 'B':
        if (c == 'b' && peek_is('{')) return fail("escape '\\b{'", esc, "is not supported");
        emit_boundary(c == 'B');
        kind = atom_kind::assertion;
        return true;
      case 'A':
        add_node(regex_node::kind::start_anchor);
        emit("\\A");
        kind = atom_kind::assertion;
        return true;
      case 'z':
        add_node(regex_node::kind::end_anchor);
        emit("\\z");
        kind = atom_kind::assertion;
        return true;
      case 'Z':
        emit_dollar(false);
        kind = atom_kind::assertion;
        return true;
      case 'k':
        return parse_named_backref(esc);
      default:
        break;
    }
    if (is_ascii_alpha(c) && !is_code_point_escape(c)) {
      return refuse_escape(c, esc);
    }
    char32_t value = 0;
    if (!escaped_code_point(c, esc, value)) return false;
    emit_literal(value);
    return true;
  }

  /// \d \D \w \W \s \S \p{..} \P{..}; `c` already consumed.
  bool class_escape(char32_t c, std::size_t esc, cp_set& s) {
    switch (c) {
      case 'd':
      case 'D':
        s = digit_set();
        break;
      case 'w':
      case 'W':
        s = word_set();
        break;
      case 's':
      case 'S':
        s = space_set();
        break;
      default: {  // p, P
        std::u32string name;
        if (peek_is('{')) {
          ++pos_;
          char32_t x = 0;
          for (;;) {
            if (!next_plain(x)) return fail("property '\\" + show(c) + "{'", esc, "is not closed");
            if (x == '}') break;
            name.push_back(x);
          }
        } else {
          char32_t x = 0;
          if (!next_plain(x)) return fail("property '\\" + show(c) + "'", esc, "has no name");
          name.push_back(x);
        }
        if (!posix_property(name, ci_, s)) {
          std::string shown;
          for (const char32_t x : name) shown += show(x);
          return fail("character property '\\" + show(c) + "{" + shown + "}'", esc,
                      "is not supported (only Java's POSIX ASCII classes are: Lower, Upper, "
                      "ASCII, Alpha, Digit, Alnum, Punct, Graph, Print, Blank, Cntrl, XDigit, "
                      "Space)");
        }
        break;
      }
    }
    if (c == 'D' || c == 'W' || c == 'S' || c == 'P') s.complement();
    return true;
  }

  /// Java: the first digit is always a reference; more digits are taken while the number
  /// stays within the groups opened so far.
  bool parse_backref(char32_t first, std::size_t esc) {
    int number = static_cast<int>(first - '0');
    while (pos_ < t_.size() && !t_[pos_].quoted && t_[pos_].cp >= '0' && t_[pos_].cp <= '9') {
      const int next = number * 10 + static_cast<int>(t_[pos_].cp - '0');
      if (next > groups_) break;
      number = next;
      ++pos_;
    }
    return emit_backref(number, esc, "'\\" + std::to_string(number) + "'");
  }

  bool parse_named_backref(std::size_t esc) {
    char32_t c = 0;
    if (!next_plain(c) || c != '<') return fail("escape '\\k'", esc, "must be followed by <name>");
    std::string name;
    if (!parse_group_name(name)) return false;
    for (const auto& [n, number] : names_) {
      if (n == name) return emit_backref(number, esc, "'\\k<" + name + ">'");
    }
    return fail("back reference '\\k<" + name + ">'", esc,
                "names a group that is not defined before it");
  }

  bool emit_backref(int number, std::size_t esc, const std::string& shown) {
    if (ci_) {
      // Java folds ASCII only; Boost folds with the global locale. Refuse rather than differ.
      return fail("back reference " + shown, esc,
                  "under case-insensitive matching is not supported");
    }
    if (std::find(open_groups_.begin(), open_groups_.end(), number) != open_groups_.end()) {
      // Java and Boost disagree on what a group holds while it is being matched.
      return fail("back reference " + shown, esc, "inside the group it refers to is not supported");
    }
    refs_.push_back(backref{number, esc, shown});
    add_node(regex_node::kind::backref);
    ast_.nodes[node_].min = static_cast<std::uint32_t>(number);
    emit("\\g{" + std::to_string(number) + "}");
    return true;
  }

  /// A Java class `[...]` without nesting, union or intersection, as an explicit set.
  bool parse_class(cp_set& result) {
    const std::size_t open = t_[pos_].offset;
    ++pos_;
    bool negate = false;
    if (peek_is('^')) {
      negate = true;
      ++pos_;
    }
    bool any = false;
    for (;;) {
      if (at_end()) return fail("character class '['", open, "is not closed");
      const token tk = t_[pos_];
      if (!tk.quoted) {
        if (tk.cp == '[') {
          return fail("nested class or class union '['", tk.offset, "is not supported");
        }
        if (tk.cp == '&' && is_syntax(pos_ + 1, '&')) {
          return fail("class intersection '&&'", tk.offset, "is not supported");
        }
        if (tk.cp == ']' && any) {
          ++pos_;
          break;
        }
      }
      any = true;
      char32_t lo = 0;
      if (!tk.quoted && tk.cp == '\\') {
        if (!class_item_escape(result, lo)) return false;
        if (lo == no_code_point) continue;  // a set such as \d was added
      } else {
        lo = tk.cp;
        ++pos_;
      }
      // A range needs `-` then something other than `]` or `[`.
      if (peek_is('-') && pos_ + 1 < t_.size() && !is_syntax(pos_ + 1, ']') &&
          !is_syntax(pos_ + 1, '[')) {
        const std::size_t dash = t_[pos_].offset;
        ++pos_;
        char32_t hi = 0;
        if (is_syntax(pos_, '\\')) {
          const std::size_t esc = t_[pos_].offset;
          ++pos_;
          if (at_end()) return fail("a lone backslash", esc, "ends the pattern");
          const char32_t c = t_[pos_++].cp;
          if (is_ascii_alpha(c) && !is_code_point_escape(c)) {
            if (c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S' || c == 'p' ||
                c == 'P') {
              return fail("character range '-'", dash, "must end in a single character");
            }
            return refuse_escape(c, esc);
          }
          if (c >= '1' && c <= '9') return refuse_escape(c, esc);
          if (!escaped_code_point(c, esc, hi)) return false;
        } else {
          hi = t_[pos_++].cp;
        }
        if (hi < lo) {
          return fail("character range '" + show(lo) + "-" + show(hi) + "'", dash,
                      "is out of order");
        }
        add_class_range(result, lo, hi);
        continue;
      }
      add_class_range(result, lo, lo);
    }
    if (negate) result.complement();
    return true;
  }

  static constexpr char32_t no_code_point = 0xFFFFFFFF;

  /// A backslash item inside a class: adds a set (and sets `lo` to no_code_point) or
  /// returns the single code point in `lo`.
  bool class_item_escape(cp_set& result, char32_t& lo) {
    const std::size_t esc = t_[pos_].offset;
    ++pos_;
    if (at_end()) return fail("a lone backslash", esc, "ends the pattern");
    const char32_t c = t_[pos_++].cp;
    if (c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S' || c == 'p' ||
        c == 'P') {
      cp_set s;
      if (!class_escape(c, esc, s)) return false;
      result.add(s);
      lo = no_code_point;
      return true;
    }
    if (c >= '1' && c <= '9') {
      return fail("back reference '\\" + show(c) + "'", esc, "is invalid in a class");
    }
    if (c == 'b' || c == 'B' || c == 'A' || c == 'z' || c == 'Z' || c == 'k') {
      return fail("escape '\\" + show(c) + "'", esc, "is invalid in a class");
    }
    if (is_ascii_alpha(c) && !is_code_point_escape(c)) {
      return refuse_escape(c, esc);
    }
    return escaped_code_point(c, esc, lo);
  }

  void add_class_range(cp_set& s, char32_t lo, char32_t hi) const {
    if (ci_) {
      s.add_ascii_case_closure(lo, hi);
    } else {
      s.add(lo, hi);
    }
  }

  std::vector<token> t_;
  std::size_t text_size_;
  std::size_t pos_ = 0;
  std::wstring out_;
  std::string nout_;
  regex_ast ast_;
  std::uint32_t node_ = regex_no_node;
  std::size_t atom_offset_ = 0;
  std::size_t atom_out_ = 0;   ///< where the current atom starts in out_
  std::size_t atom_nout_ = 0;  ///< ... and in nout_
  struct quantifier {
    bool present = false;
    std::uint32_t min = 0;
    std::uint32_t max = 0;
    regex_node::greed mode = regex_node::greed::greedy;
  };
  quantifier quant_;
  bool non_ascii_ = false;
  std::string error_;
  bool ci_ = false;
  bool dotall_ = false;
  bool multiline_ = false;
  int groups_ = 0;  ///< capturing groups opened so far
  int depth_ = 0;
  std::vector<std::pair<std::string, int>> names_;
  std::vector<int> open_groups_;       ///< capturing groups not yet closed
  std::vector<int> consuming_groups_;  ///< capturing groups whose body can consume text
  std::vector<bool> frames_;           ///< per open group: has its body a consuming atom yet
  bool atom_consumes_ = false;         ///< set by parse_group for the group just closed
  std::vector<backref> refs_;
};

}  // namespace java_regex_impl

/// Returns false and sets `error` (e.g. "class intersection '&&' at offset 5 is not supported")
/// when the pattern is invalid UTF-8 or uses a construct that cannot be translated.
[[nodiscard]] inline bool translate_java_regex(std::string_view java_utf8,
                                               java_regex_translation& out, std::string& error) {
  using namespace java_regex_impl;
  out.pattern.clear();
  out.ascii_only = false;
  out.narrow_pattern.clear();
  out.ast = regex_ast{};
  try {
    std::vector<token> code_points;
    code_points.reserve(java_utf8.size());
    if (!decode_utf8(java_utf8, code_points, error)) return false;
    translator t(remove_qe_quoting(code_points), java_utf8.size());
    return t.run(out, error);
  } catch (const std::exception& e) {  // allocation failure: load time, never throw out
    error = std::string("regex translation failed: ") + e.what();
    return false;
  }
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_JAVA_REGEX_HPP
