#ifndef TOKENGUARD_DETAIL_CANONICAL_URL_HPP
#define TOKENGUARD_DETAIL_CANONICAL_URL_HPP

/// The subject URL that url-regexes match (SPEC 4). Canonicalisation exists so
/// that one resource has one spelling: a rule on `/admin` cannot be dodged with
/// `//admin`, `/x/../admin` or `/%61dmin`, and anything whose meaning a backend
/// might read differently (encoded slashes, backslashes, bad escapes, `..`
/// above the root) is refused instead of guessed at.

#include <bit>
#include <cstddef>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tokenguard::detail {

/// RFC 9110 token (tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA), non-empty.
[[nodiscard]] inline bool is_http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(ch) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

struct canonical_url {
  /// scheme://authority (lower-cased, absolute form only) + canonical path; points into `out`.
  std::string_view subject;
  /// Raw query after '?', before any '#', points into the input url; empty when none.
  std::string_view query;
};

namespace canonical_url_impl {

[[nodiscard]] constexpr int hex_value(char ch) noexcept {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

[[nodiscard]] constexpr bool is_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

[[nodiscard]] constexpr bool is_unreserved(unsigned v) noexcept {
  return (v >= '0' && v <= '9') || (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || v == '-' ||
         v == '.' || v == '_' || v == '~';
}

[[nodiscard]] constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Steps 1 and 2: decodes escapes of unreserved characters into `out`, upper-
/// cases the hex of the others, refuses what must not reach a backend. Never
/// writes more than path.size() bytes.
[[nodiscard]] inline bool decode_path(std::string_view path, char* out, std::size_t& len) noexcept {
  constexpr char hex[] = "0123456789ABCDEF";
  std::size_t w = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return false;
    if (c != '%') {
      out[w++] = c;
      continue;
    }
    if (path.size() - i < 3) return false;
    const int hi = hex_value(path[i + 1]);
    const int lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const auto v = static_cast<unsigned>(hi * 16 + lo);
    if (v == 0x2F || v == 0x5C || v == 0x00) return false;
    if (is_unreserved(v)) {
      out[w++] = static_cast<char>(v);
    } else {
      out[w++] = '%';
      out[w++] = hex[hi];
      out[w++] = hex[lo];
    }
    i += 2;
  }
  len = w;
  return true;
}

/// Step 3 in place on a decoded path that starts with '/': runs of '/' are
/// collapsed first, then dot segments removed, so `/a//..` is `/`. The write
/// position never passes the read position, so copying forward is safe.
[[nodiscard]] inline bool normalize_path(char* p, std::size_t n, std::size_t& len) noexcept {
  std::size_t w = 1;  // p[0] == '/' stays; output always starts with "/"
  std::size_t i = 0;
  while (i < n) {
    while (i < n && p[i] == '/') ++i;
    if (i == n) break;
    const std::size_t s = i;
    while (i < n && p[i] != '/') ++i;
    const std::size_t seg_len = i - s;
    if (seg_len == 1 && p[s] == '.') continue;  // output already ends with '/'
    if (seg_len == 2 && p[s] == '.' && p[s + 1] == '.') {
      if (w == 1) return false;  // above the root
      --w;                       // drop the '/' that ends the last segment
      while (p[w - 1] != '/') --w;
      continue;
    }
    for (std::size_t k = 0; k < seg_len; ++k) p[w + k] = p[s + k];
    w += seg_len;
    if (i < n) p[w++] = '/';
  }
  len = w;
  return true;
}

}  // namespace canonical_url_impl

namespace canonical_url_impl {

/// One scan from `pos` finds where the path ends ('?', '#' or the end) and
/// whether steps 1-3 could change it: a path without '%', '\\', "//" or "/."
/// (every dot segment follows a '/') is already canonical, and `verbatim`
/// stays true. SSE2 (part of x86-64) takes 16 bytes a step; the rest, and
/// other targets, go a byte at a time with the same answer.
[[nodiscard]] inline std::size_t scan_path(std::string_view url, std::size_t pos,
                                           bool& verbatim) noexcept {
  std::size_t i = pos;
#if defined(__SSE2__)
  // Each step also reads the byte after its 16 (the "next" of "//" and "/.").
  while (i + 17 <= url.size()) {
    const auto at = [&url](std::size_t k) noexcept {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(url.data() + k));
    };
    const auto eq = [](__m128i v, char c) noexcept { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    const __m128i here = at(i);
    const __m128i next = at(i + 1);
    const auto stops =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(eq(here, '?'), eq(here, '#'))));
    const __m128i slash_then =
        _mm_and_si128(eq(here, '/'), _mm_or_si128(eq(next, '/'), eq(next, '.')));
    auto specials = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(eq(here, '%'), eq(here, '\\')), slash_then)));
    if (stops != 0) {
      specials &= (stops & (0U - stops)) - 1;  // only the lanes before the first stop
      if (specials != 0) verbatim = false;
      return i + static_cast<std::size_t>(std::countr_zero(stops));
    }
    if (specials != 0) verbatim = false;
    i += 16;
  }
