// Differential tests of the fast paths (SPEC 3: any faster path must give
// exactly the reference path's decisions). The reference is the wide Boost
// program over code points, as java_regex_test.cpp checks it against Java.
// Thousands of generated Java patterns x generated subjects:
// - the narrow program decides as the reference on every ASCII subject;
// - every prefilter verdict other than `unknown` is the reference's decision;
// - compiled_regex (prefilter + narrow + wide, with a budget) decides as the
//   reference whenever it does not give up.

#include <gtest/gtest.h>

#include <boost/regex.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/java_regex.hpp"
#include "tokenguard/detail/prefilter.hpp"
#include "tokenguard/detail/regex.hpp"

namespace {

using tokenguard::detail::compiled_regex;
using tokenguard::detail::java_regex_flags;
using tokenguard::detail::java_regex_translation;
using tokenguard::detail::match_budget;
using tokenguard::detail::match_result;
using tokenguard::detail::prefilter;
using tokenguard::detail::prefilter_verdict;
using tokenguard::detail::regex_ast;
using tokenguard::detail::regex_node;
using tokenguard::detail::scan_text;
using tokenguard::detail::translate_java_regex;

void put_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::wstring decode(std::string_view s) {
  std::wstring out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < len; ++k)
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(static_cast<wchar_t>(c));
    i += len;
  }
  return out;
}

bool is_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

