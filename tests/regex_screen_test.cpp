// The load-time screen against catastrophic backtracking (regex_screen.hpp):
// the exponential shapes are refused with the construct, its offset and the
// reason; rules of the shapes real limitTo lines use still load.

#include "tokenguard/detail/regex_screen.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tokenguard/detail/java_regex.hpp"
#include "tokenguard/detail/regex.hpp"

namespace {

using tokenguard::detail::compiled_regex;
using tokenguard::detail::java_regex_translation;
using tokenguard::detail::screen_regex;
using tokenguard::detail::translate_java_regex;

std::string screened(std::string_view java) {
  java_regex_translation t;
  std::string why;
  EXPECT_TRUE(translate_java_regex(java, t, why)) << java << ": " << why;
  return screen_regex(t.ast);
}

TEST(RegexScreen, RulesOfUsualShapesPass) {
  for (const char* java : {
           ".*/rest/api/2/issue/KANBAN-100/comment.*",
           ".*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*",
           ".*/rest/api/(2|latest)/(issue|search)(/.*)?",
           ".*/rest/api/2/issue/[A-Z][A-Z0-9]*-\\d+(/comment(/\\d+)?)?",
           "(?:https?://[^/]+)?/rest/.*",
           "(/[a-z]+)*",             // each iteration starts with '/', which [a-z] never takes
           "(?:/[^/]+)+/?",          //
           "(?:/[a-z0-9-]+){1,20}",  //
           "([a-z]+\\.)+[a-z]+",     // host names
           "(\\d+,)*\\d+",           // lists
           "(?:[A-Z]+-\\d+,)*[A-Z]+-\\d+",
           "(\\w+\\s)+",          // the separator is required
           "(?:ab|ac)*",          // branches differ at the second character
           "(?:a|b|c)+",          //
           "[a-z]+(?:-[a-z]+)*",  //
           "(?:[^/]*/)*x",        //
           "(a|a)*+b",            // possessive: Java never re-splits it
           "(?>a+)+b",            // an atomic body is never re-split
           "(?:a?){15}a{15}",     // a bounded repeat under the loop threshold
           ".*a.*a.*a.*b",        // polynomial, not exponential: left to the budget
           "(?:(a)|b)*",          //
           "(a|)*b",              // an empty branch only ends the loop
       }) {
    EXPECT_EQ(screened(java), "") << java;
  }
}

void expect_refused(std::string_view java, std::string_view construct, std::size_t offset,
                    std::size_t loop_offset) {
  const std::string why = screened(java);
  SCOPED_TRACE(std::string(java) + ": " + why);
  EXPECT_EQ(why.rfind(std::string(construct) + " at offset " + std::to_string(offset) + ":", 0),
            0u);
  EXPECT_NE(why.find("inside the repeat at offset " + std::to_string(loop_offset)),
            std::string::npos);
  EXPECT_NE(why.find("exponential time"), std::string::npos);
}

TEST(RegexScreen, ExponentialShapesAreRefusedWithTheirOffsets) {
  expect_refused("(x+x+)+y", "nested quantifier", 1, 0);
  expect_refused("/(x+x+)+y", "nested quantifier", 2, 1);
  expect_refused("(.*/)*.*/admin", "nested quantifier", 1, 0);
  expect_refused("(a+)+", "nested quantifier", 1, 0);
  expect_refused("(?:a*)*", "nested quantifier", 3, 0);
  expect_refused(".*/(\\w+\\s?)+$", "nested quantifier", 4, 3);
  expect_refused(".*/([a-z]+/?)*!", "nested quantifier", 4, 3);
  expect_refused("((ab)*c?)*d", "nested quantifier", 1, 0);
  expect_refused("(?:a?){30}a{30}", "nested quantifier", 3, 0);
  expect_refused(".*(?:a{1,3}){1,100}b", "nested quantifier", 5, 2);
  expect_refused("(a|a)*b", "alternation", 1, 0);
  expect_refused("(a|aa)+b", "alternation", 1, 0);
  expect_refused("(?:x|ab|a|b)*", "alternation", 3, 0);  // "ab" is ab, or a then b
  expect_refused("(?:a|[a-c])*z", "alternation", 3, 0);
  // Atomic groups and lookarounds only protect what is outside them.
  expect_refused("(?>(a+)+b)", "nested quantifier", 4, 3);
  expect_refused("x(?=(a+)+)", "nested quantifier", 5, 4);
  // Case-insensitive letters overlap their other case.
  expect_refused("(?i)(?:A|a)+", "alternation", 7, 4);
}

TEST(RegexScreen, TheRefusalReachesTheCompiler) {
  auto c = compiled_regex::compile("(x+x+)+y", false);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("nested quantifier at offset 1"), std::string::npos) << c.message();
  // The translator's own refusals come first.
  auto bad = compiled_regex::compile("(x+x+)+[[:alpha:]]", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("nested class"), std::string::npos) << bad.message();
}

}  // namespace