#endif
  for (; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '?' || c == '#') break;
    if (c == '%' || c == '\\' ||
        (c == '/' && i + 1 < url.size() && (url[i + 1] == '/' || url[i + 1] == '.'))) {
      verbatim = false;
    }
  }
  return i;
}

/// canonicalize_url; with verbatim_allowed false, every path goes through
/// decode_path and normalize_path (the reference its shortcut is tested against).
[[nodiscard]] inline bool canonicalize(std::string_view url, char* out, std::size_t out_size,
                                       canonical_url& result, bool verbatim_allowed) noexcept {
  if (url.empty() || out == nullptr || out_size < url.size() + 1) return false;
  // No early exit, so that the loop vectorises: most URLs are valid.
  unsigned outside = 0;
  for (const char ch : url) outside |= static_cast<unsigned char>(ch - 0x20) > 0x5E ? 1U : 0U;
  if (outside != 0) return false;

  std::size_t w = 0;  // bytes of `out` used
  std::size_t pos = 0;
  if (url[0] != '/') {
    // Absolute form: scheme "://" authority.
    if (!is_alpha(url[0])) return false;
    std::size_t i = 1;
    while (i < url.size() && (is_alpha(url[i]) || (url[i] >= '0' && url[i] <= '9') ||
                              url[i] == '+' || url[i] == '-' || url[i] == '.')) {
      ++i;
    }
    if (url.substr(i, 3) != "://") return false;
    i += 3;
    const std::size_t auth_begin = i;
    while (i < url.size() && url[i] != '/' && url[i] != '?' && url[i] != '#') {
      if (url[i] == '\\') return false;
      ++i;
    }
    if (i == auth_begin) return false;
    for (std::size_t k = 0; k < i; ++k) out[w++] = to_lower(url[k]);
    pos = i;
  }

  bool verbatim = true;
  const std::size_t path_end = scan_path(url, pos, verbatim);
  std::string_view query;
  if (path_end < url.size() && url[path_end] == '?') {
    const std::string_view rest = url.substr(path_end + 1);
    query = rest.substr(0, rest.find('#'));
  }

  const std::string_view path = url.substr(pos, path_end - pos);
  if (path.empty()) {
    out[w++] = '/';
  } else if (verbatim && verbatim_allowed) {
    std::memcpy(out + w, path.data(), path.size());
    w += path.size();
  } else {
    // A non-empty path starts with '/': origin form begins with it, and the
    // authority only ends at '/', '?' or '#'.
    std::size_t decoded = 0;
    if (!decode_path(path, out + w, decoded)) return false;
    std::size_t normalized = 0;
    if (!normalize_path(out + w, decoded, normalized)) return false;
    w += normalized;
  }
  result.subject = std::string_view(out, w);
  result.query = query;
  return true;
}

}  // namespace canonical_url_impl

/// SPEC 4. Returns false when the URL is malformed. `out` must hold at least
/// url.size() + 1 bytes: the one extra byte is the '/' added to an absolute URL
/// with an empty path and nothing after it (`http://a` -> `http://a/`); any
/// other input never grows. A smaller buffer always makes it return false, so
/// an undersized buffer shows up on every URL rather than on that one shape.
/// Also refused (where SPEC 4 is silent): a backslash in the authority, which
/// WHATWG parsers read as a path separator. `result` is only written on success.
[[nodiscard]] inline bool canonicalize_url(std::string_view url, char* out, std::size_t out_size,
                                           canonical_url& result) noexcept {
  return canonical_url_impl::canonicalize(url, out, out_size, result, true);
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_CANONICAL_URL_HPP
