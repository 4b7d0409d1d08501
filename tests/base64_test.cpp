#include "tokenguard/detail/base64.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using tokenguard::detail::base64_decode_strict;
using tokenguard::detail::base64_encode;
using tokenguard::detail::base64_max_decoded_size;

/// Decodes into an exactly sized buffer so that ASan catches an overrun.
std::optional<std::string> decode(std::string_view in) {
  std::vector<char> buf(base64_max_decoded_size(in.size()));
  std::size_t n = 12345;
  if (!base64_decode_strict(in, buf.data(), n)) {
    EXPECT_EQ(n, 0u) << "out_len must be 0 on failure";
    return std::nullopt;
  }
  EXPECT_LE(n, buf.size());
  return std::string(buf.data(), n);
}

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

TEST(Base64, MaxDecodedSize) {
  static_assert(base64_max_decoded_size(0) == 0);
  static_assert(base64_max_decoded_size(4) == 3);
  static_assert(base64_max_decoded_size(8) == 6);
  static_assert(base64_max_decoded_size(5) == 6);  // rounded up, never too small
  EXPECT_EQ(base64_max_decoded_size(4096), 3072u);
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(decode(encoded), std::string(plain)) << encoded;
  }
}

TEST(Base64, EmptyDecodesToEmpty) {
  std::size_t n = 7;
  EXPECT_TRUE(base64_decode_strict("", nullptr, n));
  EXPECT_EQ(n, 0u);
}

TEST(Base64, RoundTripRandomBytesAllLengths) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t len = 0; len <= 64; ++len) {
    for (int trial = 0; trial < 16; ++trial) {
      std::string plain(len, '\0');
      for (char& c : plain) c = static_cast<char>(byte(rng));
      const std::string encoded = base64_encode(plain);
      ASSERT_EQ(encoded.size(), (len + 2) / 3 * 4);
      const auto back = decode(encoded);
      ASSERT_TRUE(back.has_value()) << encoded;
      ASSERT_EQ(*back, plain) << "length " << len;
    }
  }
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::string plain;
  for (int i = 0; i < 256; ++i) plain += static_cast<char>(i);
  EXPECT_EQ(decode(base64_encode(plain)), plain);
}

TEST(Base64, EveryAlphabetCharacterDecodes) {
  // Each character in each position of a full quad: exercises every branch-free range.
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    const std::string quad = std::string(3, 'A') + alphabet[i];
    const auto out = decode(quad);
    ASSERT_TRUE(out.has_value()) << quad;
    ASSERT_EQ(out->size(), 3u);
    EXPECT_EQ(static_cast<unsigned char>((*out)[2]), i) << quad;
  }
}

TEST(Base64, EverySingleInvalidCharacterIsRefused) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (alphabet.find(c) != std::string_view::npos) continue;
    // In each of the four positions of a quad (a '=' at the end is padding, tested apart).
    for (std::size_t pos = 0; pos < 4; ++pos) {
      if (c == '=' && pos >= 2) continue;
      std::string s = "QUJD";
      s[pos] = c;
      EXPECT_FALSE(decode(s).has_value()) << "byte " << b << " at " << pos;
      std::string longer = "QUJDQUJD";
      longer[pos] = c;
      EXPECT_FALSE(decode(longer).has_value()) << "byte " << b << " at " << pos;
    }
  }
}

TEST(Base64, MisplacedPadding) {
  EXPECT_FALSE(decode("=").has_value());
  EXPECT_FALSE(decode("==").has_value());
  EXPECT_FALSE(decode("===").has_value());
  EXPECT_FALSE(decode("====").has_value());
  EXPECT_FALSE(decode("A===").has_value());
  EXPECT_FALSE(decode("QQ===").has_value());
  EXPECT_FALSE(decode("=QQQ").has_value());
  EXPECT_FALSE(decode("Q=QQ").has_value());
  EXPECT_FALSE(decode("QQ=Q").has_value());  // '=' then data
  EXPECT_FALSE(decode("Q=Q=").has_value());
  EXPECT_FALSE(decode("QQ==QUJD").has_value());  // '=' in the middle
  EXPECT_FALSE(decode("QUI=QUJD").has_value());
  EXPECT_FALSE(decode("QUJDQ===").has_value());
  EXPECT_FALSE(decode("QUJD====").has_value());
}

