// Java regex -> Boost translation (SPEC 3). Every decision table below was
// checked against java.util.regex (Pattern.matches) on Java 17; the rows on
// `\b`/`\B` with non-ASCII neighbours follow Java 19+ instead (see the test).

#include "tokenguard/detail/java_regex.hpp"

#include <gtest/gtest.h>

#include <boost/regex.hpp>
#include <boost/regex/pending/unicode_iterator.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

using tokenguard::detail::java_regex_translation;
using tokenguard::detail::translate_java_regex;

constexpr auto kFlags = boost::regex_constants::perl | boost::regex_constants::no_mod_s |
                        boost::regex_constants::no_mod_m;

std::string narrow(const std::wstring& w) {
  std::string s;
  for (const wchar_t c : w) s.push_back(c < 0x80 ? static_cast<char>(c) : '?');
  return s;
}

bool is_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

java_regex_translation translate_ok(std::string_view java) {
  java_regex_translation t{};
  std::string error;
  EXPECT_TRUE(translate_java_regex(java, t, error)) << java << " -> " << error;
  // Stronger than ascii_only: the text itself is always ASCII (non-ASCII is written \x{..}).
  for (const wchar_t c : t.pattern) EXPECT_LT(static_cast<unsigned>(c), 0x80u) << java;
  return t;
}

std::wstring translated(std::string_view java) { return translate_ok(java).pattern; }

std::string refusal(std::string_view java) {
  java_regex_translation t{};
  std::string error;
  EXPECT_FALSE(translate_java_regex(java, t, error)) << java << " -> " << narrow(t.pattern);
  return error;
}

/// The error names the construct and its byte offset.
void expect_refused(std::string_view java, std::string_view construct, std::size_t offset) {
  const std::string error = refusal(java);
  EXPECT_NE(error.find(construct), std::string::npos) << java << ": " << error;
  const std::string at = "at offset " + std::to_string(offset);
  const std::size_t where = error.find(at);
  ASSERT_NE(where, std::string::npos) << java << ": " << error;
  const std::size_t next = where + at.size();
  EXPECT_TRUE(next == error.size() || error[next] < '0' || error[next] > '9')
      << java << ": " << error;
}

/// Whole-string match over code points, as the library does it (with match_results:
/// Boost answers some back-reference cases differently without them).
bool wide_match(const boost::wregex& re, std::string_view utf8) {
  using it = boost::u8_to_u32_iterator<const char*, wchar_t>;
  const char* b = utf8.data();
  const char* e = b + utf8.size();
  boost::match_results<it> m;
  return boost::regex_match(it(b, b, e), it(e, b, e), m, re);
}

struct decision_case {
  const char* java;
  std::vector<std::string> match;
  std::vector<std::string> no_match;
};

void check_decisions(const std::vector<decision_case>& cases) {
  for (const decision_case& c : cases) {
    const java_regex_translation t = translate_ok(c.java);
    SCOPED_TRACE(std::string(c.java) + " -> " + narrow(t.pattern));
    boost::wregex re;
    ASSERT_NO_THROW(re.assign(t.pattern, kFlags));
    boost::regex narrow_re;
    if (t.ascii_only) {
      ASSERT_NO_THROW(narrow_re.assign(narrow(t.pattern), kFlags));
    }
    // The narrow program decides as Java for every ASCII text, ascii_only or not.
    boost::regex ascii_re;
    ASSERT_NO_THROW(ascii_re.assign(t.narrow_pattern, kFlags)) << t.narrow_pattern;
    const auto check = [&](const std::string& s, bool expected) {
      EXPECT_EQ(wide_match(re, s), expected) << "text: \"" << s << "\"";
      if (t.ascii_only && is_ascii(s)) {
        boost::smatch m;
        EXPECT_EQ(boost::regex_match(s, m, narrow_re), expected) << "narrow, text: \"" << s << "\"";
      }
      if (is_ascii(s)) {
        boost::smatch m;
        EXPECT_EQ(boost::regex_match(s, m, ascii_re), expected)
            << "narrow_pattern " << t.narrow_pattern << ", text: \"" << s << "\"";
      }
    };
    for (const std::string& s : c.match) check(s, true);
    for (const std::string& s : c.no_match) check(s, false);
  }
}

// ---- \uXXXX -------------------------------------------------------------------------------

