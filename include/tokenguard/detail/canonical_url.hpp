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

#if defined(__SSE2__)
/// The 16 bytes of `s` from `at` (at + 16 <= s.size()).
[[nodiscard]] inline __m128i load16(std::string_view s, std::size_t at) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
}
#endif

/// True when every byte is printable ASCII (0x20 to 0x7E). SSE2 takes 16
/// bytes a step and ends on the last 16; shorter input goes a byte at a time.
/// No early exit: most URLs are valid.
[[nodiscard]] inline bool all_printable(std::string_view s) noexcept {
#if defined(__SSE2__)
  if (s.size() >= 16) {
    const auto outside = [&s](std::size_t k) noexcept {
      const __m128i x = load16(s, k);
      // Signed compares: a byte >= 0x80 is negative, so below 0x20 as well;
      // 0x7F is the only byte above 0x7E left.
      return _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                          _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    };
    __m128i bad = outside(s.size() - 16);
    for (std::size_t k = 0; k + 16 < s.size(); k += 16) bad = _mm_or_si128(bad, outside(k));
    return _mm_movemask_epi8(bad) == 0;
  }
#endif
  unsigned outside = 0;
  for (const char ch : s) outside |= static_cast<unsigned char>(ch - 0x20) > 0x5E ? 1U : 0U;
  return outside == 0;
}

/// Where the authority that starts at `begin` ends: the first '/', '?' or '#',
/// or the URL's end; npos when a backslash comes before it.
[[nodiscard]] inline std::size_t authority_end(std::string_view url, std::size_t begin) noexcept {
  std::size_t i = begin;
#if defined(__SSE2__)
  for (; i + 16 <= url.size(); i += 16) {
    const __m128i x = load16(url, i);
    const auto eq = [x](char c) noexcept { return _mm_cmpeq_epi8(x, _mm_set1_epi8(c)); };
    const auto ends = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(eq('/'), eq('?')), eq('#'))));
    auto backslashes = static_cast<unsigned>(_mm_movemask_epi8(eq('\\')));
    if (ends != 0) {
      backslashes &= (ends & (0U - ends)) - 1;
      return backslashes != 0 ? std::string_view::npos
                              : i + static_cast<std::size_t>(std::countr_zero(ends));
    }
    if (backslashes != 0) return std::string_view::npos;
  }
#endif
  for (; i < url.size() && url[i] != '/' && url[i] != '?' && url[i] != '#'; ++i) {
    if (url[i] == '\\') return std::string_view::npos;
  }
  return i;
}

/// Copies url's first n bytes to out, lower-cased. SSE2 copies whole blocks
/// of 16 while they lie within the URL, so it may write up to 15 bytes past n
/// (never past url.size()): the path is written over them.
inline void lower_prefix(std::string_view url, std::size_t n, char* out) noexcept {
  std::size_t k = 0;
#if defined(__SSE2__)
  for (; k < n && k + 16 <= url.size(); k += 16) {
    const __m128i x = load16(url, k);
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                        _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k),
                     _mm_add_epi8(x, _mm_and_si128(upper, _mm_set1_epi8(0x20))));
  }
#endif
  for (; k < n; ++k) out[k] = to_lower(url[k]);
}

/// One scan from `pos` finds where the path ends ('?', '#' or the end) and
/// whether steps 1-3 could change it: a path without '%', '\\', "//" or "/."
/// (every dot segment follows a '/') is already canonical, and `verbatim`
/// stays true. SSE2 (part of x86-64) takes 16 bytes a step and ends on the
/// URL's last 16 bytes; a shorter URL, and other targets, go a byte at a time
/// with the same answer.
[[nodiscard]] inline std::size_t scan_path(std::string_view url, std::size_t pos,
                                           bool& verbatim) noexcept {
  std::size_t i = pos;
#if defined(__SSE2__)
  const auto eq = [](__m128i v, char c) noexcept { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  // Lane masks of the stops and of the bytes that may change the path, for 16
  // bytes and the byte after each (the "next" of "//" and "/.").
  const auto classify = [&eq](__m128i here, __m128i next, unsigned& stops, unsigned& specials) {
    stops = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(eq(here, '?'), eq(here, '#'))));
    const __m128i slash_then =
        _mm_and_si128(eq(here, '/'), _mm_or_si128(eq(next, '/'), eq(next, '.')));
    specials = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(eq(here, '%'), eq(here, '\\')), slash_then)));
  };
  // Only the lanes before the first stop count; returns where the path ends.
  const auto finish = [&verbatim](std::size_t at, unsigned stops, unsigned specials) {
    specials &= (stops & (0U - stops)) - 1;
    if (specials != 0) verbatim = false;
    return at + static_cast<std::size_t>(std::countr_zero(stops));
  };
  unsigned stops = 0;
  unsigned specials = 0;
  // Each step reads the byte after its 16.
  for (; i + 17 <= url.size(); i += 16) {
    classify(load16(url, i), load16(url, i + 1), stops, specials);
    if (stops != 0) return finish(i, stops, specials);
    if (specials != 0) verbatim = false;
  }
  if (i < url.size() && url.size() >= 16) {
    // The last 16 bytes, of which those before i were scanned already (or
    // belong to the authority); the last byte has no next one.
    const std::size_t last = url.size() - 16;
    const __m128i here = load16(url, last);
    classify(here, _mm_srli_si128(here, 1), stops, specials);
    const unsigned fresh = 0xFFFFU << (i - last);
    stops &= fresh;
    specials &= fresh;
    if (stops != 0) return finish(last, stops, specials);
    if (specials != 0) verbatim = false;
    return url.size();
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
  if (!all_printable(url)) return false;

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
    if (url.size() - i < 3 || url[i] != ':' || url[i + 1] != '/' || url[i + 2] != '/') {
      return false;
    }
    i += 3;
    const std::size_t auth_begin = i;
    i = authority_end(url, i);
    if (i == auth_begin || i == std::string_view::npos) return false;
    lower_prefix(url, i, out);
    w = i;
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
