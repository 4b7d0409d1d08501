#include "tokenguard/detail/json_body.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/allocation_counter.hpp"

namespace {
long allocations_now() { return tokenguard::testing::allocations_on_this_thread(); }
}  // namespace

namespace {

using tokenguard::detail::json_body;
using tokenguard::detail::json_path;

constexpr std::size_t default_limit = std::size_t{1} << 20;

json_path path_of(std::string_view dotted) {
  auto parsed = json_path::parse(dotted);
  EXPECT_TRUE(parsed.ok()) << dotted;
  if (!parsed.ok()) return json_path::parse("unused").value();
  return std::move(parsed).value();
}

/// One lookup on a fresh body; nullopt when text_at says false.
std::optional<std::string> lookup(std::string_view body, std::string_view dotted,
                                  std::size_t limit = default_limit) {
  json_body parsed(body, limit);
  std::string_view text = "untouched";
  if (!parsed.text_at(path_of(dotted), text)) return std::nullopt;
  return std::string(text);
}

// ---- json_path ----------------------------------------------------------------

TEST(JsonPath, SplitsAtDots) {
  const json_path p = path_of("fields.labels.0");
  ASSERT_EQ(p.segments().size(), 3u);
  EXPECT_EQ(p.segments()[0], "fields");
  EXPECT_EQ(p.segments()[1], "labels");
  EXPECT_EQ(p.segments()[2], "0");
  const json_path single = path_of("a");
  ASSERT_EQ(single.segments().size(), 1u);
  EXPECT_EQ(single.segments()[0], "a");
}

TEST(JsonPath, KeepsSegmentsVerbatim) {
  const json_path p = path_of(" a b .~1/\xC3\xA9");
  ASSERT_EQ(p.segments().size(), 2u);
  EXPECT_EQ(p.segments()[0], " a b ");
  EXPECT_EQ(p.segments()[1], "~1/\xC3\xA9");
}

TEST(JsonPath, RefusesEmptyPathAndEmptySegments) {
  for (const std::string_view bad : {"", "a..b", ".a", "a.", ".", ".."}) {
    const auto parsed = json_path::parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.message().find("\"" + std::string(bad) + "\""), std::string::npos)
        << parsed.message();
  }
  EXPECT_NE(json_path::parse("").message().find("empty"), std::string::npos);
  EXPECT_NE(json_path::parse("a..b").message().find("empty segment"), std::string::npos);
}

TEST(JsonPath, AllowsSixtyFourSegmentsButNotMore) {
  std::string dotted = "k";
  for (int i = 1; i < 64; ++i) dotted += ".k";
  const auto ok = json_path::parse(dotted);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value().segments().size(), 64u);
  dotted += ".k";
  const auto too_long = json_path::parse(dotted);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.message().find("64"), std::string::npos) << too_long.message();
  EXPECT_NE(too_long.message().find(dotted), std::string::npos);
}

// ---- scalars ------------------------------------------------------------------

