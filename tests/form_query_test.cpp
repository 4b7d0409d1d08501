#include "tokenguard/detail/form_query.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using tokenguard::detail::for_each_query_param;
using tokenguard::detail::form_decode;
using tokenguard::detail::is_valid_utf8;
using tokenguard::detail::query_decodes;

using pairs = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> decode(std::string_view in) {
  std::string out(in.size(), '\0');
  std::size_t len = 12345;
  if (!form_decode(in, out.data(), len)) return std::nullopt;
  EXPECT_LE(len, in.size());
  out.resize(len);
  return out;
}

/// All pairs of a query; nullopt when the walk reports failure.
std::optional<pairs> params(std::string_view query) {
  std::vector<char> scratch(query.size());
  pairs got;
  const bool ok = for_each_query_param(query, scratch.data(), scratch.size(),
                                       [&](std::string_view n, std::string_view v) {
                                         got.emplace_back(n, v);
                                         return true;
                                       });
  if (!ok) return std::nullopt;
  return got;
}

TEST(IsValidUtf8, AcceptsValid) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8(std::string_view("\0", 1)));
  EXPECT_TRUE(is_valid_utf8("\x7F"));
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));          // U+0080
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9"));          // é
  EXPECT_TRUE(is_valid_utf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));      // U+0800
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));      // U+E000
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_TRUE(
      is_valid_utf8("a\xE2\x82\xAC"
                    "b\xF0\x9F\x98\x80"));  // € and an emoji
}

TEST(IsValidUtf8, RejectsInvalid) {
  EXPECT_FALSE(is_valid_utf8("\x80"));  // stray continuation
  EXPECT_FALSE(is_valid_utf8("\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));      // overlong 3-byte
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // overlong 4-byte
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // U+D800 surrogate
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));      // U+DFFF surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xFE"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));  // truncated
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));
  EXPECT_FALSE(
      is_valid_utf8("\xC3"
                    "a"));  // continuation missing
  EXPECT_FALSE(
      is_valid_utf8("\xE2\x82"
                    "a"));
}

TEST(FormDecode, PlusPercentAndPlain) {
  EXPECT_EQ(decode("a+b"), "a b");
  EXPECT_EQ(decode("+"), " ");
  EXPECT_EQ(decode("a%20b"), "a b");
  EXPECT_EQ(decode("%2B"), "+");  // an escaped plus stays a plus
  EXPECT_EQ(decode("%2b%41%61"), "+Aa");
  EXPECT_EQ(decode("%aA%Aa"), std::nullopt);  // 0xAA alone is not UTF-8
  EXPECT_EQ(decode("%3d%26%25"), "=&%");
  EXPECT_EQ(decode("%252B"), "%2B");  // decoded once only
  EXPECT_EQ(decode(""), "");
  EXPECT_EQ(decode("plain-text_.~"), "plain-text_.~");
  EXPECT_EQ(decode("%00"), std::string(1, '\0'));
}