TEST(JavaRegex, UnicodeEscapes) {
  EXPECT_EQ(translated(R"(\u0041)"), L"A");  // Boost would read "an upper-case letter, then 0041"
  EXPECT_EQ(translated(R"(\u00e9)"), L"\\x{E9}");
  EXPECT_EQ(translated(R"(\uD83D\uDE00)"), L"\\x{1F600}");  // a surrogate pair is one code point
  check_decisions({
      {R"(\u0041)", {"A"}, {"a", "u0041", "U0041"}},
      {R"(\u00e9)", {"é"}, {"e", "É", "u00e9"}},
      {R"(a\u00E9b)", {"aéb"}, {"aeb", "ab"}},
      {R"(\uD83D\uDE00)", {"😀"}, {"", "a"}},
      {R"([\uD83D\uDE00-\uD83D\uDE4F]+)", {"😀🙏"}, {"🚀", "a"}},
      {R"(\uD83D\u0041)", {}, {"A", "😀"}},  // a lone surrogate matches no UTF-8 text
  });
  expect_refused(R"(\u004)", "'\\u'", 0);
  expect_refused(R"(x\u)", "'\\u'", 1);
  expect_refused(R"(\u00G0)", "'\\u'", 0);
}

// ---- \xhh \x{h..} \0ooo \t \n \r \f \a \e \cX ---------------------------------------------

TEST(JavaRegex, HexOctalAndControlEscapes) {
  EXPECT_EQ(translated(R"(\x41\x{42}\x{1F600})"), L"AB\\x{1F600}");
  EXPECT_EQ(translated(R"(\0101\0141\0400)"), L"Aa\\x{20}0");  // \0400 is \040 then 0
  EXPECT_EQ(translated(R"(\t\n\r\f\a\e)"), L"\\x{9}\\x{A}\\x{D}\\x{C}\\x{7}\\x{1B}");
  EXPECT_EQ(translated(R"(\ca\cA\c?)"), L"\\x{21}\\x{1}\\x{7F}");  // Java: X ^ 0x40
  check_decisions({
      {R"(\x41\x{42}\x{1F600})", {"AB😀"}, {"AB", "ab😀"}},
      {R"(\x{0000000041})", {"A"}, {"a"}},
      {R"(\x{e9}+)", {"éé"}, {"e"}},
      {R"(\0101)", {"A"}, {"0101", "\x01"}},
      {R"(\07)", {"\a"}, {"7"}},
      {R"(\0377)", {"ÿ"}, {std::string{'\x1F', '7'}}},  // not \037 then 7
      {R"(\0400)", {" 0"}, {" 00"}},
      {R"(\t\n\r\f\a\e)", {"\t\n\r\f\a\x1B"}, {"tnrfae"}},
      {R"(\ca)", {"!"}, {"\x01", "a"}},
      {R"(\c?)", {"\x7F"}, {"?"}},
      {R"(\.\\\<\>\ \#\é)", {".\\<> #é"}, {"a\\<> #é"}},
  });
  expect_refused(R"(\x4)", "hex escape '\\x'", 0);
  expect_refused(R"(a\x{110000})", "hex escape '\\x{'", 1);
  expect_refused(R"(\x{})", "hex escape '\\x{'", 0);
  expect_refused(R"(\x{41)", "hex escape '\\x{'", 0);
  expect_refused(R"(\0)", "octal escape '\\0'", 0);
  expect_refused(R"(a\08)", "octal escape '\\0'", 1);
  expect_refused(R"(\c)", "control escape '\\c'", 0);
}

// ---- character classes --------------------------------------------------------------------