/// The reference decision; nullopt when Boost gives up on its own.
std::optional<bool> reference(const boost::wregex& re, std::string_view subject) {
  const std::wstring w = decode(subject);
  boost::match_results<std::wstring::const_iterator> m;
  try {
    return boost::regex_match(w.cbegin(), w.cend(), m, re);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// ---- generators --------------------------------------------------------------------------

class pattern_generator {
 public:
  explicit pattern_generator(std::uint64_t seed) : rng_(seed) {}

  /// Any Java construct the translator accepts, small.
  std::string general() {
    groups_ = 0;
    std::string p;
    if (chance(10)) p += pick({"(?i)", "(?s)", "(?m)", "(?is)", "(?-i)"});
    return p + alternation(3);
  }

  /// Shaped like real URL rules: literals, `.*`, classes, a few groups.
  std::string url_rule() {
    std::string p;
    if (chance(10)) p += pick({"(?s)", "(?i)", "^"});
    const int pieces = 1 + static_cast<int>(below(7));
    for (int i = 0; i < pieces; ++i) {
      p += pick({".*",
                 ".*",
                 ".*",
                 ".+",
                 ".*?",
                 "/rest",
                 "/api",
                 "/2",
                 "/issue",
                 "/KANBAN-",
                 "[0-9]+",
                 "[1-2]{1}",
                 "(issue|search)",
                 "\\d",
                 "[a-z]*",
                 "(?i:abc)",
                 "\\.",
                 "x",
                 "/",
                 "[^/]*",
                 "(?:/[a-z]+)?",
                 "a{2}",
                 "(ab){2}",
                 ".{3}",
                 "..",
                 "[ab]",
                 "(a|b)",
                 "(foo|bar)",
                 "\\b",
                 "(?:/x)",
                 "(/a)",
                 "[\\s\\S]*",
                 "\\Q.*\\E",
                 "100",
                 "comment",
                 "é",
                 "[^a]",
                 "\\x0A",
                 ".*+",
                 "(?>.*)",
                 "(?=/)",
                 "a|b"});
    }
    if (chance(10)) p += pick({"$", "\\z", "\\Z"});
    return p;
  }

  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }
  template <std::size_t N>
  const char* pick(const char* const (&options)[N]) {
    return options[below(N)];
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::string alternation(int depth) {
    std::string s = sequence(depth);
    while (chance(15)) s += "|" + sequence(depth);
    return s;
  }

  std::string sequence(int depth) {
    std::string s;
    const int n = static_cast<int>(below(5));
    for (int i = 0; i < n; ++i) s += quantified(depth);
    return s;
  }

  std::string quantified(int depth) {
    bool assertion = false;
    std::string a = atom(depth, assertion);
    if (!assertion && chance(30)) {
      a += pick({"*", "+", "?", "{2}", "{1,3}", "{0,}", "{2,}", "{0,1}"});
      if (chance(20)) a += pick({"?", "+"});
    }
    return a;
  }

  std::string atom(int depth, bool& assertion) {
    const std::uint64_t kind = below(100);
    if (kind < 35) {
      return pick({"a", "b", "x", "/", "-", "1", "\\.", "é", "\\u2028", "\\x85", "\\x0A", "\\r",
                   "\\t", " ", "A", "\\x{1F600}", "\\\\", "\\Qa.\\E", "\\ca"});
    }
    if (kind < 45) return ".";
    if (kind < 65) {
      return pick({"[a-c]", "[^/]", "[^a]", "\\d", "\\w", "\\s", "\\S", "\\W", "[\\x00-\\x7F]",
                   "[é-ü]", "[^é]", "[ab/]", "[^\\n]", "\\p{Alpha}", "[\\s\\S]", "[^\\r\\n]",
                   "\\P{ASCII}", "[\\u2028x]", "\\p{Punct}"});
    }
    if (kind < 75) {
      assertion = true;
      return pick({"^", "$", "\\A", "\\z", "\\Z", "\\b", "\\B", "(?<=a)", "(?<!b)"});
    }
    if (kind < 80 && groups_ > 0) return "\\" + std::to_string(1 + below(groups_));
    if (depth == 0) return "a";
    const char* open =
        pick({"(", "(", "(?:", "(?:", "(?>", "(?=", "(?!", "(?i:", "(?s:", "(?m:", "(?-i:"});
    const std::string o = open;
    if (o == "(") ++groups_;
    if (o == "(?=" || o == "(?!") assertion = true;
    return o + alternation(depth - 1) + ")";
  }

  std::mt19937_64 rng_;
  std::uint64_t groups_ = 0;
};

/// Random texts that often match: a walk over the pattern's structure, then a mutation.
class subject_generator {
 public:
  subject_generator(const regex_ast& ast, pattern_generator& g) : ast_(ast), g_(g) {}

  std::string sample() {
    std::string s;
    if (ast_.root != tokenguard::detail::regex_no_node) walk(ast_.root, s, 0);
    return s;
  }

  std::string any_char() {
    static const char32_t alphabet[] = {'a', 'b', 'x', '/',  '-',    '1',  '.', '\n', '\r',
                                        ' ', 'A', '_', 0xE9, 0x2028, 0x85, 'c', '9',  '!'};
    std::string c;
    put_utf8(c, alphabet[g_.below(std::size(alphabet))]);
    return c;
  }

  std::string mutate(std::string s) {
    const std::string c = any_char();
    // Mutate at a code point boundary.
    std::vector<std::size_t> cuts{0};
    for (std::size_t i = 1; i <= s.size(); ++i) {
      if (i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) cuts.push_back(i);
    }
    const std::size_t k = g_.below(cuts.size());
    const std::size_t at = cuts[k];
    const std::size_t next = k + 1 < cuts.size() ? cuts[k + 1] : at;
    switch (g_.below(3)) {
      case 0:
        return s.insert(at, c);
      case 1:
        return s.erase(at, next - at);
      default:
        return s.erase(at, next - at).insert(at, c);
    }
  }

  std::string random_text() {
    std::string s;
    const std::size_t n = g_.below(10);
    for (std::size_t i = 0; i < n; ++i) s += any_char();
    return s;
  }

 private:
  void walk(std::uint32_t id, std::string& out, int depth) {
    if (depth > 40 || out.size() > 40) return;
    const regex_node& n = ast_.at(id);
    using k = regex_node::kind;
    switch (n.type) {
      case k::chars:
        out += pick_char(n.set);
        return;
      case k::sequence:
        for (const std::uint32_t c : n.children) walk(c, out, depth + 1);
        return;
      case k::alternation:
        walk(n.children[g_.below(n.children.size())], out, depth + 1);
        return;
      case k::repeat: {
        const std::uint32_t lo = std::min<std::uint32_t>(n.min, 4);
        const std::uint32_t hi = std::min<std::uint64_t>(n.max, std::uint64_t{lo} + 3);
        const std::uint32_t times = lo + static_cast<std::uint32_t>(g_.below(hi - lo + 1));
        for (std::uint32_t i = 0; i < times; ++i) walk(n.children[0], out, depth + 1);
        return;
      }
      case k::group:
      case k::atomic:
        walk(n.children[0], out, depth + 1);
        return;
      default:
        return;
    }
  }

  std::string pick_char(const std::vector<tokenguard::detail::code_point_range>& set) {
    std::string s;
    if (set.empty()) return "a";
    // Mostly ASCII, when the set has any.
    std::vector<tokenguard::detail::code_point_range> ascii;
    for (const auto& r : set) {
      if (r.first < 0x80) ascii.emplace_back(r.first, std::min<char32_t>(r.second, 0x7F));
    }
    const auto& from = !ascii.empty() && g_.chance(85) ? ascii : set;
    const auto& r = from[g_.below(from.size())];
    const char32_t span = std::min<char32_t>(r.second - r.first, 0x3000);
    char32_t c = r.first + static_cast<char32_t>(g_.below(std::uint64_t{span} + 1));
    if (c >= 0xD800 && c <= 0xDFFF) c = 'a';
    put_utf8(s, c);
    return s;
  }

  const regex_ast& ast_;
  pattern_generator& g_;
};

struct tally {
  int patterns = 0;
  int subjects = 0;
  int ascii_subjects = 0;
  int matches = 0;
  int prefilter_match = 0;
  int prefilter_no_match = 0;
  int prefilter_unknown = 0;
  int compiled = 0;
  int gave_up = 0;
};

/// Checks every path against the reference for one pattern and a set of subjects.
void check_pattern(const std::string& java, pattern_generator& g, tally& t) {
  java_regex_translation tr;
  std::string why;
  if (!translate_java_regex(java, tr, why)) return;  // refused constructs are tested elsewhere
  boost::wregex wide;
  boost::regex narrow;
  try {
    wide.assign(tr.pattern, java_regex_flags);
    narrow.assign(tr.narrow_pattern, java_regex_flags);
  } catch (const std::exception& e) {
    ADD_FAILURE() << java << ": Boost refused the translation: " << e.what();
    return;
  }
  ++t.patterns;
  const prefilter pf = prefilter::build(tr.ast);
  const auto url = compiled_regex::compile(java, /*need_wide=*/false);
  const auto clause = compiled_regex::compile(java, /*need_wide=*/true);
  if (clause) ++t.compiled;

  subject_generator sg(tr.ast, g);
  std::vector<std::string> subjects;
  for (int i = 0; i < 8; ++i) {
    std::string s = sg.sample();
    subjects.push_back(s);
    subjects.push_back(sg.mutate(s));
  }
  for (int i = 0; i < 3; ++i) subjects.push_back(sg.random_text());

  for (const std::string& s : subjects) {
    const std::optional<bool> ref = reference(wide, s);
    if (!ref) continue;
    ++t.subjects;
    if (*ref) ++t.matches;
    SCOPED_TRACE("pattern " + java + "  subject \"" + s + "\"");
    const bool ascii = is_ascii(s);
    ASSERT_EQ(scan_text(s).ascii, ascii);
    if (ascii) {
      ++t.ascii_subjects;
      boost::smatch m;
      bool n = false;
      try {
        n = boost::regex_match(s, m, narrow);
      } catch (const std::exception&) {
        n = *ref;  // gave up: nothing to compare
      }
      EXPECT_EQ(n, *ref) << "narrow program " << tr.narrow_pattern;
      if (*ref) {  // a matching text holds every bigram the regex is said to need
        EXPECT_TRUE(
            tokenguard::detail::covers(tokenguard::detail::text_bigrams(s), pf.required_bigrams()))
            << "required bigrams";
      }
      std::int64_t work = 0;
      const prefilter_verdict v = pf.decide(s, scan_text(s).line_break, work);
      if (v == prefilter_verdict::unknown) {
        ++t.prefilter_unknown;
      } else {
        ++(v == prefilter_verdict::match ? t.prefilter_match : t.prefilter_no_match);
        EXPECT_EQ(v == prefilter_verdict::match, *ref) << "prefilter";
      }
      if (url) {
        match_budget budget(100'000'000);
        const match_result r = url.value().match(s, budget);
        if (r == match_result::gave_up) {
          ++t.gave_up;
        } else {
          EXPECT_EQ(r == match_result::match, *ref) << "compiled URL regex";
        }
      }
    }
    if (clause) {
      match_budget budget(100'000'000);
      const match_result r = clause.value().match(s, budget);
      if (r == match_result::gave_up) {
        ++t.gave_up;
      } else {
        EXPECT_EQ(r == match_result::match, *ref) << "compiled clause regex";
      }
    }
  }
}

TEST(RegexDifferential, GeneralPatternsAllPathsAgreeWithTheReference) {
  pattern_generator g(20240601);
  tally t;
  for (int i = 0; i < 3000 && !HasFailure(); ++i) check_pattern(g.general(), g, t);
  std::printf(
      "general: %d patterns (%d pass the screen), %d subjects (%d ASCII, %d matching); "
      "prefilter: %d match, %d no match, %d unknown; engine gave up %d times\n",
      t.patterns, t.compiled, t.subjects, t.ascii_subjects, t.matches, t.prefilter_match,
      t.prefilter_no_match, t.prefilter_unknown, t.gave_up);
  // The generators must exercise every path, or the comparison proves little.
  EXPECT_GE(t.patterns, 2000);
  EXPECT_GE(t.ascii_subjects, 20000);
  EXPECT_GE(t.matches, t.subjects / 5);
  EXPECT_GE(t.prefilter_match, 2000);
  EXPECT_GE(t.prefilter_no_match, 5000);
}

TEST(RegexDifferential, UrlShapedRulesAllPathsAgreeWithTheReference) {
  pattern_generator g(7);
  tally t;
  for (int i = 0; i < 3000 && !HasFailure(); ++i) check_pattern(g.url_rule(), g, t);
  std::printf(
      "url-shaped: %d patterns (%d pass the screen), %d subjects (%d ASCII, %d matching); "
      "prefilter: %d match, %d no match, %d unknown; engine gave up %d times\n",
      t.patterns, t.compiled, t.subjects, t.ascii_subjects, t.matches, t.prefilter_match,
      t.prefilter_no_match, t.prefilter_unknown, t.gave_up);
  EXPECT_GE(t.patterns, 2500);
  EXPECT_GE(t.matches, t.subjects / 4);
  EXPECT_GE(t.prefilter_match, 10000);
  EXPECT_GE(t.prefilter_no_match, 10000);
  EXPECT_EQ(t.gave_up, 0);
}

/// Longer URL-like subjects around the seed's rules, where the glob search does real work
/// (several candidates, Shift-And, anchors at both ends, texts over 512 bytes).
TEST(RegexDifferential, SeedShapedRulesOverLongSubjects) {
  pattern_generator g(99);
  const std::vector<std::string> rules = {
      ".*/rest/api/2/issue/KANBAN-100/comment.*",
      ".*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*",
      ".*/rest/api/2/issue/[A-Z]+-[0-9]+/comment",
      "https://jira\\.example\\.com/rest/.*/issue/.*",
      ".*/a[ab]a.*b[0-9]b.*",
      "(?i).*/Rest/API/.*",
      ".*/issue/(KANBAN|SCRUM)-1.*",
      "/x.*y.*z",
      ".*\\d\\d/\\d.*",
  };
  const char* pieces[] = {"/rest",
                          "/api",
                          "/2",
                          "/issue",
                          "/KANBAN-100",
                          "/SCRUM-1",
                          "/SCRUM-3",
                          "/comment",
                          "/a",
                          "b",
                          "/aab",
                          "b1b",
                          "/REST",
                          "/x",
                          "y",
                          "z",
                          "12",
                          "/1",
                          "https://jira.example.com",
                          "-",
                          "ab"};
  int compared = 0;
  for (const std::string& rule : rules) {
    java_regex_translation tr;
    std::string why;
    ASSERT_TRUE(translate_java_regex(rule, tr, why)) << why;
    const boost::wregex wide(tr.pattern, java_regex_flags);
    const auto compiled = compiled_regex::compile(rule, false);
    ASSERT_TRUE(compiled.ok()) << compiled.message();
    EXPECT_TRUE(compiled.value().has_prefilter()) << rule;
    for (int i = 0; i < 2000; ++i) {
      std::string s;
      // Up to ~1 KiB: both the short-text search (Horspool) and memmem are exercised.
      const int n = static_cast<int>(g.below(i % 4 == 0 ? 150 : 40));
      for (int k = 0; k < n; ++k) s += pieces[g.below(std::size(pieces))];
      const std::optional<bool> ref = reference(wide, s);
      ASSERT_TRUE(ref.has_value());
      const match_result r = compiled.value().match(s);
      ASSERT_NE(r, match_result::gave_up) << rule << " " << s;
      EXPECT_EQ(r == match_result::match, *ref) << rule << "  subject " << s;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 18000);
}

/// Every text up to `max_length` code points over `alphabet`.
std::vector<std::string> all_texts(const std::vector<char32_t>& alphabet, int max_length) {
  std::vector<std::string> out{""};
  std::vector<std::string> level{""};
  for (int len = 1; len <= max_length; ++len) {
    std::vector<std::string> next;
    for (const std::string& s : level) {
      for (const char32_t c : alphabet) {
        std::string t = s;
        put_utf8(t, c);
        next.push_back(t);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    level = std::move(next);
  }
  return out;
}

/// Random short patterns from `pieces`, each checked on every text of `texts`.
void check_exhaustively(const std::vector<const char*>& pieces,
                        const std::vector<std::string>& texts, int patterns, int max_pieces,
                        std::uint64_t seed, tally& t) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < patterns; ++i) {
    std::string java;
    const int n = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(max_pieces));
    for (int k = 0; k < n; ++k) java += pieces[rng() % pieces.size()];
    java_regex_translation tr;
    std::string why;
    if (!translate_java_regex(java, tr, why)) continue;
    ++t.patterns;
    const boost::wregex wide(tr.pattern, java_regex_flags);
    const boost::regex narrow(tr.narrow_pattern, java_regex_flags);
    const prefilter pf = prefilter::build(tr.ast);
    const auto clause = compiled_regex::compile(java, true);
    for (const std::string& s : texts) {
      const std::optional<bool> ref = reference(wide, s);
      if (!ref) continue;
      ++t.subjects;
      if (*ref) ++t.matches;
      if (is_ascii(s)) {
        ++t.ascii_subjects;
        boost::smatch m;
        ASSERT_EQ(boost::regex_match(s, m, narrow), *ref)
            << "narrow program, pattern " << java << " subject \"" << s << "\"";
        std::int64_t work = 0;
        const prefilter_verdict v = pf.decide(s, scan_text(s).line_break, work);
        if (v == prefilter_verdict::unknown) {
          ++t.prefilter_unknown;
        } else {
          ++(v == prefilter_verdict::match ? t.prefilter_match : t.prefilter_no_match);
          ASSERT_EQ(v == prefilter_verdict::match, *ref)
              << "prefilter, pattern " << java << " subject \"" << s << "\"";
        }
      }
      if (clause) {
        const match_result r = clause.value().match(s);
        ASSERT_NE(r, match_result::gave_up);
        ASSERT_EQ(r == match_result::match, *ref)
            << "compiled, pattern " << java << " subject \"" << s << "\"";
      }
    }
  }
}

TEST(RegexDifferential, GlobsOnEveryShortText) {
  const std::vector<const char*> pieces = {
      ".*",   ".*", ".*",     "a",    "b",      "ab",     "ba",      "aab",
      "[ab]", ".",  ".+",     "a{2}", "(?:ab)", "(a|b)",  "\\Qa\\E", "[^a]",
      "a*",   "b+", "(?:.*)", ".*?",  "(?s).*", "(?s:.)", "\\n",     "[ab]{2}"};
  const std::vector<std::string> texts = all_texts({'a', 'b', '\n'}, 6);
  tally t;
  check_exhaustively(pieces, texts, 1500, 5, 11, t);
  std::printf(
      "globs: %d patterns x %zu texts; %d matching; prefilter %d match, %d no match, "
      "%d unknown\n",
      t.patterns, texts.size(), t.matches, t.prefilter_match, t.prefilter_no_match,
      t.prefilter_unknown);
  EXPECT_GE(t.prefilter_match, 50000);
  EXPECT_GE(t.prefilter_no_match, 300000);
}

TEST(RegexDifferential, LineTerminatorsAndAnchorsOnEveryShortText) {
  const std::vector<const char*> pieces = {
      "$",        "\\Z",     "\\z",    "^",         "\\A",         "(?m)",
      "(?-m)",    "(?s)",    "(?m:$)", "(?m:^)",    "\\r",         "\\n",
      "\\x85",    "\\u2028", ".",      ".",         "(?s:.)",      "\\r\\n",
      "[\\r\\n]", "\\s",     "a",      "a",         "\\b",         "\\B",
      ".*",       "[^a]",    "\\S",    "(?:a|\\r)", "\\W",         "\\r?",
      "\\n?",     ".?",      "(?s).*", "\\s*",      "(?:\\r\\n)?", "[\\x85\\u2028]?",
      ".*"};
  const std::vector<std::string> texts = all_texts({'a', '\r', '\n', 0x85, 0x2028}, 4);
  tally t;
  check_exhaustively(pieces, texts, 2000, 4, 5, t);
  std::printf(
      "terminators: %d patterns x %zu texts; %d matching; prefilter %d match, %d no "
      "match, %d unknown\n",
      t.patterns, texts.size(), t.matches, t.prefilter_match, t.prefilter_no_match,
      t.prefilter_unknown);
  EXPECT_GE(t.matches, 20000);
}

TEST(RegexDifferential, ScanTextAgreesWithAByteLoop) {
  std::mt19937_64 rng(3);
  const char bytes[] = {'a', '\n', '\r', '\x7F', '\x80', '\xC3', '\xA9', ' ', '\0', '\x0B'};
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, 'a');
    for (char& c : s) c = bytes[rng() % std::size(bytes)];
    bool ascii = true;
    bool breaks = false;
    for (const char c : s) {
      ascii = ascii && static_cast<unsigned char>(c) < 0x80;
      breaks = breaks || c == '\n' || c == '\r';
    }
    const auto f = scan_text(s);
    ASSERT_EQ(f.ascii, ascii) << i;
    ASSERT_EQ(f.line_break, breaks) << i;
  }
}

}  // namespace
