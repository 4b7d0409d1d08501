#ifndef TOKENGUARD_DETAIL_BIGRAMS_HPP
#define TOKENGUARD_DETAIL_BIGRAMS_HPP

/// Sets of byte pairs (bigrams), hashed to bits. A rule set screens each of its
/// lines with the bigrams its regex needs against those of the URL, touching
/// neither the line nor its matcher when one is missing: with many lines on one
/// URL prefix, most lines are decided by a couple of AND-NOTs.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The URL's bigrams have an AVX2 path, chosen at run time.
#include "tokenguard/detail/cpu_features.hpp"

namespace tokenguard::detail {

/// Bigrams hashed to 256 bits: what a prefilter computes for its literals at compile time.
using bigram_mask = std::array<std::uint64_t, 4>;

[[nodiscard]] constexpr unsigned bigram_bit(unsigned char first, unsigned char second) noexcept {
  return (first * 31U + second) & 255U;
}

/// The bigrams of `s`. A byte a bigram, gathered into bits at the end: setting bits one by
/// one chains every step through the same four words (70 ns for an 80-byte URL, 44 to 48 so).
[[nodiscard]] inline bigram_mask text_bigrams(std::string_view s) noexcept {
  alignas(16) std::array<unsigned char, 256> seen{};
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 1; i < s.size(); ++i) seen[bigram_bit(p[i - 1], p[i])] = 0x80;
  bigram_mask m{};
#if defined(__SSE2__)
  for (std::size_t k = 0; k < 16; ++k) {
    const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(seen.data() + 16 * k));
    const auto bits = static_cast<std::uint32_t>(_mm_movemask_epi8(bytes));
    m[k >> 2] |= std::uint64_t{bits} << (16 * (k & 3));
  }
#else
  for (std::size_t k = 0; k < seen.size(); ++k) {
    m[k >> 6] |= std::uint64_t{static_cast<unsigned>(seen[k] >> 7)} << (k & 63);
  }
#endif
  return m;
}

/// Whether `have` holds every bigram of `need`.
[[nodiscard]] inline bool covers(const bigram_mask& have, const bigram_mask& need) noexcept {
  return ((need[0] & ~have[0]) | (need[1] & ~have[1]) | (need[2] & ~have[2]) |
          (need[3] & ~have[3])) == 0;
}

/// Bigram masks folded from 256 to 128 bits (bit b to b mod 128), what the screen compares:
/// a rule set's candidate in 32 bytes rather than 48, 40 ns off 16 cold candidates. Folding keeps
/// inclusion, so a line the URL may match is never screened out; an 80-byte URL sets about 55 of
/// the 128 bits, so a line that lacks 6 of its bigrams is still ruled out 99 times in 100.
using folded_bigrams = std::array<std::uint64_t, 2>;

[[nodiscard]] constexpr folded_bigrams fold(const bigram_mask& m) noexcept {
  return {m[0] | m[2], m[1] | m[3]};
}

[[nodiscard]] constexpr bool covers(const folded_bigrams& have,
                                    const folded_bigrams& need) noexcept {
  return ((need[0] & ~have[0]) | (need[1] & ~have[1])) == 0;
}

namespace bigrams_impl {

[[nodiscard]] inline folded_bigrams folded_portable(std::string_view s) noexcept {
  return fold(text_bigrams(s));
}

#if TOKENGUARD_X86_AVX2_PATHS
/// Texts shorter than this go the portable way (one window of 8 bigrams needs 9 bytes).
inline constexpr std::size_t avx2_min_size = 9;

/// Eight bigrams a step, each hashed in a 32-bit lane and turned into its bit by variable
/// shifts: a shift by 32 or more gives 0, so shifting 1 by h, h-32, h-64 and h-96 sets the
/// bit in whichever of the four 32-bit words holds it, with no table in memory. The table
/// of the portable path costs a store a bigram, and those stores are what it waits on (an
/// 80-byte URL: 44 ns there, 22 here). The last window overlaps the one before it where
/// the count is not a multiple of 8: setting a bit twice changes nothing.
[[nodiscard, gnu::target("avx2")]] inline folded_bigrams folded_avx2(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  if (n < avx2_min_size) return folded_portable(s);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i low7 = _mm256_set1_epi32(127);
  const __m256i by32 = _mm256_set1_epi32(32);
  const __m256i by64 = _mm256_set1_epi32(64);
  const __m256i by96 = _mm256_set1_epi32(96);
  __m256i w0 = _mm256_setzero_si256();
  __m256i w1 = w0;
  __m256i w2 = w0;
  __m256i w3 = w0;
  // Window i covers the bigrams ending at bytes i .. i+7.
  for (std::size_t i = 1;; i += 8) {
    if (i + 8 > n) i = n - 8;
    std::uint64_t firsts = 0;
    std::uint64_t seconds = 0;
    std::memcpy(&firsts, p + i - 1, 8);
    std::memcpy(&seconds, p + i, 8);
    const __m256i a = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(firsts)));
    const __m256i b = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(seconds)));
    // bigram_bit(a, b) mod 128: (a * 31 + b) & 127.
    const __m256i h =
        _mm256_and_si256(_mm256_add_epi32(_mm256_sub_epi32(_mm256_slli_epi32(a, 5), a), b), low7);
    w0 = _mm256_or_si256(w0, _mm256_sllv_epi32(one, h));
    w1 = _mm256_or_si256(w1, _mm256_sllv_epi32(one, _mm256_sub_epi32(h, by32)));
    w2 = _mm256_or_si256(w2, _mm256_sllv_epi32(one, _mm256_sub_epi32(h, by64)));
    w3 = _mm256_or_si256(w3, _mm256_sllv_epi32(one, _mm256_sub_epi32(h, by96)));
    if (i + 8 == n) break;
  }
  // Lane k of w0..w3 holds bits of the 32-bit words 0..3; OR the eight lanes of each.
  const __m256i low_words =
      _mm256_or_si256(_mm256_unpacklo_epi32(w0, w1), _mm256_unpackhi_epi32(w0, w1));
  const __m256i high_words =
      _mm256_or_si256(_mm256_unpacklo_epi32(w2, w3), _mm256_unpackhi_epi32(w2, w3));
  const __m256i halves = _mm256_or_si256(_mm256_unpacklo_epi64(low_words, high_words),
                                         _mm256_unpackhi_epi64(low_words, high_words));
  const __m128i both =
      _mm_or_si128(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
  folded_bigrams m{};
  std::memcpy(m.data(), &both, sizeof(m));
  return m;
}
#endif

}  // namespace bigrams_impl

/// fold(text_bigrams(s)), computed straight into 128 bits: the URL's bigrams, once per
/// decision that reaches a screened rule set.
[[nodiscard]] inline folded_bigrams folded_text_bigrams(std::string_view s) noexcept {
#if TOKENGUARD_X86_AVX2_PATHS
  return cpu_has_avx2() ? bigrams_impl::folded_avx2(s) : bigrams_impl::folded_portable(s);
#else
  return bigrams_impl::folded_portable(s);
#endif
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_BIGRAMS_HPP