TEST(JavaRegex, ClassesAreParsedWithJavaRulesAndReEmittedSafely) {
  EXPECT_EQ(translated("[abc]"), L"[a-c]");
  EXPECT_EQ(translated("[^a]"), L"[^a]");
  EXPECT_EQ(translated("[]a-]"), L"[\\x{2D}\\x{5D}a]");
  // To Java this is a set of the characters ":alph"; Boost would read a POSIX class.
  EXPECT_EQ(translated("[:alpha:]"), L"[\\x{3A}ahlp]");
  check_decisions({
      {"[abc]+", {"abcba"}, {"abd", ""}},
      {"[^a]", {"é", "b", "\n", "😀", "\x01"}, {"a", "", "bb"}},
      {"[]a]+", {"]a]"}, {"b", ""}},
      {"[^]a]", {"b", "é"}, {"]", "a"}},
      {"[]-a]", {"]", "^", "_", "a"}, {"-", "b"}},
      {"[-a]+", {"-a"}, {"b"}},
      {"[a-c-]+", {"a-c", "-"}, {"d"}},
      {R"([\d-z]+)", {"5-z"}, {"a", "y"}},
      {"[:alpha:]", {":", "a", "l", "p", "h"}, {"b", "alpha", ":alpha:"}},
      {"[=a=]", {"=", "a"}, {"b", "[=a=]"}},
      {"[.a.]", {".", "a"}, {"b", "x"}},
      {R"([\]\[\-\^\\]+)", {"][-^\\"}, {"a"}},
      {"[a^]+", {"^a"}, {"b"}},
      {"[^^]", {"a"}, {"^"}},
      {"[a&b]+", {"a&b"}, {"c"}},
      {"[&]", {"&"}, {"a"}},
      {R"([\x41-\x43\u00e0-\u00ff])", {"B", "é", "ÿ"}, {"D", "Ā", "b"}},
      {R"([\t\n\0101\cA])", {"\t", "\n", "A", "\x01"}, {"t", "a"}},
      {R"([\w.])", {"_", "9", "."}, {"é", "-"}},
      {R"([\W])", {"é", "-", " "}, {"_", "a"}},
      {R"([\s\S])", {"\n", "é", "😀"}, {""}},
      {R"([^\s\S])", {}, {"a", "\n", ""}},
      {"[é-ü]", {"é", "ô"}, {"e", "ÿ"}},
      {"[😀]", {"😀"}, {"a"}},
      {R"([a-\x{10FFFF}])", {"a", "😀"}, {"A"}},
      {R"([\Q^\E])", {"^"}, {"a"}},
  });
}

TEST(JavaRegex, ClassRefusals) {
  expect_refused("[a-z&&[^e]]", "class intersection '&&'", 4);
  expect_refused("[a&&b]", "class intersection '&&'", 2);
  expect_refused("é[a&&b]", "class intersection '&&'", 4);  // byte offset
  expect_refused("[a-z[0-9]]", "nested class or class union '['", 4);
  expect_refused("[[:alpha:]]", "nested class or class union '['", 1);
  expect_refused("[[=a=]]", "nested class or class union '['", 1);
  expect_refused("[ab", "character class '['", 0);
  expect_refused("x[]", "character class '['", 1);
  expect_refused("[^]", "character class '['", 0);
  expect_refused("[z-a]", "character range 'z-a'", 2);
  expect_refused(R"([a-\d])", "character range '-'", 2);
  expect_refused(R"([\1])", "back reference '\\1'", 1);
  expect_refused(R"([\b])", "escape '\\b'", 1);
  expect_refused(R"([\h])", "escape '\\h'", 1);
}

// ---- \Q...\E --------------------------------------------------------------------------------

TEST(JavaRegex, QuotingIsLiteral) {
  EXPECT_EQ(translated(R"(\Q.*\E)"), L"\\x{2E}\\x{2A}");
  check_decisions({
      {R"(\Q.*[x]\E)", {".*[x]"}, {"abc[x]", ".x"}},
      {R"(\Qa\Eb+)", {"abbb"}, {"aab"}},
      {R"(\Qab\E+)", {"abbb"}, {"abab"}},  // the quantifier takes the last quoted character
      {R"([\Q]^-\E]+)", {"]^-"}, {"a"}},
      {R"(a\Q(b)", {"a(b"}, {"ab"}},  // \Q without \E runs to the end
      {R"(\Q\\E)", {"\\"}, {"E", "\\E"}},
      {R"(\Qa\\b\E)", {"a\\\\b"}, {"a\\b"}},  // in a quote, \ is itself
      {R"((?i)\Qab\E)", {"AB", "aB"}, {"ac"}},
      {R"(\\Qa)", {"\\Qa"}, {"a"}},  // an escaped backslash does not start a quote
      {R"((a)\1\Q0\E)", {"aa0"}, {"a0"}},
  });
  expect_refused(R"(\E)", "escape '\\E'", 0);
  expect_refused(R"(a\Eb)", "escape '\\E'", 1);
  expect_refused(R"(\x\Q41\E)", "hex escape '\\x'", 0);  // Java would splice it into \x41
}

// ---- \p{..} \P{..} ----------------------------------------------------------------------------

