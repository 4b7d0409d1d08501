// The literal prefilter (prefilter.hpp): which rule shapes it decides alone, and that its
// answers are the engine's on the edge cases the differential test may visit rarely
// (line breaks, long texts, the search fallbacks, limits).

#include <gtest/gtest.h>

#include <boost/regex.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
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
using tokenguard::detail::scan_text;
using tokenguard::detail::translate_java_regex;

java_regex_translation translate(std::string_view java) {
  java_regex_translation t;
  std::string why;
  EXPECT_TRUE(translate_java_regex(java, t, why)) << java << ": " << why;
  return t;
}

prefilter_verdict verdict(std::string_view java, std::string_view text) {
  const prefilter p = prefilter::build(translate(java).ast);
  std::int64_t work = 0;
  return p.decide(text, scan_text(text).line_break, work);
}

/// The reference: the wide program over code points (ASCII text here).
bool reference(std::string_view java, std::string_view text) {
  const boost::wregex re(translate(java).pattern, java_regex_flags);
  const std::wstring w(text.begin(), text.end());
  boost::wsmatch m;
  return boost::regex_match(w, m, re);
}

/// compiled_regex (all fast paths) agrees with the reference.
void expect_same(std::string_view java, std::string_view text) {
  auto c = compiled_regex::compile(java, /*need_wide=*/false);
  ASSERT_TRUE(c.ok()) << c.message();
  const match_result r = c.value().match(text);
  ASSERT_NE(r, match_result::gave_up) << java;
  EXPECT_EQ(r == match_result::match, reference(java, text))
      << java << " on a text of " << text.size() << " bytes";
}

TEST(RegexPrefilter, ShapesDecidedWithoutTheEngine) {
  const auto exact = [](std::string_view java) {
    auto c = compiled_regex::compile(java, false);
    EXPECT_TRUE(c.ok()) << c.message();
    return c.ok() && c.value().decided_by_prefilter();
  };
  // The seed's rules, and the glob family around them.
  EXPECT_TRUE(exact(".*/rest/api/2/issue/KANBAN-100/comment.*"));
  EXPECT_TRUE(exact(".*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*"));
  EXPECT_TRUE(exact("https://jira\\.example\\.com/rest/.*"));
  EXPECT_TRUE(exact("/rest/api/2/search"));
  EXPECT_TRUE(exact(".*?/a.+b.*"));
  EXPECT_TRUE(exact("(?s).*x.*"));
  EXPECT_TRUE(exact("^/rest/.*$"));          // \A at the start, $ at the end always hold
  EXPECT_TRUE(exact(".*/(?:a|b|[cd])/.*"));  // one-character alternation: a set
  EXPECT_TRUE(exact(".*/issue/\\d{3}/x{2}.*"));
  EXPECT_TRUE(exact("(?i).*/Rest/.*"));
  EXPECT_TRUE(exact("/a/.*|/b/.*"));  // a top-level alternation: one glob per branch
  EXPECT_TRUE(exact("(?>abc).*"));    // an atomic group around fixed text has no choice
  // Shapes the glob only approximates: the engine decides what the glob lets through.
  EXPECT_FALSE(exact(".*/(issue|search)/.*"));
  EXPECT_FALSE(exact("/[a-z]*/x"));
  EXPECT_FALSE(exact(".*x\\b.*"));
  EXPECT_FALSE(exact("(.*)\\1"));
  EXPECT_FALSE(exact(".*+x"));  // possessive: never gives back
  EXPECT_FALSE(exact("a$b?"));  // something after $
  EXPECT_FALSE(exact(".*(?=x).*"));
  EXPECT_FALSE(exact("(?m)^a.*"));
}

TEST(RegexPrefilter, NecessaryConditionsRejectEarly) {
  // Not decided alone, but a text without the required parts never reaches the engine.
  EXPECT_EQ(verdict(".*/(issue|search)/[0-9]+", "/rest/api/latest/project"),
            prefilter_verdict::no_match);
  EXPECT_EQ(verdict(".*/(issue|search)/[0-9]+", "/x/issue/12"), prefilter_verdict::unknown);
  EXPECT_EQ(verdict("/[a-z]*[a-z]*[0-9]1", "/abc!2"), prefilter_verdict::no_match);  // suffix
  EXPECT_EQ(verdict("x(foo|barbaz)y", "xfooy"), prefilter_verdict::unknown);
  EXPECT_EQ(verdict("x(foo|barbaz)y", "xy"), prefilter_verdict::no_match);  // minimum length
  EXPECT_EQ(verdict("é.*", "e"), prefilter_verdict::no_match);  // no ASCII text can match
}

