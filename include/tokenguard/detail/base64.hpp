#ifndef TOKENGUARD_DETAIL_BASE64_HPP
#define TOKENGUARD_DETAIL_BASE64_HPP

/// Strict RFC 4648 section 4 base64. Only the canonical encoding of a byte
/// string is accepted, so one secret has exactly one accepted spelling.
///
/// The decoder maps characters with arithmetic instead of a lookup table and
/// scans the whole input before answering, because what it decodes is a Basic
/// secret: neither cache timing nor an early exit should depend on its bytes.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tokenguard/detail/cpu_features.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokenguard::detail {

/// Bytes that decoding `encoded` input characters may produce (rounded up, so
/// any length is safe to size a buffer with).
[[nodiscard]] constexpr std::size_t base64_max_decoded_size(std::size_t encoded) noexcept {
  return encoded / 4 * 3 + (encoded % 4 != 0 ? 3 : 0);
}

namespace base64_impl {

/// Eight characters at once in the lanes of a 64-bit word (SWAR): no branch
/// and no table depends on the bytes. Writes the 6 decoded bytes to out, with
/// 0 for each character outside the alphabet; returns a word whose lane high
/// bits are set for those characters (lane i holds in[i]).
[[nodiscard]] inline std::uint64_t decode_block8(const char* in, char* out) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::uint64_t x = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&x, in, 8);
  } else {
    for (int i = 7; i >= 0; --i) x = (x << 8) | static_cast<unsigned char>(in[i]);
  }
  const std::uint64_t non_ascii = x & highs;
  const std::uint64_t low7 = x & ~highs;
  // Lane bit 7 is set exactly where the lane's 7-bit value is >= c (no carry
  // crosses lanes: both addends are below 0x80).
  const auto at_least = [low7](unsigned c) noexcept { return (low7 + (0x80 - c) * ones) & highs; };
  const auto in_range = [&at_least, non_ascii](unsigned lo, unsigned hi) noexcept {
    return at_least(lo) & ~at_least(hi + 1) & ~non_ascii;
  };
  // Full-lane masks (0xff where the class holds).
  const std::uint64_t upper = (in_range('A', 'Z') >> 7) * 0xff;
  const std::uint64_t lower = (in_range('a', 'z') >> 7) * 0xff;
  const std::uint64_t digit = (in_range('0', '9') >> 7) * 0xff;
  const std::uint64_t plus = (in_range('+', '+') >> 7) * 0xff;
  const std::uint64_t slash = (in_range('/', '/') >> 7) * 0xff;
  const std::uint64_t valid = upper | lower | digit | plus | slash;
  // Per-lane offsets mod 256: 'A' -> 0, 'a' -> 26, '0' -> 52, '+' -> 62, '/' -> 63.
  const std::uint64_t offset = (upper & (0xbf * ones)) | (lower & (0xb9 * ones)) |
                               (digit & (0x04 * ones)) | (plus & (0x13 * ones)) |
                               (slash & (0x10 * ones));
  // Lane-wise add mod 256: low7 has no high bits, so only the offset's high bit is added apart.
  const std::uint64_t v = ((low7 + (offset & ~highs)) ^ (offset & highs)) & (0x3f * ones) & valid;
  // 6-bit lanes -> 12-bit values in 16-bit lanes -> 24-bit values in 32-bit lanes.
  const std::uint64_t pairs =
      ((v & 0x00ff00ff00ff00ffULL) << 6) | ((v >> 8) & 0x00ff00ff00ff00ffULL);
  const std::uint64_t quads =
      ((pairs & 0x0000ffff0000ffffULL) << 12) | ((pairs >> 16) & 0x0000ffff0000ffffULL);
  out[0] = static_cast<char>(quads >> 16);
  out[1] = static_cast<char>(quads >> 8);
  out[2] = static_cast<char>(quads);
  out[3] = static_cast<char>(quads >> 48);
  out[4] = static_cast<char>(quads >> 40);
  out[5] = static_cast<char>(quads >> 32);
  return ~valid & highs;
}

/// The portable block: eight characters, six bytes, one bit per character in
/// what decode() returns for those outside the alphabet.
struct swar_block {
  static constexpr std::size_t chars = 8;
  [[nodiscard]] static unsigned decode(const char* in, char* out) noexcept {
    const std::uint64_t bad = decode_block8(in, out);
    // Lane high bits (bit 8i+7) -> bit i.
    return static_cast<unsigned>(((bad >> 7) * 0x0102040810204080ULL) >> 56);
  }
};