TEST(Base64, LengthNotMultipleOfFour) {
  EXPECT_FALSE(decode("Q").has_value());
  EXPECT_FALSE(decode("QQ").has_value());
  EXPECT_FALSE(decode("QUI").has_value());  // unpadded
  EXPECT_FALSE(decode("QUJDR").has_value());
  EXPECT_FALSE(decode("QUJDRA=").has_value());
  EXPECT_FALSE(decode("QUJDRA===").has_value());
}

TEST(Base64, NonZeroPaddingBitsRefused) {
  EXPECT_EQ(decode("QQ=="), "A");
  EXPECT_FALSE(decode("QR==").has_value());
  EXPECT_FALSE(decode("QX==").has_value());
  EXPECT_EQ(decode("QUI="), "AB");
  EXPECT_FALSE(decode("QUJ=").has_value());
  EXPECT_FALSE(decode("QUL=").has_value());
  // Every second character of an "X?==" quad: only those with zero low 4 bits pass.
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    const std::string s = std::string("Q") + alphabet[i] + "==";
    EXPECT_EQ(decode(s).has_value(), (i & 0x0f) == 0) << s;
  }
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    const std::string s = std::string("QU") + alphabet[i] + "=";
    EXPECT_EQ(decode(s).has_value(), (i & 0x03) == 0) << s;
  }
}

TEST(Base64, UrlSafeAlphabetRefused) {
  EXPECT_EQ(decode("+/+/"), std::string("\xfb\xff\xbf", 3));
  EXPECT_FALSE(decode("-_-_").has_value());
  EXPECT_FALSE(decode("QUJ-").has_value());
  EXPECT_FALSE(decode("QUJ_").has_value());
}

TEST(Base64, WhitespaceRefused) {
  EXPECT_FALSE(decode(" QUJD").has_value());
  EXPECT_FALSE(decode("QUJD ").has_value());
  EXPECT_FALSE(decode("QU JD").has_value());
  EXPECT_FALSE(decode("QUJD\nQUJD").has_value());
  EXPECT_FALSE(decode("QUJD\r\n").has_value());
  EXPECT_FALSE(decode("QU\tJ").has_value());
  EXPECT_FALSE(decode("QUJDQUJ\n").has_value());
}

TEST(Base64, NulRefused) {
  EXPECT_FALSE(decode(std::string_view("QUJ\0", 4)).has_value());
  EXPECT_FALSE(decode(std::string_view("\0\0\0\0", 4)).has_value());
}

TEST(Base64, DecodesIntoOffsetBuffer) {
  char buf[16] = {};
  std::size_t n = 0;
  ASSERT_TRUE(base64_decode_strict("dXNlcjpwYXNz", buf + 1, n));
  EXPECT_EQ(std::string_view(buf + 1, n), "user:pass");
  EXPECT_EQ(buf[0], '\0');
  EXPECT_EQ(buf[10], '\0');
}

}  // namespace

