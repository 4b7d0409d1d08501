#ifndef TOKENGUARD_FUZZ_CANONICAL_URL_REFERENCE_HPP
#define TOKENGUARD_FUZZ_CANONICAL_URL_REFERENCE_HPP

// SPEC 4 written for clarity rather than speed: the reference that
// detail::canonicalize_url is checked against by fuzz_canonical_url and by
// tests/canonical_url_test.cpp.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenguard::fuzz {

struct reference_result {
  std::string subject;
  std::string query;
};

inline bool ref_unreserved(unsigned v) {
  return (v >= '0' && v <= '9') || (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || v == '-' ||
         v == '.' || v == '_' || v == '~';
}

inline int ref_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// SPEC 4: the canonical subject and the query, or nullopt for a malformed URL.
inline std::optional<reference_result> reference_canonical_url(std::string_view url) {
  if (url.empty()) return std::nullopt;
  for (const char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return std::nullopt;
  }
  std::string prefix;
  std::string_view rest = url;
  if (url[0] != '/') {
    std::size_t i = 0;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!alpha(url[0])) return std::nullopt;
    ++i;
    while (i < url.size() && (alpha(url[i]) || (url[i] >= '0' && url[i] <= '9') || url[i] == '+' ||
                              url[i] == '-' || url[i] == '.')) {
      ++i;
    }
    if (url.substr(i, 3) != "://") return std::nullopt;
    i += 3;
    const std::size_t authority_end = url.find_first_of("/?#", i);
    const std::string_view authority =
        url.substr(i, authority_end == std::string_view::npos ? url.size() - i : authority_end - i);
    if (authority.empty() || authority.find('\\') != std::string_view::npos) return std::nullopt;
    for (std::size_t k = 0; k < i + authority.size(); ++k) {
      char c = url[k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      prefix.push_back(c);
    }
    rest = url.substr(i + authority.size());
  }
  const std::size_t path_end = rest.find_first_of("?#");
  const std::string_view path = rest.substr(0, path_end);
  reference_result out;
  if (path_end != std::string_view::npos && rest[path_end] == '?') {
    const std::string_view after = rest.substr(path_end + 1);
    out.query = std::string(after.substr(0, after.find('#')));
  }
  if (path.empty()) {
    out.subject = prefix + "/";
    return out;
  }

  std::string decoded;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return std::nullopt;
    if (c != '%') {
      decoded.push_back(c);
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;  // needs two hex digits
    const int hi = ref_hex(path[i + 1]);
    const int lo = ref_hex(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto v = static_cast<unsigned>(hi * 16 + lo);
    if (v == 0x2F || v == 0x5C || v == 0) return std::nullopt;
    if (ref_unreserved(v)) {
      decoded.push_back(static_cast<char>(v));
    } else {
      static constexpr char digits[] = "0123456789ABCDEF";
      decoded += '%';
      decoded += digits[hi];
      decoded += digits[lo];
    }
    i += 2;
  }

  // decoded starts with '/'. Pieces between slashes; empty pieces are slash runs.
  std::vector<std::string> segments;
  bool trailing_slash = false;
  std::size_t start = 1;
  while (true) {
    const std::size_t slash = decoded.find('/', start);
    const std::string piece =
        decoded.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (piece.empty() || piece == ".") {
      trailing_slash = true;
    } else if (piece == "..") {
      if (segments.empty()) return std::nullopt;  // above the root
      segments.pop_back();
      trailing_slash = true;
    } else {
      segments.push_back(piece);
      trailing_slash = false;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string canonical = "/";
  for (std::size_t k = 0; k < segments.size(); ++k) {
    if (k != 0) canonical += '/';
    canonical += segments[k];
  }
  if (trailing_slash && !segments.empty()) canonical += '/';
  out.subject = prefix + canonical;
  return out;
}

}  // namespace tokenguard::fuzz

#endif  // TOKENGUARD_FUZZ_CANONICAL_URL_REFERENCE_HPP