#if defined(__SSE2__)
/// Sixteen characters at once with SSE2 (part of every x86-64), the same
/// classes and offsets as decode_block8: compares and masks, no branch and no
/// table on the bytes. Writes exactly 12 bytes to out, with 0 for each
/// character outside the alphabet; returns one bit per such character.
struct sse2_block {
  static constexpr std::size_t chars = 16;
  [[nodiscard]] static unsigned decode(const char* in, char* out) noexcept {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    // Signed compares: a byte >= 0x80 is negative, so it falls in no class.
    const auto in_range = [x](char lo, char hi) noexcept {
      return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i upper = in_range('A', 'Z');
    const __m128i lower = in_range('a', 'z');
    const __m128i digit = in_range('0', '9');
    const __m128i plus = _mm_cmpeq_epi8(x, _mm_set1_epi8('+'));
    const __m128i slash = _mm_cmpeq_epi8(x, _mm_set1_epi8('/'));
    const __m128i valid =
        _mm_or_si128(_mm_or_si128(_mm_or_si128(upper, lower), _mm_or_si128(digit, plus)), slash);
    // Per-lane offsets mod 256: 'A' -> 0, 'a' -> 26, '0' -> 52, '+' -> 62, '/' -> 63.
    const __m128i offset =
        _mm_or_si128(_mm_or_si128(_mm_and_si128(upper, _mm_set1_epi8(-65)),
                                  _mm_and_si128(lower, _mm_set1_epi8(-71))),
                     _mm_or_si128(_mm_or_si128(_mm_and_si128(digit, _mm_set1_epi8(4)),
                                               _mm_and_si128(plus, _mm_set1_epi8(19))),
                                  _mm_and_si128(slash, _mm_set1_epi8(16))));
    const __m128i v =
        _mm_and_si128(_mm_and_si128(_mm_add_epi8(x, offset), _mm_set1_epi8(0x3f)), valid);
    // 6-bit lanes -> 12-bit values in 16-bit lanes -> 24-bit values in 32-bit lanes.
    const __m128i pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), 6),
                                       _mm_srli_epi16(v, 8));
    const __m128i quads =
        _mm_or_si128(_mm_slli_epi32(_mm_and_si128(pairs, _mm_set1_epi32(0x0000ffff)), 12),
                     _mm_srli_epi32(pairs, 16));
    // Each 64-bit half holds two 24-bit values, the first character's group
    // in the low one; its six bytes, most significant first, are stored as one.
    const auto six_bytes = [](std::uint64_t two) noexcept {
      const std::uint64_t joined = ((two & 0xffffffU) << 24) | (two >> 32);
      return __builtin_bswap64(joined << 16);  // x86-64 is little-endian
    };
    const auto low = static_cast<std::uint64_t>(_mm_cvtsi128_si64(quads));
    const auto high =
        static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(quads, quads)));
    const std::uint64_t first = six_bytes(low);
    const std::uint64_t second = six_bytes(high);
    std::memcpy(out, &first, 8);  // its last two bytes are rewritten just below
    std::memcpy(out + 6, &second, 6);
    return static_cast<unsigned>(_mm_movemask_epi8(valid)) ^ 0xFFFFU;
  }
};
using wide_block = sse2_block;
#else
using wide_block = swar_block;
#endif

#if TOKENGUARD_X86_AVX2_PATHS
/// Thirty-two characters at once with AVX2, chosen at run time: each
/// character classified and given its offset by byte shuffles on its nibbles
/// (Muła and Lemire's method: three table lookups where range compares took
/// twenty-odd instructions), the 6-bit values joined by two multiply-adds,
/// then the 24 bytes gathered with a byte shuffle in each half and a move of
/// 32-bit words across them. A Basic header's 40 to 60 characters take two
/// steps rather than four. Writes exactly 24 bytes to out; returns one bit per
/// character outside the alphabet, whose bits decode to zero.
struct avx2_block {
  static constexpr std::size_t chars = 32;
  [[nodiscard, gnu::target("avx2")]] static unsigned decode(const char* in, char* out) noexcept {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in));
    // Muła and Lemire's tables: a character is valid when the bits its low and high nibbles
    // select have none in common, and its value is itself plus an offset its high nibble
    // selects ('/', alone in its row, one place down). pshufb reads bits 0-3 and 7 of an
    // index; the 0x2F mask clears bit 7 and keeps bits a shift brings in out of the way.
    const __m256i lo_bits =
        _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A,
                         0x1B, 0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                         0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i hi_bits =
        _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i offsets =
        _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4,
                         -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i mask_2f = _mm256_set1_epi8(0x2f);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(x, 4), mask_2f);
    const __m256i lo = _mm256_and_si256(x, mask_2f);
    const __m256i invalid = _mm256_cmpgt_epi8(
        _mm256_and_si256(_mm256_shuffle_epi8(lo_bits, lo), _mm256_shuffle_epi8(hi_bits, hi)),
        _mm256_setzero_si256());
    const __m256i offset =
        _mm256_shuffle_epi8(offsets, _mm256_add_epi8(_mm256_cmpeq_epi8(x, mask_2f), hi));
    // Invalid characters (the padding's '=' among them) decode to zero bits.
    const __m256i v = _mm256_andnot_si256(invalid, _mm256_add_epi8(x, offset));
    // 6-bit lanes -> 12-bit values in 16-bit lanes -> 24-bit values in 32-bit lanes.
    const __m256i quads = _mm256_madd_epi16(_mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140)),
                                            _mm256_set1_epi32(0x00011000));
    // Each 32-bit lane's three bytes, most significant first, to the front of its half;
    // then the halves' twelve bytes side by side.
    const __m256i bytes = _mm256_shuffle_epi8(
        quads, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6,
                                5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
    const __m256i joined =
        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(joined));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + 16), _mm256_extracti128_si256(joined, 1));
    return static_cast<unsigned>(_mm256_movemask_epi8(invalid));
  }
};
#endif