TEST(JsonBody, StringsAreUnescaped) {
  EXPECT_EQ(lookup(R"({"a":"plain"})", "a"), "plain");
  EXPECT_EQ(lookup(R"({"a":"a\"b"})", "a"), "a\"b");
  EXPECT_EQ(lookup(R"({"a":"\u00e9"})", "a"), "\xC3\xA9");
  EXPECT_EQ(lookup(R"({"a":"\ud83d\ude00"})", "a"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(lookup(R"({"a":"x\\y\/z\n\t"})", "a"), "x\\y/z\n\t");
  EXPECT_EQ(lookup(R"({"a":""})", "a"), "");
  EXPECT_EQ(lookup(R"({"a":"nul\u0000in"})", "a"), std::string("nul\0in", 6));
}

TEST(JsonBody, NumbersAreTextAsWritten) {
  EXPECT_EQ(lookup(R"({"n":1})", "n"), "1");
  EXPECT_EQ(lookup(R"({"n":-0})", "n"), "-0");
  EXPECT_EQ(lookup(R"({"n":1.50})", "n"), "1.50");
  EXPECT_EQ(lookup(R"({"n":1e3})", "n"), "1e3");
  EXPECT_EQ(lookup(R"({"n":1E+03})", "n"), "1E+03");
  EXPECT_EQ(lookup(R"({"n":-1.5e-7})", "n"), "-1.5e-7");
  EXPECT_EQ(lookup(R"({"n":12345678901234567890})", "n"), "12345678901234567890");
  EXPECT_EQ(lookup(R"({"n":-9223372036854775808})", "n"), "-9223372036854775808");
  EXPECT_EQ(lookup(R"({"n":0.1000000000000000055511151231257827})", "n"),
            "0.1000000000000000055511151231257827");
}

TEST(JsonBody, NumberTextExcludesSurroundingWhitespace) {
  EXPECT_EQ(lookup("{ \"n\" :\t 1.50 \r\n , \"m\": 2 }", "n"), "1.50");
  EXPECT_EQ(lookup("{ \"n\" : 7\n}", "n"), "7");
  EXPECT_EQ(lookup("[ 1 , 2.0\t]", "1"), "2.0");
  EXPECT_EQ(lookup("  {\"a\":[ [ 3 ] ]}  \n", "a.0.0"), "3");
}

TEST(JsonBody, Booleans) {
  EXPECT_EQ(lookup(R"({"t":true,"f":false})", "t"), "true");
  EXPECT_EQ(lookup(R"({"t":true,"f":false})", "f"), "false");
}

TEST(JsonBody, NullObjectAndArrayHaveNoText) {
  const std::string body = R"({"n":null,"o":{"a":1},"e":{},"l":[1,2],"z":[]})";
  for (const std::string_view p : {"n", "o", "e", "l", "z"}) {
    EXPECT_EQ(lookup(body, p), std::nullopt) << p;
  }
}

TEST(JsonBody, FailedLookupLeavesTextAlone) {
  json_body body(R"({"a":null})", default_limit);
  std::string_view text = "keep";
  EXPECT_FALSE(body.text_at(path_of("a"), text));
  EXPECT_EQ(text, "keep");
}

// ---- navigation ---------------------------------------------------------------

TEST(JsonBody, NestedObjects) {
  const std::string body = R"({"fields":{"project":{"key":"KANBAN","id":10001}},"x":1})";
  EXPECT_EQ(lookup(body, "fields.project.key"), "KANBAN");
  EXPECT_EQ(lookup(body, "fields.project.id"), "10001");
  EXPECT_EQ(lookup(body, "x"), "1");
}

TEST(JsonBody, ArrayIndexing) {
  const std::string body =
      R"({"fields":{"labels":["red","green","blue"]},"a":[{"b":1},{"b":2.0}]})";
  EXPECT_EQ(lookup(body, "fields.labels.0"), "red");
  EXPECT_EQ(lookup(body, "fields.labels.2"), "blue");
  EXPECT_EQ(lookup(body, "a.1.b"), "2.0");
  EXPECT_EQ(lookup(body, "a.0.b"), "1");
  EXPECT_EQ(lookup(R"([["x",["y",false]]])", "0.1.1"), "false");
}

TEST(JsonBody, ArrayIndexOutOfRangeFails) {
  const std::string body = R"({"l":["a","b"],"e":[]})";
  EXPECT_EQ(lookup(body, "l.2"), std::nullopt);
  EXPECT_EQ(lookup(body, "l.99999999999999999999999"), std::nullopt);
  EXPECT_EQ(lookup(body, "e.0"), std::nullopt);
}

TEST(JsonBody, NonCanonicalOrNonNumericSegmentOnArrayFails) {
  const std::string body = R"({"l":["a","b"]})";
  EXPECT_EQ(lookup(body, "l.01"), std::nullopt);
  EXPECT_EQ(lookup(body, "l.+1"), std::nullopt);
  EXPECT_EQ(lookup(body, "l.-1"), std::nullopt);
  EXPECT_EQ(lookup(body, "l.x"), std::nullopt);
  EXPECT_EQ(lookup(body, "l. 1"), std::nullopt);
}

TEST(JsonBody, NumericSegmentOnObjectIsAKey) {
  EXPECT_EQ(lookup(R"({"0":"x"})", "0"), "x");
  EXPECT_EQ(lookup(R"({"01":"y","1":"z"})", "01"), "y");
  EXPECT_EQ(lookup(R"({"a":{"2":7}})", "a.2"), "7");
  EXPECT_EQ(lookup(R"({"a":{"1":"x"}})", "a.0"), std::nullopt);
}

TEST(JsonBody, KeysWithTildeAndSlash) {
  const std::string body = R"({"a~b":{"c/d":"v","~0":"t","~1":12.0}})";
  EXPECT_EQ(lookup(body, "a~b.c/d"), "v");
  EXPECT_EQ(lookup(body, "a~b.~0"), "t");
  EXPECT_EQ(lookup(body, "a~b.~1"), "12.0");
  EXPECT_EQ(lookup(body, "a/b.c/d"), std::nullopt);
  EXPECT_EQ(lookup(body, "a~b.~"), std::nullopt);
}

TEST(JsonBody, KeysAreComparedUnescaped) {
  EXPECT_EQ(lookup(R"({"\u0061":"x"})", "a"), "x");
  EXPECT_EQ(lookup(R"({"\u00e9t\u00e9":3.0})", "\xC3\xA9t\xC3\xA9"), "3.0");
  EXPECT_EQ(lookup(R"({"a\"b":{"c":1.5}})", "a\"b.c"), "1.5");
}

