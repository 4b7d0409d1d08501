#include "tokenguard/detail/bigrams.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace {

using tokenguard::detail::bigram_bit;
using tokenguard::detail::bigram_mask;
using tokenguard::detail::covers;
using tokenguard::detail::fold;
using tokenguard::detail::folded_bigrams;
using tokenguard::detail::folded_text_bigrams;
using tokenguard::detail::text_bigrams;
namespace impl = tokenguard::detail::bigrams_impl;

// The definition, one bit at a time.
bigram_mask reference_bigrams(std::string_view s) {
  bigram_mask m{};
  for (std::size_t i = 1; i < s.size(); ++i) {
    const unsigned bit =
        bigram_bit(static_cast<unsigned char>(s[i - 1]), static_cast<unsigned char>(s[i]));
    m[bit >> 6] |= std::uint64_t{1} << (bit & 63);
  }
  return m;
}

// Texts of every length up to `max_size`, from a small generator: every byte value occurs,
// NUL and bytes of 0x80 and above included.
std::string sample_text(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  std::uint32_t x = seed * 2654435761U + 1;
  for (char& c : s) {
    x = x * 1664525U + 1013904223U;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(Bigrams, TextBigramsMatchTheDefinition) {
  for (std::size_t size = 0; size <= 300; ++size) {
    const std::string s = sample_text(size, static_cast<std::uint32_t>(size));
    EXPECT_EQ(text_bigrams(s), reference_bigrams(s)) << "size " << size;
  }
}

TEST(Bigrams, ShortTextsHaveTheirPairsOnly) {
  EXPECT_EQ(folded_text_bigrams(""), folded_bigrams{});
  EXPECT_EQ(folded_text_bigrams("a"), folded_bigrams{});
  const unsigned ab = bigram_bit('a', 'b') & 127U;
  folded_bigrams expected{};
  expected[ab >> 6] = std::uint64_t{1} << (ab & 63);
  EXPECT_EQ(folded_text_bigrams("ab"), expected);
}

TEST(Bigrams, FoldedBigramsAreTheFoldOfTheFullMask) {
  // Every length from 0 to 300 covers each remainder of the AVX2 path's windows of 8
  // several times over, and the portable path below its minimum size.
  for (std::uint32_t seed = 0; seed < 4; ++seed) {
    for (std::size_t size = 0; size <= 300; ++size) {
      const std::string s = sample_text(size, seed * 1000 + static_cast<std::uint32_t>(size));
      EXPECT_EQ(folded_text_bigrams(s), fold(reference_bigrams(s)))
          << "size " << size << ", seed " << seed;
    }
  }
}

TEST(Bigrams, UrlLikeTextsFoldTheSameWay) {
  const std::string url =
      "https://jira.example.com/rest/api/2/issue/SCRUM7-3/comment/10042/properties/sd.public";
  for (std::size_t size = 0; size <= url.size(); ++size) {
    const std::string_view s(url.data(), size);
    EXPECT_EQ(folded_text_bigrams(s), fold(text_bigrams(s))) << "size " << size;
  }
}

#if TOKENGUARD_X86_AVX2_PATHS
TEST(Bigrams, Avx2PathAgreesWithThePortablePath) {
  if (!tokenguard::detail::cpu_has_avx2()) GTEST_SKIP() << "this processor has no AVX2";
  for (std::uint32_t seed = 0; seed < 8; ++seed) {
    for (std::size_t size = 0; size <= 200; ++size) {
      const std::string s = sample_text(size, seed * 7919 + static_cast<std::uint32_t>(size));
      EXPECT_EQ(impl::folded_avx2(s), impl::folded_portable(s))
          << "size " << size << ", seed " << seed;
    }
  }
  // A bigram only in the last window, and one only in the first.
  std::string s(21, 'x');
  s[19] = 'Q';
  s[20] = 'z';
  EXPECT_EQ(impl::folded_avx2(s), impl::folded_portable(s));
  s.assign(21, 'x');
  s[0] = 'Q';
  EXPECT_EQ(impl::folded_avx2(s), impl::folded_portable(s));
}
#endif

TEST(Bigrams, FoldingKeepsInclusion) {
  // If a text holds every bigram of a literal, its folded mask covers the literal's.
  const std::string url = "https://jira.example.com/rest/api/2/issue/SCRUM7-3/comment/";
  EXPECT_TRUE(covers(folded_text_bigrams(url), fold(text_bigrams("/issue/SCRUM7"))));
  EXPECT_TRUE(covers(folded_text_bigrams(url), fold(text_bigrams("comment"))));
  EXPECT_TRUE(covers(folded_text_bigrams(url), folded_bigrams{}));
  EXPECT_FALSE(covers(folded_bigrams{}, fold(text_bigrams("worklog"))));
}

}  // namespace