TEST(JavaRegex, PosixProperties) {
  EXPECT_EQ(translated(R"(\p{Lower})"), L"[a-z]");
  EXPECT_EQ(translated(R"(\P{ASCII})"), L"[^\\x{0}-\\x{7F}]");
  check_decisions({
      {R"(\p{Lower})", {"a", "z"}, {"A", "é"}},
      {R"(\p{Upper})", {"A"}, {"a", "É"}},
      {R"(\p{ASCII})", {"\x7F", "\x01"}, {"é", "😀"}},
      {R"(\p{Alpha}+)", {"aZ"}, {"é", "1"}},
      {R"(\p{Digit})", {"7"}, {"a", "٣"}},
      {R"(\p{Alnum}+)", {"a1Z"}, {"_", "é"}},
      {R"(\p{Punct}+)", {"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}, {"a", " ", "¡"}},
      {R"(\p{Graph})", {"~", "!"}, {" ", "é"}},
      {R"(\p{Print})", {" ", "~"}, {"\t", "\x7F", "é"}},
      {R"(\p{Blank})", {" ", "\t"}, {"\n", "\u00a0"}},
      {R"(\p{Cntrl})", {"\x7F", "\x01", "\n"}, {" ", "\u0085"}},
      {R"(\p{XDigit}+)", {"09afAF"}, {"g"}},
      {R"(\p{Space})", {"\x0B", " ", "\f"}, {"\u0085", "\u00a0"}},
      {R"(\P{Alpha})", {"1", "é", "\n"}, {"a", "Z"}},
      {R"([\p{Digit}\p{Upper}]+)", {"A1B2"}, {"a"}},
      {R"([^\p{Alpha}])", {"1", "é"}, {"a"}},
      {R"([\P{Alpha}a]+)", {"a1é"}, {"b"}},
      {R"((?i)\p{Lower})", {"a", "A"}, {"1"}},  // Java widens Lower/Upper to Alpha under (?i)
      {R"((?i)\P{Lower})", {"1"}, {"a", "A"}},
  });
  expect_refused(R"(\p{L})", "character property '\\p{L}'", 0);
  expect_refused(R"(a\pL)", "character property '\\p{L}'", 1);
  expect_refused(R"(\p{IsAlpha})", "character property '\\p{IsAlpha}'", 0);  // Unicode in Java
  expect_refused(R"(\p{javaLowerCase})", "character property '\\p{javaLowerCase}'", 0);
  expect_refused(R"([\p{InGreek}])", "character property '\\p{InGreek}'", 1);
  expect_refused(R"(\p{lower})", "character property '\\p{lower}'", 0);
  expect_refused(R"(\p{Lower)", "property '\\p{'", 0);
}

// ---- groups and inline flags ----------------------------------------------------------------

TEST(JavaRegex, Groups) {
  EXPECT_EQ(translated("(a)(?:b)(?=c)(?!d)(?<=c)(?<!d)(?>c)"),
            L"(a)(?:b)(?=c)(?!d)(?<=c)(?<!d)(?>c)");
  EXPECT_EQ(translated(R"((?<year>\d{4})-\k<year>)"), L"(?<year>[0-9]{4})\\x{2D}\\g{1}");
  check_decisions({
      {"(a)(?:b)(?=c)c", {"abc"}, {"ab", "abd"}},
      {"(?!a).", {"b", "é"}, {"a"}},
      {"a(?<=a)b", {"ab"}, {"b"}},
      {"(?<!a)b", {"b"}, {"ab"}},
      {"a(?<!a)b", {}, {"ab"}},
      {"(?>a+)a", {}, {"aa", "aaa"}},  // atomic: gives nothing back
      {"(?>a+)b", {"aab"}, {"b"}},
      {R"((?<year>\d{4})-\k<year>)", {"2024-2024"}, {"2024-2025"}},
      {"(?<a1>x)(?<B>y)\\k<B>\\k<a1>", {"xyyx"}, {"xyxy"}},
      {"(?=)a(?!)|b", {"b"}, {"a"}},  // empty lookarounds are valid Java
  });
}

TEST(JavaRegex, InlineFlags) {
  EXPECT_EQ(translated("(?i)k"), L"[Kk]");  // ASCII folding only, as in Java without (?u)
  EXPECT_EQ(translated("(?i)é"), L"\\x{E9}");
  check_decisions({
      {"(?i)abc", {"AbC", "abc"}, {"abd"}},
      {"(?i)k", {"k", "K"}, {"\u212A"}},
      {"(?i)é", {"é"}, {"É"}},
      {"a(?i)b", {"aB", "ab"}, {"AB"}},
      {"(?i:a)b", {"Ab"}, {"AB"}},
      {"(?i)a(?-i)b", {"Ab"}, {"AB"}},
      {"((?i)a)b", {"Ab"}, {"AB"}},
      {"(?i)a|b", {"A", "B"}, {"c"}},  // the flag reaches the later alternatives
      {"x(?i)a|b", {"xA", "B"}, {"XA"}},
      {"(?i)[a-c]+", {"aBc"}, {"d"}},
      {"(?i)[^a-c]", {"d"}, {"B", "b"}},
      {"(?i)[Z-a]", {"z", "A", "_"}, {"b"}},
      {"(?i)[k]", {"K"}, {"\u212A"}},
      {"(?i)\\x41", {"a"}, {"b"}},
      {"(?s)a.b", {"a\nb", "a\u2028b"}, {"ab"}},
      {"(?s:.)", {"\n", "\r"}, {""}},
      {"(?s)(?-s).", {"a"}, {"\n"}},
      {"(?is)A.B", {"a\nb"}, {"ab"}},
      {"(?m)a$\\n^b", {"a\nb"}, {"ab"}},
      {"(?m)a$\\r\\n^b", {"a\r\nb"}, {"a\rb"}},
      {"(?)a(?-)", {"a"}, {"b"}},
  });
  expect_refused("(?d)a", "inline flag 'd'", 2);
  expect_refused("(?u)a", "inline flag 'u'", 2);
  expect_refused("(?iU)a", "inline flag 'U'", 3);
  expect_refused("(?c)a", "inline flag 'c'", 2);
  expect_refused("(?x)a b", "inline flag 'x'", 2);
  expect_refused("a(?-x:b)", "inline flag 'x'", 4);
  expect_refused("(?-i-s)a", "inline flag '-'", 4);
}

TEST(JavaRegex, GroupRefusals) {
  expect_refused("(?P<n>a)", "group syntax '(?P'", 0);
  expect_refused("a(?#c)", "group syntax '(?#'", 1);
  expect_refused("(?|a)", "group syntax '(?|'", 0);
  expect_refused("(?R)", "group syntax '(?R'", 0);
  expect_refused("(a)(?1)", "group syntax '(?1'", 3);
  expect_refused("(?(1)a)", "group syntax '(?('", 0);
  expect_refused("(?$)", "group syntax '(?$'", 0);
  expect_refused("(?<1n>a)", "group name", 3);
  expect_refused("(?<n_1>a)", "group name", 3);
  expect_refused("(?<n>a)(?<n>b)", "named group '(?<n>'", 7);
  expect_refused("\\k<n>(?<n>a)", "back reference '\\k<n>'", 0);
  expect_refused("(a", "group '('", 0);
  expect_refused("a)", "unmatched ')'", 1);
  expect_refused("(?", "group '(?'", 0);
}

// ---- quantifiers --------------------------------------------------------------------------

TEST(JavaRegex, Quantifiers) {
  // A possessive repeat commits each iteration on its own in Java: (?>(?>X){n,m}).
  EXPECT_EQ(translated("a*b+?c?+d{2}e{2,}f{1,3}?g{01,002}+"),
            L"a*b+?(?>(?>c)?)d{2}e{2,}f{1,3}?(?>(?>g){1,2})");
  check_decisions({
      {"a{2}", {"aa"}, {"a", "aaa"}},
      {"a{2,}", {"aa", "aaaa"}, {"a"}},
      {"a{1,3}", {"a", "aaa"}, {"", "aaaa"}},
      {"a{0}b", {"b"}, {"ab"}},
      {"a*+a", {}, {"a", "aa"}},  // possessive
      {"a{1,2}+a", {}, {"aa"}},
      {"a++b", {"aab"}, {"b"}},
      {"a*?b", {"aab", "b"}, {"a"}},
      {"a??b", {"ab", "b"}, {"aab"}},
      {"(?:ab)+", {"abab"}, {"aba"}},
      {R"(\d{4}-\d{2})", {"2024-01"}, {"224-01"}},
      {"a{0,2147483647}", {"aaa"}, {"b"}},
      // Possessive repeats of groups: Java takes each iteration's first way and never
      // revisits it (Boost's own X{2}+ would still backtrack between iterations).
      {"(?:a+){2}+", {}, {"aaa", "aa", "aaaa"}},
      {"(?:a+){2}+b", {}, {"aaab", "ab"}},
      {"(?:a*b|a){2}+c", {"abbc", "babc", "bbc"}, {"aabc"}},
      {"(?:a|.{2,}){2}+x", {"aax"}, {"aabx"}},
      {"(?:a|ab)?+b", {"ab", "b"}, {"abb", "aab"}},
      {"(?:a|ab)++x", {"aaax"}, {"aabx", "abx"}},
      {R"(x(a+)++\1)", {}, {"xaaaa", "xaa"}},
      {"[ab]{2}+", {"ab"}, {"a"}},
  });
  expect_refused("a{", "'{'", 1);
  expect_refused("a{x}", "'{'", 1);
  expect_refused("a{1", "'{'", 1);
  expect_refused("a{1,x}", "'{'", 1);
  expect_refused("a{,2}", "'{'", 1);
  expect_refused("x{ 1}", "'{'", 1);
  expect_refused("{", "'{'", 0);
  expect_refused("a{3,1}", "quantifier '{'", 1);
  expect_refused("a{2147483648}", "quantifier '{'", 1);
  expect_refused("{2}", "quantifier '{'", 0);  // Java repeats an empty string here
  expect_refused("*a", "quantifier '*'", 0);
  expect_refused("a|+b", "quantifier '+'", 2);
  expect_refused("(?i)?", "quantifier '?'", 4);
  expect_refused("a**", "quantifier '*'", 2);
  expect_refused("a*{2}", "quantifier '{'", 2);
  expect_refused("^*a", "quantifier '*'", 1);  // on a zero-width assertion
  expect_refused("(?=a)+a", "quantifier '+'", 5);
}

// ---- back references ----------------------------------------------------------------------

TEST(JavaRegex, BackReferences) {
  EXPECT_EQ(translated(R"((a)\10)"), L"(a)\\g{1}0");  // only one group so far: \1 then 0
  check_decisions({
      {R"((a)\1)", {"aa"}, {"a", "ab"}},
      {R"((a)(b)\2\1)", {"abba"}, {"abab"}},
      {R"((a)\10)", {"aa0"}, {"a0"}},
      {R"((a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10)", {"abcdefghijj"}, {"abcdefghija0"}},
      {R"((a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\11)", {"abcdefghija1"}, {"abcdefghijj"}},
      {R"(\1(a))", {}, {"a", "aa"}},  // a reference before its group is never set
      {R"((a)?\1b)", {"aab"}, {"b"}},
      {R"((a|b)\1)", {"aa", "bb"}, {"ab"}},
      {R"((?=(a+))\1b)", {"aab", "ab"}, {"b"}},
  });
  expect_refused(R"((a)\2)", "back reference '\\2'", 3);
  expect_refused(R"((?i)(a)\1)", "back reference '\\1'", 7);
  expect_refused(R"((a\1?)+)", "back reference '\\1'", 2);
  expect_refused(R"(()*\1)", "back reference '\\1'", 3);  // Java leaves it unset, Boost sets ""
  expect_refused(R"(($)?x\1)", "back reference '\\1'", 5);
  expect_refused(R"(\k)", "escape '\\k'", 0);
}

// ---- anchors, boundaries, dot, alternation --------------------------------------------------

TEST(JavaRegex, AnchorsAndDot) {
  EXPECT_EQ(translated("^a"), L"\\Aa");
  EXPECT_EQ(translated(R"(\Aa\z)"), L"\\Aa\\z");
  check_decisions({
      {"a.b",
       {"aéb", "a\fb", "a😀b", "a\U00020085b", "a\U00012028b"},
       {"a\nb", "a\rb", "a\u0085b", "a\u2028b", "a\u2029b", "ab"}},
      {".+", {"é", " \t\x0B\f"}, {"\r\n"}},
      {"^a", {"a"}, {"ba"}},
      {R"(\Aa\z)", {"a"}, {"a\n"}},
      // Whole-input matching: text after `$` must still be consumed by the pattern.
      {"a$", {"a"}, {"a\n", "ab"}},
      {R"(a$\n)", {"a\n"}, {"a\r\n"}},
      {R"(a$\r\n)", {"a\r\n"}, {"a\n"}},
      {R"(a$\r)", {"a\r"}, {}},
      {R"(a$\x{85})", {"a\u0085"}, {}},
      {R"(a$\u2028)", {"a\u2028"}, {}},
      {R"(a$\n\n)", {}, {"a\n\n"}},  // Boost's own $ and \Z skip several line breaks
      {R"(a$\f)", {}, {"a\f"}},      // ... and count \f as one
      {R"(a$(?:\r\n|\n))", {"a\n", "a\r\n"}, {"a\r"}},
      {R"(a\Z)", {"a"}, {"a\n"}},
      {R"(a\Z\n)", {"a\n"}, {"a\n\n"}},
      {R"(a\Z\f)", {}, {"a\f"}},
      {R"((?m)a$\nb)", {"a\nb"}, {"a\fb"}},
      {R"((?m)a\r^\nb)", {}, {"a\r\nb"}},
      {"(?m)^", {}, {""}},  // Java's multiline ^ never matches at the end of the input
      {"^$", {""}, {"\n"}},
      {"$", {""}, {"\n"}},
      {R"($\n)", {"\n"}, {"\n\n", "\r\n"}},
      {"a|b|", {"a", "b", ""}, {"ab"}},
      {"|", {""}, {"a"}},
  });
}

TEST(JavaRegex, WordBoundaries) {
  check_decisions({
      {R"(.*\bfoo\b.*)", {"a foo b", "foo", "x-foo."}, {"afoo", "foob", "foo_"}},
      {R"(a\Bb)", {"ab"}, {"a b"}},
      {R"(a\b b)", {"a b"}, {"ab"}},
      {R"(\b)", {}, {"", "a"}},
      {R"(\B)", {""}, {"a"}},
      // Java 19+ (and this library): \b looks at [A-Za-z0-9_] only. Java 8-18 also count
      // non-ASCII letters and digits, so there "é\b" matches "é".
      {R"(é\b)", {}, {"é"}},
      {R"(\Bé)", {"é"}, {}},
  });
  expect_refused(R"(a\b{g})", "escape '\\b{'", 1);
  expect_refused(R"(\b+)", "quantifier '+'", 2);
}

// ---- escapes Java does not have, or that Boost reads differently ----------------------------

TEST(JavaRegex, EscapeRefusals) {
  for (const char* e : {"l", "L", "U", "C", "K", "X", "N", "R", "h", "H", "v", "V", "G", "g", "q",
                        "i", "y", "F", "Y"}) {
    expect_refused(std::string("a\\") + e, std::string("escape '\\") + e + "'", 1);
  }
  expect_refused(R"(\u12)", "'\\u'", 0);
  expect_refused(R"(\N{LATIN SMALL LETTER A})", "escape '\\N'", 0);
}

TEST(JavaRegex, InputRefusals) {
  expect_refused("a\\", "lone backslash", 1);
  expect_refused("[a\\", "lone backslash", 2);
  expect_refused("\xC3", "invalid UTF-8", 0);              // truncated
  expect_refused("a\xC0\x80", "invalid UTF-8", 1);         // overlong
  expect_refused("ab\xED\xA0\x80", "invalid UTF-8", 2);    // surrogate
  expect_refused("\xF4\x90\x80\x80", "invalid UTF-8", 0);  // above U+10FFFF
  expect_refused(
      "a\xFF"
      "b",
      "invalid UTF-8", 1);
  std::string deep(300, '(');
  deep += std::string(300, ')');
  expect_refused(deep, "nested too deeply", 256);
}

// ---- ascii_only ---------------------------------------------------------------------------

TEST(JavaRegex, AsciiOnly) {
  const auto ascii = [](std::string_view java) { return translate_ok(java).ascii_only; };
  EXPECT_TRUE(ascii("abc"));
  EXPECT_TRUE(ascii("[a-z]+/rest/(?i)issue"));
  EXPECT_TRUE(ascii("[^a]"));  // written as a negated ASCII class
  EXPECT_TRUE(ascii(R"(\P{ASCII})"));
  EXPECT_TRUE(ascii("(?s).*"));  // "anything" needs no code point
  EXPECT_TRUE(ascii(R"(\d\w\s\b)"));
  EXPECT_FALSE(ascii("é"));
  EXPECT_FALSE(ascii(R"(\u00e9)"));
  EXPECT_FALSE(ascii(R"(\x{85})"));
  EXPECT_FALSE(ascii("[^é]"));
  // Java's `.` and `$` exclude U+0085, U+2028 and U+2029, which must be written out.
  EXPECT_FALSE(ascii("a.b"));
  EXPECT_FALSE(ascii("a$"));
}

// ---- narrow_pattern: exact for ASCII text -------------------------------------------------

TEST(JavaRegex, NarrowPatternForAsciiText) {
  const auto narrow_of = [](std::string_view java) { return translate_ok(java).narrow_pattern; };
  // Only \n and \r can occur in ASCII text: the other Java line terminators are dropped.
  EXPECT_EQ(narrow_of("a.b"), "a[^\\x{A}\\x{D}]b");
  EXPECT_EQ(narrow_of("a$"), "a(?:(?=(?:\\x{D}\\x{A}|[\\x{A}\\x{D}])?\\z)(?!(?<=\\x{D})\\x{A}))");
  EXPECT_EQ(narrow_of("(?m)^a"), "(?:(?:\\A|(?<=\\x{A})|(?<=\\x{D})(?!\\x{A}))(?=(?s:.)))a");
  // A class keeps its ASCII part; one with none cannot match ASCII text at all.
  EXPECT_EQ(narrow_of("[^é]"), "(?s:.)");
  EXPECT_EQ(narrow_of("[a-zé]"), "[a-z]");
  EXPECT_EQ(narrow_of("[é-ü]"), "[^\\x{0}-\\x{7F}]");
  EXPECT_EQ(narrow_of("é"), "[^\\x{0}-\\x{7F}]");
  EXPECT_EQ(narrow_of("\\P{ASCII}"), "[^\\x{0}-\\x{7F}]");
  EXPECT_EQ(narrow_of("[^a]"), "[^a]");  // bytes >= 0x80 never reach the narrow program
  check_decisions({
      {"a.b",
       {"axb",
        "a\x7F"
        "b"},
       {"a\nb", "a\rb", "ab"}},
      {"a$[\\r\\n]*", {"a", "a\n", "a\r", "a\r\n"}, {"a\n\n", "a\n\r", "a\r\r"}},
      {"a\\Z[\\r\\n]*", {"a", "a\r\n"}, {"a\n\n"}},
      {"(?m)a$[\\r\\n]*^b", {"a\r\nb", "a\nb", "a\n\nb"}, {"ab"}},
      {"(?m)a$\\r\\n^b", {"a\r\nb"}, {"a\nb"}},
      {"x[^é]y", {"x.y"}, {"xéy", "xy"}},
      {"é|a", {"a", "é"}, {"b", ""}},
      {"(?s).\\u2028?", {"\n", "a"}, {""}},
  });
}

// ---- the seed's rules -----------------------------------------------------------------------

TEST(JavaRegex, SeedRules) {
  check_decisions({
      {".*/rest/api/2/issue/KANBAN-100/comment.*",
       {"https://jira.example.com/rest/api/2/issue/KANBAN-100/comment",
        "/rest/api/2/issue/KANBAN-100/comment/10000"},
       {"/rest/api/2/issue/KANBAN-101/comment", "/rest/api/2/issue/KANBAN-100",
        "/rest/api/2/issue/KANBAN-100/comment\n/x"}},
      {".*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*",
       {"/rest/api/2/issue/SCRUM-1/comment",
        "https://j.example.com/rest/api/2/issue/SCRUM-2/comment/5"},
       {"/rest/api/2/issue/SCRUM-3/comment", "/rest/api/2/issue/SCRUM-12/comment"}},
  });
}

// What the translation protects against: Boost's own reading of the same Java text.
TEST(JavaRegex, BoostReadsJavaTextDifferently) {
  const auto raw = [](const wchar_t* p, std::string_view text) {
    return wide_match(boost::wregex(p, kFlags), text);
  };
  EXPECT_FALSE(raw(L"\\u0041", "A"));         // Boost: \u is "an upper-case letter"
  EXPECT_TRUE(raw(L"[[:alpha:]]", "b"));      // Boost: POSIX class; Java: one of ":alph"
  EXPECT_FALSE(raw(L"a.b", "a\fb"));          // Boost's . also stops at \f
  EXPECT_FALSE(raw(L"a.b", "a\U00020085b"));  // ... and at U+20085 (it compares 16 bits)
  EXPECT_TRUE(raw(L"\\ca", "\x01"));          // Boost: control-A; Java: '!'
  EXPECT_TRUE(raw(L"a\\Z\\n\\n", "a\n\n"));   // Boost's \Z skips any number of line breaks
}

}  // namespace
