#ifndef TOKENGUARD_FUZZ_FUZZ_SUPPORT_HPP
#define TOKENGUARD_FUZZ_FUZZ_SUPPORT_HPP

/// Shared by the fuzz targets: how a broken invariant is reported, and how one
/// input is cut into fields. A target checks invariants, not only "does not
/// crash": a violation prints what broke and aborts, which libFuzzer reports as
/// a crash with its reproducer and the replay binaries as a failed test.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace tokenguard::fuzz {

[[noreturn]] inline void invariant_failed(const char* file, int line, const char* what,
                                          std::string_view detail) {
  std::fprintf(stderr, "\n%s:%d: invariant broken: %s\n  %.*s\n", file, line, what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Prints `detail` (a std::string built only on failure) when `cond` is false.
#define TOKENGUARD_FUZZ_CHECK(cond, detail)                                                 \
  do {                                                                                      \
    if (!(cond)) ::tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, #cond, (detail)); \
  } while (false)

/// The first `n` fields end at a '\n'; the last one is the rest of the input,
/// newlines included. Missing fields are empty. Text formats keep the seed
/// corpora readable and editable.
[[nodiscard]] inline std::vector<std::string_view> split_fields(std::string_view input,
                                                                std::size_t n) {
  std::vector<std::string_view> out;
  out.reserve(n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t nl = input.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(input);
      input = {};
    } else {
      out.push_back(input.substr(0, nl));
      input.remove_prefix(nl + 1);
    }
  }
  out.push_back(input);
  return out;
}

/// Printable rendering of bytes for failure messages.
[[nodiscard]] inline std::string show(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  out.push_back('"');
  return out;
}

/// Valid UTF-8 -> one wchar_t per code point; false on anything else.
[[nodiscard]] inline bool utf8_to_wide(std::string_view text, std::wstring& out) {
  out.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1F;
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      cp = b0 & 0x0F;
      len = 3;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    out.push_back(static_cast<wchar_t>(cp));
    i += len;
  }
  return true;
}

}  // namespace tokenguard::fuzz

#endif  // TOKENGUARD_FUZZ_FUZZ_SUPPORT_HPP
