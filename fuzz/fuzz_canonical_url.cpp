// Fuzz target: the canonical request URL (SPEC 4), detail::canonicalize_url.
//
// Input: the URL, raw bytes.
// Invariants:
// - it agrees with the plain reference implementation of SPEC 4 in
//   canonical_url_reference.hpp (decode, collapse slashes, remove dot
//   segments by segments);
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

#include "canonical_url_reference.hpp"
#include "fuzz_support.hpp"
#include "tokenguard/detail/canonical_url.hpp"

namespace {

using tokenguard::fuzz::show;

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
  const auto expected = tokenguard::fuzz::reference_canonical_url(url);

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
