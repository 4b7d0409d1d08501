// Fuzz target: the canonical request URL (SPEC 4), detail::canonicalize_url.
//
// Input: the URL, raw bytes.
// Invariants:
// - it agrees with a plain reference implementation of SPEC 4 written here
//   from the text (decode, collapse slashes, remove dot segments by segments);
// - canonicalising the canonical path again, and the whole subject again,
//   gives it back unchanged (once == twice);
// - the canonical path starts with '/', never contains "//", "/./" or "/../",
//   and never ends with "/." or "/..";
// - it never writes past url.size() + 1 bytes, and a buffer one byte smaller
//   is always refused (ASan: the buffers are exact heap allocations).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tokenguard/detail/canonical_url.hpp"

namespace {

using tokenguard::fuzz::show;

struct reference_result {
  std::string subject;
  std::string query;
};

bool ref_unreserved(unsigned v) {
  return (v >= '0' && v <= '9') || (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || v == '-' ||
         v == '.' || v == '_' || v == '~';
}

int ref_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// SPEC 4, written for clarity rather than speed.
std::optional<reference_result> reference(std::string_view url) {
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

std::optional<tokenguard::detail::canonical_url> canonicalize(std::string_view url,
                                                              std::unique_ptr<char[]>& buffer,
                                                              std::size_t size) {
  buffer.reset(new char[size == 0 ? 1 : size]);
  tokenguard::detail::canonical_url out;
  if (!tokenguard::detail::canonicalize_url(url, buffer.get(), size, out)) return std::nullopt;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Exact-size copy: the input array of the replay binary is exact too, but
  // libFuzzer's may not be.
  const std::string url(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<char[]> buffer;
  const auto result = canonicalize(url, buffer, url.size() + 1);
  const auto expected = reference(url);

  TOKENGUARD_FUZZ_CHECK(
      result.has_value() == expected.has_value(),
      "url " + show(url) + ": canonicalize_url says " +
          (result ? "ok " + show(result->subject) : std::string("malformed")) +
          ", the reference says " +
          (expected ? "ok " + show(expected->subject) : std::string("malformed")));
  if (!result) return 0;

  const std::string subject(result->subject);
  TOKENGUARD_FUZZ_CHECK(
      subject == expected->subject,
      "url " + show(url) + ": subject " + show(subject) + ", reference " + show(expected->subject));
  TOKENGUARD_FUZZ_CHECK(result->query == expected->query, "url " + show(url) + ": query " +
                                                              show(result->query) + ", reference " +
                                                              show(expected->query));
  TOKENGUARD_FUZZ_CHECK(
      result->subject.data() >= buffer.get() &&
          result->subject.data() + result->subject.size() <= buffer.get() + url.size() + 1,
      "subject outside the output buffer");

  // The path: the subject after "scheme://authority" (absolute form), or all of it.
  std::string_view path = subject;
  if (url[0] != '/') {
    const std::size_t authority = subject.find("://") + 3;
    path = std::string_view(subject).substr(subject.find('/', authority));
  }
  TOKENGUARD_FUZZ_CHECK(!path.empty() && path.front() == '/', "path " + show(path));
  for (const std::string_view bad : {"//", "/./", "/../"}) {
    TOKENGUARD_FUZZ_CHECK(path.find(bad) == std::string_view::npos,
                          "url " + show(url) + ": path " + show(path) + " contains " + show(bad));
  }
  TOKENGUARD_FUZZ_CHECK(!path.ends_with("/.") && !path.ends_with("/.."),
                        "url " + show(url) + ": path " + show(path) + " ends with a dot segment");

  // Once == twice, for the path alone and for the whole subject.
  std::unique_ptr<char[]> again_buffer;
  const auto again = canonicalize(path, again_buffer, path.size() + 1);
  TOKENGUARD_FUZZ_CHECK(again && again->subject == path && again->query.empty(),
                        "url " + show(url) + ": path " + show(path) + " canonicalises to " +
                            (again ? show(again->subject) : std::string("malformed")));
  const auto again_subject = canonicalize(subject, again_buffer, subject.size() + 1);
  TOKENGUARD_FUZZ_CHECK(
      again_subject && again_subject->subject == subject,
      "url " + show(url) + ": subject " + show(subject) + " canonicalises to " +
          (again_subject ? show(again_subject->subject) : std::string("malformed")));

  // A buffer one byte short is refused, whatever the URL.
  std::unique_ptr<char[]> short_buffer;
  TOKENGUARD_FUZZ_CHECK(!canonicalize(url, short_buffer, url.size()),
                        "url " + show(url) + ": accepted with a buffer of url.size() bytes");
  return 0;
}
