#ifndef TOKENGUARD_DETAIL_FORM_QUERY_HPP
#define TOKENGUARD_DETAIL_FORM_QUERY_HPP

/// Query decoding for QueryParam clauses (SPEC 3): application/x-www-form-
/// urlencoded names and values, which must decode to valid UTF-8 because the
/// regexes match code points. A query that does not decode is refused as a
/// whole rather than matched byte-wise, so no clause sees half-decoded text.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tokenguard::detail {

namespace form_query_impl {

[[nodiscard]] constexpr int hex_value(char ch) noexcept {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

/// Byte-at-a-time UTF-8 check (Unicode Table 3-7), so a decoder can validate
/// what it produces without a buffer.
class utf8_checker {
 public:
  [[nodiscard]] constexpr bool feed(unsigned char b) noexcept {
    if (need_ > 0) {
      if (b < lo_ || b > hi_) return false;
      lo_ = 0x80;
      hi_ = 0xBF;
      --need_;
      return true;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    if (b <= 0x7F) return true;
    if (b >= 0xC2 && b <= 0xDF) {
      need_ = 1;
    } else if (b == 0xE0) {
      need_ = 2;
      lo_ = 0xA0;  // overlong below U+0800
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      need_ = 2;
    } else if (b == 0xED) {
      need_ = 2;
      hi_ = 0x9F;  // U+D800..U+DFFF are surrogates
    } else if (b == 0xF0) {
      need_ = 3;
      lo_ = 0x90;  // overlong below U+10000
    } else if (b >= 0xF1 && b <= 0xF3) {
      need_ = 3;
    } else if (b == 0xF4) {
      need_ = 3;
      hi_ = 0x8F;  // above U+10FFFF
    } else {
      return false;  // stray continuation, C0/C1 overlongs, F5..FF
    }
    return true;
  }
  /// True when no multi-byte sequence is left unfinished.
  [[nodiscard]] constexpr bool complete() const noexcept { return need_ == 0; }

 private:
  int need_ = 0;
  unsigned char lo_ = 0x80;
  unsigned char hi_ = 0xBF;
};

/// Decodes `in`, handing each byte to `sink`; false on a malformed escape or
/// invalid UTF-8.
template <class Sink>
[[nodiscard]] constexpr bool decode(std::string_view in, Sink&& sink) noexcept {
  utf8_checker utf8;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (in.size() - i < 3) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (!utf8.feed(static_cast<unsigned char>(c))) return false;
    sink(c);
  }
  return utf8.complete();
}

}  // namespace form_query_impl

[[nodiscard]] inline bool is_valid_utf8(std::string_view s) noexcept {
  form_query_impl::utf8_checker utf8;
  for (const char c : s) {
    if (!utf8.feed(static_cast<unsigned char>(c))) return false;
  }
  return utf8.complete();
}

/// application/x-www-form-urlencoded decoding of one name or value: '+' is a space, then %XX bytes.
/// Writes at most in.size() bytes to out. Returns false on a malformed escape or when the decoded
/// bytes are not valid UTF-8 (reject overlongs, surrogates, > U+10FFFF). `out_len` is set only on
/// success. %00 decodes to a NUL byte, which is valid UTF-8 and accepted.
[[nodiscard]] inline bool form_decode(std::string_view in, char* out,
                                      std::size_t& out_len) noexcept {
  std::size_t w = 0;
  if (!form_query_impl::decode(in, [&](char c) noexcept { out[w++] = c; })) return false;
  out_len = w;
  return true;
}

/// True when every name and value in the query decodes (see form_decode).
/// Name and value are checked separately, as they are decoded separately.
[[nodiscard]] inline bool query_decodes(std::string_view query) noexcept {
  const auto ignore = [](char) noexcept {};
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view piece = query.substr(start, end - start);
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      if (!form_query_impl::decode(piece, ignore)) return false;
    } else if (!form_query_impl::decode(piece.substr(0, eq), ignore) ||
               !form_query_impl::decode(piece.substr(eq + 1), ignore)) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

/// Calls f(name, value) (decoded std::string_views into `scratch`, valid during the call) for each
/// pair of the query split at '&'; empty pieces are skipped; `a` alone has the value ""; split
/// name/value at the first '='. f returns bool: false stops the walk. Returns false if some piece
/// does not decode (stops there) or scratch (needs query.size() bytes) is too small; true
/// otherwise. Pairs before an undecodable piece have already been passed to f, so a caller that
/// must refuse the whole query checks query_decodes first.
template <class F>
[[nodiscard]] bool for_each_query_param(std::string_view query, char* scratch,
                                        std::size_t scratch_size, F&& f) noexcept {
  static_assert(std::is_invocable_r_v<bool, F&, std::string_view, std::string_view>,
                "f must be callable as bool(std::string_view name, std::string_view value)");
  if (scratch_size < query.size() || (scratch == nullptr && !query.empty())) return false;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    if (end > start) {
      // Each part decodes into the scratch bytes under its own encoded text,
      // which it cannot outgrow, so name and value never overlap.
      const std::string_view piece = query.substr(start, end - start);
      const std::size_t eq = piece.find('=');
      const std::string_view raw_name = piece.substr(0, eq);
      std::size_t name_len = 0;
      if (!form_decode(raw_name, scratch + start, name_len)) return false;
      std::string_view value;
      if (eq != std::string_view::npos) {
        std::size_t value_len = 0;
        char* value_out = scratch + start + eq + 1;
        if (!form_decode(piece.substr(eq + 1), value_out, value_len)) return false;
        value = std::string_view(value_out, value_len);
      }
      if (!static_cast<bool>(f(std::string_view(scratch + start, name_len), value))) return true;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_FORM_QUERY_HPP