TEST(JsonBody, DuplicateKeysFirstWins) {
  EXPECT_EQ(lookup(R"({"a":"first","a":"second"})", "a"), "first");
  EXPECT_EQ(lookup(R"({"a":1.0,"a":2})", "a"), "1.0");
  EXPECT_EQ(lookup(R"({"a":"x","a":{"b":2}})", "a.b"), std::nullopt);
  // Both keys read "a" once unescaped: the number text must come from the
  // first one, although its raw key differs from the path segment.
  EXPECT_EQ(lookup(R"({"o":{"\u0061":10,"a":20}})", "o.a"), "10");
}

TEST(JsonBody, MissingNodes) {
  const std::string body = R"({"a":{"b":"c"},"s":"str","n":5})";
  EXPECT_EQ(lookup(body, "x"), std::nullopt);
  EXPECT_EQ(lookup(body, "a.x"), std::nullopt);
  EXPECT_EQ(lookup(body, "a.b.c"), std::nullopt);  // through a string
  EXPECT_EQ(lookup(body, "n.0"), std::nullopt);    // through a number
  EXPECT_EQ(lookup(body, "s.0"), std::nullopt);
  EXPECT_EQ(lookup(body, "A"), std::nullopt);  // keys are case-sensitive
  EXPECT_EQ(lookup(R"("scalar root")", "0"), std::nullopt);
  EXPECT_EQ(lookup("5", "a"), std::nullopt);
}

TEST(JsonBody, DeepPathOfSixtyFourSegments) {
  std::string body;
  std::string dotted;
  for (int i = 0; i < 64; ++i) {
    body += "{\"k\":";
    dotted += i == 0 ? "k" : ".k";
  }
  body += "-2.50";
  for (int i = 0; i < 64; ++i) body += "}";
  EXPECT_EQ(lookup(body, dotted), "-2.50");
}

// ---- invalid and oversized bodies ---------------------------------------------

TEST(JsonBody, InvalidBodiesFail) {
  for (const std::string_view bad :
       {R"({"a":1} x)", R"({"a":1}})", R"({"a":1)", R"({"a":)", R"({"a":"x)", R"({"a":1,})",
        R"({'a':1})", R"({"a":01})", R"({"a":1.})", R"({"a":"\x"})", R"({"a":tru})",
        "{\"a\":\"\xC3\"}", "{\"a\":\"tab\there\"}", R"({"a":1}{"a":1})"}) {
    EXPECT_EQ(lookup(bad, "a"), std::nullopt) << bad;
  }
}

TEST(JsonBody, EmptyAndBlankBodiesFail) {
  EXPECT_EQ(lookup("", "a"), std::nullopt);
  EXPECT_EQ(lookup("   \n", "a"), std::nullopt);
}