TEST(FormDecode, Utf8) {
  EXPECT_EQ(decode("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(decode("caf%c3%a9"), "caf\xC3\xA9");
  EXPECT_EQ(decode("%E2%82%AC"), "\xE2\x82\xAC");
  EXPECT_EQ(decode("%C3"), std::nullopt);
  EXPECT_EQ(decode("%C3a"), std::nullopt);
  EXPECT_EQ(decode("%FF"), std::nullopt);
  EXPECT_EQ(decode("%C0%AF"), std::nullopt);     // overlong '/'
  EXPECT_EQ(decode("%ED%A0%80"), std::nullopt);  // surrogate
  EXPECT_EQ(decode("%F4%90%80%80"), std::nullopt);
  // Raw bytes count too, not only escaped ones.
  EXPECT_EQ(decode("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(decode("\xC3"), std::nullopt);
  EXPECT_EQ(decode("\xC3%A9"), "\xC3\xA9");
}

TEST(FormDecode, MalformedEscapes) {
  for (const char* in : {"%", "a%", "%4", "%zz", "%z1", "%1z", "%%", "% 1", "%+1", "%-1", "a%2"}) {
    EXPECT_EQ(decode(in), std::nullopt) << in;
  }
}

TEST(FormDecode, OutLenUntouchedOnFailure) {
  char out[8];
  std::size_t len = 77;
  EXPECT_FALSE(form_decode("%zz", out, len));
  EXPECT_EQ(len, 77u);
  ASSERT_TRUE(form_decode("a+%41", out, len));
  EXPECT_EQ(std::string_view(out, len), "a A");
}

TEST(QueryDecodes, Cases) {
  EXPECT_TRUE(query_decodes(""));
  EXPECT_TRUE(query_decodes("a=1&b=2"));
  EXPECT_TRUE(query_decodes("&&"));
  EXPECT_TRUE(query_decodes("a"));
  EXPECT_TRUE(query_decodes("=v"));
  EXPECT_TRUE(query_decodes("a=b=c"));
  EXPECT_TRUE(query_decodes("q=%C3%A9+x&r=%20"));
  EXPECT_FALSE(query_decodes("a=%zz"));
  EXPECT_FALSE(query_decodes("%zz=1"));
  EXPECT_FALSE(query_decodes("a=1&b=%"));
  EXPECT_FALSE(query_decodes("a=%C3"));
  EXPECT_FALSE(query_decodes("a=%FF&b=1"));
  EXPECT_FALSE(query_decodes("ok&x=%C3%A9&y=%ED%A0%80"));
  // Name and value decode separately, so a sequence cannot straddle the '='.
  EXPECT_FALSE(query_decodes("%C3=%A9"));
  // '=' inside the value is literal text, '&' always splits.
  EXPECT_FALSE(query_decodes("a=%C3&%A9"));
}

TEST(ForEachQueryParam, SplitsAndDecodes) {
  EXPECT_EQ(params(""), pairs{});
  EXPECT_EQ(params("a=1"), (pairs{{"a", "1"}}));
  EXPECT_EQ(params("a=1&a=2"), (pairs{{"a", "1"}, {"a", "2"}}));
  EXPECT_EQ(params("a"), (pairs{{"a", ""}}));
  EXPECT_EQ(params("=v"), (pairs{{"", "v"}}));
  EXPECT_EQ(params("a=&b"), (pairs{{"a", ""}, {"b", ""}}));
  EXPECT_EQ(params("&&"), pairs{});
  EXPECT_EQ(params("&a=1&&b=2&"), (pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(params("="), (pairs{{"", ""}}));
  EXPECT_EQ(params("a=b=c"), (pairs{{"a", "b=c"}}));
  EXPECT_EQ(params("a+b=c+d"), (pairs{{"a b", "c d"}}));
  EXPECT_EQ(params("q=%20x%20"), (pairs{{"q", " x "}}));
  EXPECT_EQ(params("k%3D=v%26w"), (pairs{{"k=", "v&w"}}));
  EXPECT_EQ(params("name=caf%C3%A9"), (pairs{{"name", "caf\xC3\xA9"}}));
  EXPECT_EQ(params("%41%42=%43"), (pairs{{"AB", "C"}}));
}

TEST(ForEachQueryParam, StopsAtUndecodablePiece) {
  std::string q = "a=1&b=%zz&c=3";
  std::vector<char> scratch(q.size());
  pairs got;
  EXPECT_FALSE(for_each_query_param(q, scratch.data(), scratch.size(),
                                    [&](std::string_view n, std::string_view v) {
                                      got.emplace_back(n, v);
                                      return true;
                                    }));
  EXPECT_EQ(got, (pairs{{"a", "1"}}));
  EXPECT_EQ(params("a=%C3"), std::nullopt);
  EXPECT_EQ(params("%FF"), std::nullopt);
  EXPECT_EQ(params("x=1&%zz"), std::nullopt);
  EXPECT_EQ(params("x=%"), std::nullopt);
}

TEST(ForEachQueryParam, CallbackStopsEarly) {
  const std::string_view q = "a=1&b=2&c=3&d=%zz";
  char scratch[32];
  pairs got;
  EXPECT_TRUE(
      for_each_query_param(q, scratch, sizeof scratch, [&](std::string_view n, std::string_view v) {
        got.emplace_back(n, v);
        return n != "b";
      }));
  EXPECT_EQ(got, (pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(ForEachQueryParam, ScratchTooSmall) {
  const std::string_view q = "a=1&b=2";
  char scratch[16];
  int calls = 0;
  EXPECT_FALSE(
      for_each_query_param(q, scratch, q.size() - 1, [&](std::string_view, std::string_view) {
        ++calls;
        return true;
      }));
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(for_each_query_param(q, scratch, q.size(), [&](std::string_view, std::string_view) {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 2);
  // An empty query needs no scratch.
  EXPECT_TRUE(for_each_query_param("", nullptr, 0, [&](std::string_view, std::string_view) {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 2);
}

TEST(ForEachQueryParam, ViewsStayValidAcrossPairs) {
  // Each name and value decodes into its own scratch bytes, so decoding a
  // value never clobbers its name (views outliving the call are this
  // implementation's property, not the contract).
  const std::string_view q = "aaaa=%41%41&b+b=%C3%A9&c=%2B";
  std::vector<char> scratch(q.size(), '#');
  std::vector<std::pair<std::string_view, std::string_view>> views;
  ASSERT_TRUE(for_each_query_param(q, scratch.data(), scratch.size(),
                                   [&](std::string_view n, std::string_view v) {
                                     views.emplace_back(n, v);
                                     return true;
                                   }));
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[0].first, "aaaa");
  EXPECT_EQ(views[0].second, "AA");
  EXPECT_EQ(views[1].first, "b b");
  EXPECT_EQ(views[1].second, "\xC3\xA9");
  EXPECT_EQ(views[2].first, "c");
  EXPECT_EQ(views[2].second, "+");
  for (const auto& [n, v] : views) {
    EXPECT_GE(n.data(), scratch.data());
    EXPECT_LE(n.data() + n.size(), scratch.data() + scratch.size());
    if (!v.empty()) {
      EXPECT_LE(v.data() + v.size(), scratch.data() + scratch.size());
    }
  }
}

TEST(ForEachQueryParam, AgreesWithQueryDecodes) {
  for (const char* q : {"", "a", "a=1&b=%zz", "%C3=%A9", "x=%E2%82%AC&y", "&&=&", "a=%", "%FF=1"}) {
    EXPECT_EQ(params(q).has_value(), query_decodes(q)) << q;
  }
}

}  // namespace
