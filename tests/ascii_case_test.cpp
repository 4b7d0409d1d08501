// detail/ascii_case.hpp: the word-at-a-time case folding against the byte-at-a-time
// definition, and method_bit, which the request path builds on it.

#include "tokenguard/detail/ascii_case.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "tokenguard/rules.hpp"

namespace {

using tokenguard::detail::ascii_upper;
using tokenguard::detail::iequals_ascii;
using tokenguard::detail::known_methods;
using tokenguard::detail::method_bit;
using tokenguard::detail::upper_packed;

bool iequals_by_byte(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

// Each byte's case flipped when it is a letter.
std::string flip_case(std::string s) {
  for (char& c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) c = static_cast<char>(c ^ 0x20);
  }
  return s;
}

static_assert(iequals_ascii("Content-Type", "content-TYPE"));
static_assert(!iequals_ascii("user@", "USER`"));  // '@' and '`' differ by the case bit only
static_assert(method_bit("post") == method_bit("POST") && method_bit("POST") != 0);
static_assert(method_bit("GETS") == 0 && method_bit("") == 0);

TEST(AsciiCase, EveryBytePairFoldsAsTheDefinition) {
  // Every pair of bytes, at each lane of a word and in the overlapping tail of a longer string.
  for (int x = 0; x < 256; ++x) {
    for (int y = 0; y < 256; ++y) {
      for (const std::size_t size : {1U, 3U, 7U, 8U, 11U}) {
        std::string a(size, 'q');
        std::string b(size, 'Q');
        const std::size_t at =
            (static_cast<std::size_t>(x) * 7 + static_cast<std::size_t>(y)) % size;
        a[at] = static_cast<char>(x);
        b[at] = static_cast<char>(y);
        ASSERT_EQ(iequals_ascii(a, b), iequals_by_byte(a, b)) << x << " " << y << " size " << size;
      }
    }
  }
}

TEST(AsciiCase, RandomStringsOfEveryLength) {
  std::mt19937_64 random(20261204);
  for (std::size_t size = 0; size <= 40; ++size) {
    for (int round = 0; round < 400; ++round) {
      std::string a(size, '\0');
      for (char& c : a) c = static_cast<char>(random() % 256);
      std::string b = flip_case(a);
      EXPECT_TRUE(iequals_ascii(a, b)) << "size " << size;
      if (size == 0) continue;
      // One byte changed anywhere, to any other value: equal only when it is the other case.
      const std::size_t at = random() % size;
      b[at] = static_cast<char>(random() % 256);
      ASSERT_EQ(iequals_ascii(a, b), iequals_by_byte(a, b)) << "size " << size << " at " << at;
      ASSERT_EQ(iequals_ascii(b, a), iequals_by_byte(a, b));
      // Strings of different sizes are never equal, even where one is a prefix of the other.
      EXPECT_FALSE(iequals_ascii(a, std::string_view(a).substr(0, size - 1)));
    }
  }
}

TEST(AsciiCase, ComparesOnlyTheViewsBytes) {
  // Views into a longer buffer: the bytes around them must not count.
  const std::string buffer = "xxADMINxxadminXX";
  EXPECT_TRUE(iequals_ascii(std::string_view(buffer).substr(2, 5), "admin"));
  EXPECT_TRUE(iequals_ascii(std::string_view(buffer).substr(9, 5), "ADMIN"));
  EXPECT_TRUE(iequals_ascii(std::string_view(buffer).substr(2, 6), "adminX"));
  EXPECT_FALSE(iequals_ascii(std::string_view(buffer).substr(2, 6), "admins"));
  EXPECT_FALSE(iequals_ascii(std::string_view(buffer).substr(1, 6), "admin"));
  EXPECT_EQ(upper_packed(std::string_view(buffer).substr(9, 3)), upper_packed("ADM"));
  EXPECT_EQ(upper_packed(std::string_view(buffer).substr(0, 9)), 0U);  // over 8 bytes
}

TEST(AsciiCase, MethodBitIsTheStandardNamesIgnoringCase) {
  for (std::size_t i = 0; i < known_methods.size(); ++i) {
    const std::string name(known_methods[i]);
    const auto bit = static_cast<std::uint16_t>(1U << i);
    EXPECT_EQ(method_bit(name), bit) << name;
    std::string lower = flip_case(name);
    EXPECT_EQ(method_bit(lower), bit) << lower;
    lower[0] = ascii_upper(lower[0]);
    EXPECT_EQ(method_bit(lower), bit) << lower;
    // Anything more or less is another method.
    EXPECT_EQ(method_bit(name + "S"), 0) << name;
    EXPECT_EQ(method_bit(name + std::string(1, '\0')), 0) << name << " with a NUL";
    EXPECT_EQ(method_bit(std::string_view(name).substr(1)), 0) << name;
    EXPECT_EQ(method_bit(" " + name), 0) << name;
    std::string near = name;
    near.back() = static_cast<char>(near.back() ^ 0x40);
    EXPECT_EQ(method_bit(near), 0) << near;
  }
  EXPECT_EQ(method_bit("PROPFIND"), 0);
  EXPECT_EQ(method_bit("OPTIONSX"), 0);
  EXPECT_EQ(method_bit("CONNECTED"), 0);
}

}  // namespace