TEST(JsonBody, UnrepresentableNumberAnywhereMakesTheBodyInvalid) {
  // simdjson refuses integers beyond 64 bits and floats beyond double range:
  // the body counts as invalid, so every clause on it fails (fails closed).
  EXPECT_EQ(lookup(R"({"a":"x","b":123456789012345678901234})", "a"), std::nullopt);
  EXPECT_EQ(lookup(R"({"a":"x","b":1e400})", "a"), std::nullopt);
}

TEST(JsonBody, BodyLimitIsInclusive) {
  const std::string body = R"({"a":"v"})";
  EXPECT_EQ(lookup(body, "a", body.size()), "v");
  EXPECT_EQ(lookup(body, "a", body.size() - 1), std::nullopt);
  EXPECT_EQ(lookup(body, "a", 0), std::nullopt);
  // Limit+1 bytes vs exactly at the limit, with a realistic limit.
  const std::size_t limit = 4096;
  std::string at_limit = R"({"a":"v","pad":")";
  at_limit += std::string(limit - at_limit.size() - 2, 'p') + "\"}";
  ASSERT_EQ(at_limit.size(), limit);
  EXPECT_EQ(lookup(at_limit, "a", limit), "v");
  std::string over = at_limit;
  over.insert(over.size() - 1, " ");
  ASSERT_EQ(over.size(), limit + 1);
  EXPECT_EQ(lookup(over, "a", limit), std::nullopt);
  EXPECT_EQ(lookup(over, "a", limit + 1), "v");
}

// ---- sharing and reuse --------------------------------------------------------

TEST(JsonBody, SeveralLookupsOnOneBodyKeepEarlierTexts) {
  const std::string body = R"({"s":"str","n":1.50,"b":true,"l":["x",2e1],"missing":null})";
  json_body parsed(body, default_limit);
  std::string_view s;
  std::string_view n;
  std::string_view b;
  std::string_view l0;
  std::string_view l1;
  std::string_view s_again;
  std::string_view none;
  ASSERT_TRUE(parsed.text_at(path_of("s"), s));
  ASSERT_TRUE(parsed.text_at(path_of("n"), n));
  ASSERT_TRUE(parsed.text_at(path_of("b"), b));
  ASSERT_TRUE(parsed.text_at(path_of("l.1"), l1));
  ASSERT_TRUE(parsed.text_at(path_of("l.0"), l0));
  EXPECT_FALSE(parsed.text_at(path_of("missing"), none));
  ASSERT_TRUE(parsed.text_at(path_of("s"), s_again));
  EXPECT_EQ(s, "str");
  EXPECT_EQ(n, "1.50");
  EXPECT_EQ(b, "true");
  EXPECT_EQ(l0, "x");
  EXPECT_EQ(l1, "2e1");
  EXPECT_EQ(s_again, "str");
}

TEST(JsonBody, InvalidVerdictIsReusedByEveryLookup) {
  json_body parsed(R"({"a":"x"} trailing)", default_limit);
  std::string_view text;
  EXPECT_FALSE(parsed.text_at(path_of("a"), text));
  EXPECT_FALSE(parsed.text_at(path_of("a"), text));
}

TEST(JsonBody, ManyBodiesInARowGrowingAndShrinking) {
  const std::vector<std::size_t> pads = {0, 5000, 10, 70000, 3, 9000, 1, 300000, 0, 4095, 4096};
  int round = 0;
  for (const std::size_t pad : pads) {
    ++round;
    const std::string body =
        "{\"pad\":\"" + std::string(pad, 'q') + "\",\"v\":" + std::to_string(round) +
        ".0,\"s\":\"s" + std::to_string(round) + "\",\"l\":[" + std::to_string(round * 7) + "]}";
    json_body parsed(body, default_limit);
    std::string_view v;
    std::string_view s;
    std::string_view l;
    ASSERT_TRUE(parsed.text_at(path_of("v"), v)) << pad;
    ASSERT_TRUE(parsed.text_at(path_of("s"), s)) << pad;
    ASSERT_TRUE(parsed.text_at(path_of("l.0"), l)) << pad;
    EXPECT_EQ(v, std::to_string(round) + ".0");
    EXPECT_EQ(s, "s" + std::to_string(round));
    EXPECT_EQ(l, std::to_string(round * 7));
  }
  // A short body right after a long one must not see the long one's bytes.
  EXPECT_EQ(lookup(R"({"v":123456789,"w":[1,2,3,4,5,6,7,8,9]})", "v"), "123456789");
  EXPECT_EQ(lookup(R"({"v":1})", "v"), "1");
  EXPECT_EQ(lookup(R"({"v":1)", "v"), std::nullopt);
}