TEST(RegexPrefilter, LineBreaksLeaveDotStarToTheEngine) {
  // `.*` stops at \n and \r: a glob match over text with line breaks is only a candidate.
  EXPECT_EQ(verdict(".*abc.*", "x\nabc"), prefilter_verdict::unknown);
  EXPECT_EQ(verdict(".*abc.*", "xabc"), prefilter_verdict::match);
  EXPECT_EQ(verdict("(?s).*abc.*", "x\nabc"), prefilter_verdict::match);
  EXPECT_EQ(verdict(".*a\\x0Ab.*", "xa\nb"), prefilter_verdict::unknown);
  for (const char* text : {"x\nabc", "abc\r", "ab\nc", "abc"}) expect_same(".*abc.*", text);
  expect_same(".*a\\x0Ab.*", "xa\nb");
  expect_same("a\\x0D?.*", "a\r");
}

TEST(RegexPrefilter, LongTextsAndSearchFallbacks) {
  const std::string as(600, 'a');
  // Short and long texts (the two literal searches), found and not found, at every end.
  for (const std::string& text : {as, as + "baaa", "baaa" + as, as.substr(0, 300) + "baaa",
                                  as.substr(0, 100) + "baaa" + as.substr(0, 100)}) {
    expect_same(".*baaa.*", text);  // Horspool's worst case: falls back to memmem
    expect_same(".*baaa", text);
    expect_same("baaa.*", text);
    expect_same(".*a[ab]aab.*", text);  // a class in the segment: Shift-And after the anchor
    expect_same(".*b.*a.*b.*", text);
  }
  // A segment of more than 64 positions with classes: checked candidate by candidate, and
  // left to the engine once that costs more than a linear pass.
  std::string long_segment = ".*";
  for (int i = 0; i < 40; ++i) long_segment += "a[ab]";
  long_segment += "c.*";
  expect_same(long_segment, as);
  expect_same(long_segment, as + "c");
}

TEST(RegexPrefilter, LimitsKeepItSmall) {
  // Over 256 positions in one alternative the rest becomes a gap; the answers stay exact.
  expect_same("a{300}", std::string(300, 'a'));
  expect_same("a{300}", std::string(299, 'a'));
  expect_same("(?:ab){200}.*", std::string("ab") + std::string(100, 'x'));
  // Nothing to filter on: no prefilter at all.
  auto c = compiled_regex::compile("(?:foo|bar)*", false);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c.value().has_prefilter());
}

TEST(RegexPrefilter, CandidatesAreCheckedAroundTheirAnchor) {
  // The anchor `-abc-` is found first; the classes before and after it decide each
  // candidate, and a failed candidate moves the search on.
  const char* java = ".*[xy]-abc-[0-9]z.*";
  EXPECT_EQ(verdict(java, "x-abc-1z"), prefilter_verdict::match);
  EXPECT_EQ(verdict(java, "q-abc-1z"), prefilter_verdict::no_match);        // fails before
  EXPECT_EQ(verdict(java, "x-abc-qz"), prefilter_verdict::no_match);        // fails after
  EXPECT_EQ(verdict(java, "x-abc-1q"), prefilter_verdict::no_match);        // fails at the end
  EXPECT_EQ(verdict(java, "q-abc-1z/y-abc-2z"), prefilter_verdict::match);  // a later one
  EXPECT_EQ(verdict(java, "q-abc-1zy-abc-qz"), prefilter_verdict::no_match);
  for (const char* text : {"x-abc-1z", "q-abc-1z", "x-abc-qz", "q-abc-1z/y-abc-2z", "-abc-"}) {
    expect_same(java, text);
  }
}

TEST(RegexPrefilter, EveryAsciiByteMovesTheSearch) {
  // The Horspool table holds the 128 ASCII bytes: a text with each of them (but the line
  // breaks, which `.*` leaves to the engine) around and inside the literal.
  std::string text;
  for (int c = 1; c < 0x80; ++c) {
    if (c != '\n' && c != '\r') text += static_cast<char>(c);
  }
  for (const char* java : {".*/comment.*", ".*\\x{7F}\\x{1}.*", ".*~\\x{7F}.*", ".*!\"#.*"}) {
    expect_same(java, text);
    expect_same(java, text + text);
    expect_same(java, std::string(text.rbegin(), text.rend()));
  }
  EXPECT_EQ(verdict(".*~\\x{7F}.*", text), prefilter_verdict::match);
  EXPECT_EQ(verdict(".*\\x{7F}~.*", text), prefilter_verdict::no_match);
}