/// Decodes with Block: whole blocks from the start, then one last block over
/// the input's final Block::chars characters (it overlaps the one before it
/// and rewrites the same bytes), in which the padding's '=' are not checked
/// and decode to zero bits. An input shorter than a block is decoded from a
/// copy widened with 'A' (zero bits).
template <class Block>
[[nodiscard]] bool decode_strict(std::string_view in, char* out, std::size_t& out_len) noexcept {
  constexpr std::size_t width = Block::chars;
  constexpr std::size_t bytes = width / 4 * 3;
  out_len = 0;
  if (in.size() % 4 != 0) return false;
  if (in.empty()) return true;

  // Lengths and padding are public; only the data characters are secret.
  std::size_t pad = 0;
  if (in[in.size() - 1] == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  const std::size_t decoded = in.size() / 4 * 3 - pad;

  unsigned bad = 0;
  char first_pad_byte = 0;
  if (in.size() < width) {
    char wide_in[width];
    char wide_out[bytes];
    std::memset(wide_in, 'A', width);
    std::memcpy(wide_in, in.data(), in.size());
    bad = Block::decode(wide_in, wide_out) & ((1U << (in.size() - pad)) - 1);  // size < 32
    std::memcpy(out, wide_out, decoded);
    first_pad_byte = wide_out[decoded];
  } else {
    std::size_t i = 0;
    std::size_t n = 0;
    for (; i + width < in.size(); i += width, n += bytes)
      bad |= Block::decode(in.data() + i, out + n);
    const std::size_t last = in.size() - width;  // a multiple of 4, like the size
    // Which of the last block's characters are data (a 32-character block: all 32 bits).
    const unsigned data = width - pad >= 32 ? ~0U : (1U << (width - pad)) - 1;
    bad |= Block::decode(in.data() + last, out + last / 4 * 3) & data;
    if (pad != 0) first_pad_byte = out[decoded];
  }
  // The bits the padding leaves over (2 with one '=', 4 with two) must be zero:
  // they are the high bits of the first byte the padding covers.
  if (bad != 0 || first_pad_byte != 0) return false;
  out_len = decoded;
  return true;
}

inline constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace base64_impl

/// Strict RFC 4648 section 4 base64 (alphabet A-Z a-z 0-9 + /, '=' padding):
/// length a multiple of 4, padding only as the last one or two characters, no
/// whitespace, no URL-safe alphabet, and the unused low bits before padding
/// must be zero (canonical encoding only). Empty input decodes to empty.
/// Writes to out (needs base64_max_decoded_size(in.size()) bytes, all of which
/// it may write). On failure out_len is 0 and the bytes of out are unspecified.
[[nodiscard]] inline bool base64_decode_strict(std::string_view in, char* out,
                                               std::size_t& out_len) noexcept {
#if TOKENGUARD_X86_AVX2_PATHS
  // Below one 32-character block the input is widened to one anyway: the 16-character one.
  if (in.size() >= base64_impl::avx2_block::chars && cpu_has_avx2()) {
    return base64_impl::decode_strict<base64_impl::avx2_block>(in, out, out_len);
  }
#endif
  return base64_impl::decode_strict<base64_impl::wide_block>(in, out, out_len);
}

/// For tests and tools: standard padded encoding.
[[nodiscard]] inline std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t w = (std::uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(in[i + 2])};
    out += base64_impl::alphabet[(w >> 18) & 0x3f];
    out += base64_impl::alphabet[(w >> 12) & 0x3f];
    out += base64_impl::alphabet[(w >> 6) & 0x3f];
    out += base64_impl::alphabet[w & 0x3f];
  }
  const std::size_t rest = in.size() - i;
  if (rest != 0) {
    std::uint32_t w = std::uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (rest == 2) w |= std::uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    out += base64_impl::alphabet[(w >> 18) & 0x3f];
    out += base64_impl::alphabet[(w >> 12) & 0x3f];
    out += rest == 2 ? base64_impl::alphabet[(w >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_BASE64_HPP