TEST(JsonBody, InterleavedBodiesStillAnswerCorrectly) {
  // Not the intended use (one json_body per thread at a time), but a body whose
  // parse was overwritten parses again rather than reading the other body.
  const std::string first = R"({"a":"one","n":1.0})";
  const std::string second = R"({"a":"two","n":2.00})";
  json_body a(first, default_limit);
  json_body b(second, default_limit);
  std::string_view text;
  ASSERT_TRUE(a.text_at(path_of("a"), text));
  EXPECT_EQ(text, "one");
  ASSERT_TRUE(b.text_at(path_of("a"), text));
  EXPECT_EQ(text, "two");
  ASSERT_TRUE(a.text_at(path_of("n"), text));
  EXPECT_EQ(text, "1.0");
  ASSERT_TRUE(b.text_at(path_of("n"), text));
  EXPECT_EQ(text, "2.00");
}

TEST(JsonBody, EachThreadHasItsOwnParsers) {
  std::optional<std::string> other;
  std::thread worker([&] { other = lookup(R"({"t":{"x":[false,"thread"]}})", "t.x.1"); });
  const auto here = lookup(R"({"m":"main"})", "m");
  worker.join();
  EXPECT_EQ(other, "thread");
  EXPECT_EQ(here, "main");
}

// ---- allocation ---------------------------------------------------------------

/// Runs f on a fresh thread, whose json_body state starts empty.
template <class F>
void on_fresh_thread(F f) {
  std::thread worker(f);
  worker.join();
}

TEST(JsonBody, SteadyStateLookupsAllocateNothing) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const json_path s = path_of("fields.summary");
  const json_path n = path_of("fields.count");
  const json_path b = path_of("fields.done");
  const json_path l = path_of("fields.labels.1");
  const json_path missing = path_of("fields.nope");
  const std::string warm =
      R"({"fields":{"summary":"abc","count":1.50,"done":true,"labels":["x","y"]}})";
  const std::string same =
      R"({"fields":{"summary":"xyz","count":2.75,"done":true,"labels":["p","q"]}})";
  const std::string shorter = R"({"fields":{"summary":"k","count":3,"done":false,"labels":[0,1]}})";
  const std::string invalid = R"({"fields":{"summary":"k","count":3,"done":false,"labels":[0,1]})";
  ASSERT_EQ(warm.size(), same.size());
  ASSERT_LT(shorter.size(), warm.size());
  on_fresh_thread([&] {
    tokenguard::testing::reset_allocations_on_this_thread();
    {
      json_body body(warm, default_limit);
      std::string_view text;
      ASSERT_TRUE(body.text_at(s, text));
      ASSERT_TRUE(body.text_at(n, text));
      ASSERT_TRUE(body.text_at(b, text));
      ASSERT_TRUE(body.text_at(l, text));
    }
    const long warm_up_allocations = allocations_now();

    std::string_view ts;
    std::string_view tn;
    std::string_view tb;
    std::string_view tl;
    std::string_view ts2;
    std::string_view tn2;
    std::string_view tb2;
    std::string_view tl2;
    std::string_view unused;
    bool ok[8] = {};
    bool found_missing = true;
    bool found_invalid = true;
    tokenguard::testing::reset_allocations_on_this_thread();
    {
      json_body body(same, default_limit);
      ok[0] = body.text_at(s, ts);
      ok[1] = body.text_at(n, tn);
      ok[2] = body.text_at(b, tb);
      ok[3] = body.text_at(l, tl);
      found_missing = body.text_at(missing, unused);
    }
    const long same_size_allocations = allocations_now();
    tokenguard::testing::reset_allocations_on_this_thread();
    {
      json_body body(shorter, default_limit);
      ok[4] = body.text_at(s, ts2);
      ok[5] = body.text_at(n, tn2);
      ok[6] = body.text_at(b, tb2);
      ok[7] = body.text_at(l, tl2);
    }
    {
      json_body body(invalid, default_limit);
      found_invalid = body.text_at(s, unused);
    }
    const long smaller_allocations = allocations_now();

    // The counter does see the reservations: the warm-up on this fresh thread paid for them.
    EXPECT_GT(warm_up_allocations, 0);
    EXPECT_EQ(same_size_allocations, 0);
    EXPECT_EQ(smaller_allocations, 0);
    for (const bool each : ok) EXPECT_TRUE(each);
    EXPECT_FALSE(found_missing);
    EXPECT_FALSE(found_invalid);
    // The texts point into per-thread buffers that later bodies reused, so only
    // the last valid body's texts are checked.
    EXPECT_EQ(ts2, "k");
    EXPECT_EQ(tn2, "3");
    EXPECT_EQ(tb2, "false");
    EXPECT_EQ(tl2, "1");
  });
}

