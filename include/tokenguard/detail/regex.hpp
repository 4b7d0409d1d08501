#ifndef TOKENGUARD_DETAIL_REGEX_HPP
#define TOKENGUARD_DETAIL_REGEX_HPP

/// One compiled rule regex: a Java pattern translated to Boost.Regex, matched
/// as a whole over code points, never by search (SPEC 3).

#include <boost/regex.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/java_regex.hpp"
#include "tokenguard/result.hpp"

namespace tokenguard::detail {

/// Java's defaults: `.` stops at line breaks, `^`/`$` only at the ends.
inline constexpr boost::regex_constants::syntax_option_type java_regex_flags =
    boost::regex_constants::perl | boost::regex_constants::no_mod_s |
    boost::regex_constants::no_mod_m;

enum class match_result : std::uint8_t { no_match, match, gave_up };

[[nodiscard]] inline bool is_ascii(std::string_view s) noexcept {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

/// Per-thread scratch for matching. Boost fills a match_results even when the
/// caller does not want one; keeping one per thread (and the wide buffer for
/// non-ASCII text) means steady-state matching does not touch the heap.
struct regex_scratch {
  boost::match_results<const char*> narrow_results;
  boost::match_results<const wchar_t*> wide_results;
  std::vector<wchar_t> wide_text;

  static regex_scratch& for_this_thread() noexcept {
    thread_local regex_scratch scratch;
    return scratch;
  }
};

class compiled_regex {
 public:
  /// `need_wide`: the subject may hold non-ASCII text (clause values), so a
  /// code-point matcher is needed even for an ASCII pattern.
  [[nodiscard]] static result<compiled_regex> compile(std::string_view java, bool need_wide) {
    java_regex_translation translation;
    std::string why;
    if (!translate_java_regex(java, translation, why)) return error{std::move(why)};
    compiled_regex out;
    out.source_ = std::string(java);
    try {
      if (translation.ascii_only) {
        std::string narrow(translation.pattern.size(), '\0');
        for (std::size_t i = 0; i < narrow.size(); ++i) {
          narrow[i] = static_cast<char>(translation.pattern[i]);
        }
        out.narrow_.emplace(narrow, java_regex_flags);
      }
      if (need_wide || !translation.ascii_only) {
        out.wide_.emplace(translation.pattern, java_regex_flags);
      }
    } catch (const boost::regex_error& e) {
      return error{std::string("invalid regex: ") + e.what()};
    } catch (const std::exception& e) {
      return error{std::string("regex cannot be compiled: ") + e.what()};
    }
    return out;
  }

  [[nodiscard]] const std::string& source() const noexcept { return source_; }

  /// `text` is valid UTF-8 (callers validate it first).
  [[nodiscard]] match_result match(std::string_view text) const noexcept {
    regex_scratch& scratch = regex_scratch::for_this_thread();
    try {
      if (narrow_ && is_ascii(text)) {
        return boost::regex_match(text.data(), text.data() + text.size(), scratch.narrow_results,
                                  *narrow_)
                   ? match_result::match
                   : match_result::no_match;
      }
      if (!wide_) return match_result::no_match;  // unreachable: ASCII-only patterns have narrow_
      std::size_t length = 0;
      if (!decode_utf8(text, scratch.wide_text, length)) return match_result::no_match;
      const wchar_t* begin = scratch.wide_text.data();
      const wchar_t* end = begin + length;
      return boost::regex_match(begin, end, scratch.wide_results, *wide_) ? match_result::match
                                                                          : match_result::no_match;
    } catch (...) {
      // error_complexity, error_stack, or memory: the engine gave up. Deny.
      return match_result::gave_up;
    }
  }

 private:
  /// Decodes into a per-thread buffer that only grows. Returns false on
  /// invalid UTF-8 (callers validate; this is a second line of defence).
  static bool decode_utf8(std::string_view text, std::vector<wchar_t>& out, std::size_t& length) {
    if (out.size() < text.size() + 1) out.resize(text.size() + 1);  // may throw: caught by match()
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      const auto b0 = static_cast<unsigned char>(text[i]);
      std::uint32_t cp = 0;
      std::size_t len = 0;
      if (b0 < 0x80) {
        cp = b0;
        len = 1;
      } else if ((b0 & 0xE0) == 0xC0) {
        cp = b0 & 0x1F;
        len = 2;
      } else if ((b0 & 0xF0) == 0xE0) {
        cp = b0 & 0x0F;
        len = 3;
      } else if ((b0 & 0xF8) == 0xF0) {
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
      out[n++] = static_cast<wchar_t>(cp);
      i += len;
    }
    length = n;
    return true;
  }

  std::string source_;
  std::optional<boost::regex> narrow_;
  std::optional<boost::wregex> wide_;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_REGEX_HPP