TEST(RegexPrefilter, ACopyOwnsItsTables) {
  // The tables live in one block that each copy owns: the copy works after the original
  // is gone.
  std::unique_ptr<compiled_regex> copy;
  {
    auto original = compiled_regex::compile(".*/rest/api/[0-9]/issue/.*", false);
    ASSERT_TRUE(original.ok());
    copy = std::make_unique<compiled_regex>(original.value());
  }
  EXPECT_TRUE(copy->decided_by_prefilter());
  EXPECT_EQ(copy->match("/rest/api/2/issue/1"), match_result::match);
  EXPECT_EQ(copy->match("/rest/api/x/issue/1"), match_result::no_match);
}

TEST(RegexTraits, NumbersParseAsBoostsOwnParser) {
  // rule_regex_traits replaces cpp_regex_traits' istream parser for the digit strings the
  // translator writes ({n,m} counts, \x{..} escapes): the same value and the same stop.
  const boost::cpp_regex_traits<char> boosts;
  const tokenguard::detail::rule_regex_traits<char> ours;
  for (const char* text : {"0",
                           "7",
                           "8",
                           "9",
                           "12",
                           "017",
                           "2F",
                           "2f",
                           "10FFFF",
                           "ff}",
                           "9,3}",
                           "123abc",
                           "x",
                           "}",
                           "-1",
                           "+1",
                           "7fffffffffffffff",
                           "8000000000000000",
                           "9223372036854775807",
                           "9223372036854775808",
                           "99999999999999999999",
                           "777777777777777777777",
                           "1777777777777777777777"}) {
    for (const int radix : {8, 10, 16}) {
      const std::string_view t(text);
      if (t[0] == '-' || t[0] == '+') continue;  // signs: the translator never writes one
      const char* a = t.data();
      const char* b = t.data();
      const std::intmax_t expected = boosts.toi(a, t.data() + t.size(), radix);
      EXPECT_EQ(ours.toi(b, t.data() + t.size(), radix), expected) << text << " radix " << radix;
      if (expected >= 0) {
        EXPECT_EQ(b - t.data(), a - t.data()) << text << " radix " << radix;
      }
    }
  }
  const std::wstring wide = L"1F600}";
  const wchar_t* w = wide.data();
  EXPECT_EQ(tokenguard::detail::rule_regex_traits<wchar_t>().toi(w, wide.data() + wide.size(), 16),
            0x1F600);
  EXPECT_EQ(w - wide.data(), 5);
  // And through the programs: counts and escapes.
  for (const auto& [java, text, matches] : std::vector<std::tuple<const char*, const char*, bool>>{
           {"a{2,3}/x", "aaa/x", true},
           {"a{2,3}/x", "aaaa/x", false},
           {"\\x41\\u0042\\x{43}", "ABC", true},
           {"[\\x{20}-\\x{2F}]{10}", " !#$%&'()*", true},
           {".{0,1000}z", "yz", true}}) {
    auto c = compiled_regex::compile(java, /*need_wide=*/true);
    ASSERT_TRUE(c.ok()) << java << ": " << c.message();
    EXPECT_EQ(c.value().match(text) == match_result::match, matches) << java << " on " << text;
    EXPECT_EQ(reference(java, text), matches) << java << " on " << text;
  }
}

TEST(RegexPrefilter, NonAsciiTextGoesToTheWideProgram) {
  auto c = compiled_regex::compile(".*é.*", /*need_wide=*/true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value().match("aéb"), match_result::match);
  EXPECT_EQ(c.value().match("aeb"), match_result::no_match);
  auto url = compiled_regex::compile(".*é.*", /*need_wide=*/false);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url.value().match("aeb"), match_result::no_match);
}

TEST(RegexPrefilter, ReferenceModeSkipsEveryFastPath) {
  auto fast = compiled_regex::compile(".*/rest/.*", false);
  auto plain = compiled_regex::compile(".*/rest/.*", false, /*fast_paths=*/false);
  ASSERT_TRUE(fast.ok() && plain.ok());
  EXPECT_TRUE(fast.value().decided_by_prefilter());
  EXPECT_FALSE(plain.value().has_prefilter());
  for (const char* text : {"/rest/x", "/x", "a\n/rest/"}) {
    EXPECT_EQ(fast.value().match(text), plain.value().match(text)) << text;
  }
  // The reference path still spends (and respects) the budget.
  match_budget tiny(10);
  EXPECT_EQ(plain.value().match(std::string(100, 'x') + "/rest/", tiny), match_result::gave_up);
}

}  // namespace