TEST(JsonBody, SteadyStateValuesOfSameSizeBody) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const std::string warm = R"({"a":"abc","n":1.50})";
  const std::string same = R"({"a":"xyz","n":2.75})";
  const json_path a = path_of("a");
  const json_path n = path_of("n");
  on_fresh_thread([&] {
    {
      json_body body(warm, default_limit);
      std::string_view text;
      ASSERT_TRUE(body.text_at(n, text));
    }
    std::string_view ta;
    std::string_view tn;
    tokenguard::testing::reset_allocations_on_this_thread();
    json_body body(same, default_limit);
    const bool ok_a = body.text_at(a, ta);
    const bool ok_n = body.text_at(n, tn);
    const long counted = allocations_now();
    EXPECT_EQ(counted, 0);
    ASSERT_TRUE(ok_a);
    ASSERT_TRUE(ok_n);
    EXPECT_EQ(ta, "xyz");
    EXPECT_EQ(tn, "2.75");
  });
}

TEST(JsonBody, AllocationFailureOnFirstUseFailsTheLookup) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const json_path a = path_of("a");
  const json_path n = path_of("n");
  const std::string body = R"({"a":"x","n":1.50})";
  ASSERT_EQ(lookup(body, "a"), "x");  // simdjson's process-wide setup is done
  bool dom_failed_lookup = true;
  bool after_recovery = false;
  bool ondemand_failed_lookup = true;
  bool number_after_recovery = false;
  std::string recovered_text;
  std::string number_text;
  std::thread worker([&] {
    // Fresh thread: nothing reserved yet, so the first lookup must reserve.
    std::string_view text;
    {
      json_body parsed(body, default_limit);
      tokenguard::testing::fail_allocations_on_this_thread(true);
      dom_failed_lookup = parsed.text_at(a, text);
      tokenguard::testing::fail_allocations_on_this_thread(false);
    }
    {
      json_body parsed(body, default_limit);
      after_recovery = parsed.text_at(a, text);
      if (after_recovery) recovered_text = std::string(text);
      // The on-demand parser is reserved only for the first number lookup.
      tokenguard::testing::fail_allocations_on_this_thread(true);
      ondemand_failed_lookup = parsed.text_at(n, text);
      tokenguard::testing::fail_allocations_on_this_thread(false);
      number_after_recovery = parsed.text_at(n, text);
      if (number_after_recovery) number_text = std::string(text);
    }
  });
  worker.join();
  EXPECT_FALSE(dom_failed_lookup);
  EXPECT_TRUE(after_recovery);
  EXPECT_EQ(recovered_text, "x");
  EXPECT_FALSE(ondemand_failed_lookup);
  EXPECT_TRUE(number_after_recovery);
  EXPECT_EQ(number_text, "1.50");
}

}  // namespace