namespace {

/// The decoder as RFC 4648 states it, one character at a time with a lookup:
/// the reference that the block decoders must agree with.
std::optional<std::string> reference_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < in.size() - pad; ++i) {
    const std::size_t v = alphabet.find(in[i]);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

/// The public decoder (the widest block the target has) and each block
/// decoder on its own, so that the portable one is tested on x86-64 too.
template <class Block>
std::optional<std::string> decode_by_blocks(std::string_view in) {
  std::vector<char> buf(base64_max_decoded_size(in.size()));
  std::size_t n = 12345;
  if (!tokenguard::detail::base64_impl::decode_strict<Block>(in, buf.data(), n)) {
    EXPECT_EQ(n, 0u) << "out_len must be 0 on failure";
    return std::nullopt;
  }
  return std::string(buf.data(), n);
}

using decoder = std::optional<std::string> (*)(std::string_view);
const std::vector<std::pair<std::string_view, decoder>> decoders = [] {
  std::vector<std::pair<std::string_view, decoder>> all = {
      {"base64_decode_strict", &decode},
      {"swar_block", &decode_by_blocks<tokenguard::detail::base64_impl::swar_block>},
#if defined(__SSE2__)
      {"sse2_block", &decode_by_blocks<tokenguard::detail::base64_impl::sse2_block>},
#endif
  };
#if TOKENGUARD_X86_AVX2_PATHS
  // Only where the processor runs it (base64_decode_strict asks the same question).
  if (tokenguard::detail::cpu_has_avx2()) {
    all.emplace_back("avx2_block", &decode_by_blocks<tokenguard::detail::base64_impl::avx2_block>);
  }
#endif
  return all;
}();

TEST(Base64, TheAvx2BlockIsTestedWhereTheProcessorHasIt) {
#if TOKENGUARD_X86_AVX2_PATHS
  if (!tokenguard::detail::cpu_has_avx2()) GTEST_SKIP() << "this processor has no AVX2";
  EXPECT_EQ(decoders.back().first, "avx2_block");
  // One block exactly, and one and a bit (the last block overlaps the first).
  EXPECT_EQ(decoders.back().second("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk"),
            std::optional<std::string>("ABCDEFGHIJKLMNOPQRSTUVWXYZabcd"));
  EXPECT_EQ(decoders.back().second("dXNlcjQ3OmFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3"),
            std::optional<std::string>("user47:abcdefghijklmnopqrstuvw"));
#else
  GTEST_SKIP() << "no AVX2 path on this target";
#endif
}

TEST(Base64, BlockPathAgreesWithReferenceForEveryByteInEveryLane) {
  // Lengths 4 to 20 are shorter than a block or a block and a little; 24 and
  // 40 end in a last block that overlaps the one before it; "ZQ==" and "ZXI="
  // put padding in that last block; 64 and 68 are two 32-character blocks and
  // two and a bit.
  const std::string valid24 = "QWxhZGRpbjpvcGVuIHNlc2Ft";
  const std::string valid40 = "dXNlcjE6c2VjcmV0LXNlY3JldC1zZWNyZXQtMDAx";
  const std::vector<std::string> bases = {"ZQ==",
                                          "ZXI=",
                                          "ZXIx",
                                          "dXNlcjpwYXNz",
                                          "dXNlcjpwYQ==",
                                          "dXNlcjE6c2VjcmV0",
                                          "dXNlcjE6c2VjcmV0ZQ==",
                                          valid24,
                                          valid24 + "ZQ==",
                                          valid24 + "ZXI=",
                                          valid40,
                                          valid40 + "ZQ==",
                                          valid40 + "ZXI=",
                                          valid40 + valid24,
                                          valid40 + valid24 + "ZXI="};
  for (const auto& [name, decoder] : decoders) {
    for (const std::string& base : bases) {
      ASSERT_TRUE(reference_decode(base).has_value()) << base;
      ASSERT_EQ(decoder(base), reference_decode(base)) << name;
      for (std::size_t pos = 0; pos < base.size(); ++pos) {
        for (int b = 0; b < 256; ++b) {
          std::string s = base;
          s[pos] = static_cast<char>(b);
          ASSERT_EQ(decoder(s), reference_decode(s)) << name << ": byte " << b << " at " << pos;
        }
      }
    }
  }
}

TEST(Base64, RandomStringsAgreeWithReference) {
  std::mt19937_64 rng(20261128);
  const std::string pool = std::string(alphabet) + "=-_ \t\x80\xff.:";
  std::size_t accepted = 0;
  for (int n = 0; n < 200000; ++n) {
    const std::size_t len = 4 * (rng() % 41);  // up to 160: 16-character blocks and tails
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      // Mostly alphabet characters, so that a good share of inputs is valid.
      s.push_back(rng() % 64 != 0 ? alphabet[rng() % 64] : pool[rng() % pool.size()]);
    }
    if (len >= 4 && rng() % 3 == 0) s[len - 1] = '=';
    const auto expected = reference_decode(s);
    for (const auto& [name, decoder] : decoders)
      ASSERT_EQ(decoder(s), expected) << name << ": " << s;
    accepted += expected.has_value() ? 1 : 0;
  }
  EXPECT_GT(accepted, 10000U);  // the comparison covered both answers
}

}  // namespace
