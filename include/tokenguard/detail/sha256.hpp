#ifndef TOKENGUARD_DETAIL_SHA256_HPP
#define TOKENGUARD_DETAIL_SHA256_HPP

/// SHA-256 through OpenSSL's libcrypto. The request path hashes every
/// presented secret, so this uses the low-level interface on a stack context:
/// no allocation and no provider fetch per call (the EVP one-shot calls cost
/// 3-4 times as much because they fetch the algorithm each time).

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tokenguard::detail {

using sha256_digest = std::array<std::uint8_t, 32>;

[[nodiscard]] inline sha256_digest sha256(std::string_view data) noexcept {
  sha256_digest out{};
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out.data(), &ctx);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  return out;
}

/// Constant time: the timing of a digest comparison must not tell an attacker
/// how many leading bytes matched. Four 64-bit words, XORed and ORed together
/// with no branch before the one answer (what CRYPTO_memcmp does a byte at a
/// time, without the call: every probe of a lookup pays it).
[[nodiscard]] inline bool digest_equal(const sha256_digest& a, const sha256_digest& b) noexcept {
  std::uint64_t difference = 0;
  for (std::size_t i = 0; i < a.size(); i += 8) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    difference |= x ^ y;
  }
  return difference == 0;
}

[[nodiscard]] inline std::string to_hex(const sha256_digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < d.size(); ++i) {
    out[2 * i] = digits[d[i] >> 4];
    out[2 * i + 1] = digits[d[i] & 0x0F];
  }
  return out;
}

/// Accepts upper- or lower-case hex; exactly 64 digits.
[[nodiscard]] inline std::optional<sha256_digest> parse_hex_digest(std::string_view hex) noexcept {
  // A table, not a chain of range tests: a secure store parses one digest a
  // token, and the branches cost more than the rest of loading it.
  static constexpr auto nibbles = [] {
    std::array<std::uint8_t, 256> t{};
    t.fill(0xFF);
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) {
      t['a' + c] = static_cast<std::uint8_t>(10 + c);
      t['A' + c] = static_cast<std::uint8_t>(10 + c);
    }
    return t;
  }();
  if (hex.size() != 64) return std::nullopt;
  sha256_digest out{};
  std::uint8_t invalid = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t hi = nibbles[static_cast<unsigned char>(hex[2 * i])];
    const std::uint8_t lo = nibbles[static_cast<unsigned char>(hex[2 * i + 1])];
    invalid |= static_cast<std::uint8_t>(hi | lo);
    out[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0F));
  }
  if ((invalid & 0xF0) != 0) return std::nullopt;
  return out;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_SHA256_HPP
