#include "tokenguard/detail/canonical_url.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "../fuzz/canonical_url_reference.hpp"

namespace {

using tokenguard::detail::canonical_url;
using tokenguard::detail::canonicalize_url;
using tokenguard::detail::is_http_token;

struct outcome {
  std::string subject;
  std::string query;
};

/// Canonicalises with an exactly sized buffer; nullopt when malformed.
std::optional<outcome> canon(std::string_view url) {
  std::vector<char> buf(url.size() + 1);
  canonical_url r;
  if (!canonicalize_url(url, buf.data(), buf.size(), r)) return std::nullopt;
  return outcome{std::string(r.subject), std::string(r.query)};
}

std::string subject(std::string_view url) {
  auto r = canon(url);
  return r ? r->subject : std::string("<malformed>");
}

TEST(IsHttpToken, AcceptsTcharsOnly) {
  EXPECT_TRUE(is_http_token("GET"));
  EXPECT_TRUE(is_http_token("get"));
  EXPECT_TRUE(is_http_token("M-SEARCH"));
  EXPECT_TRUE(is_http_token("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_FALSE(is_http_token("GE T"));
  EXPECT_FALSE(is_http_token("GET\r"));
  EXPECT_FALSE(is_http_token("G(ET"));
  EXPECT_FALSE(is_http_token("G,ET"));
  EXPECT_FALSE(is_http_token("G\"ET"));
  EXPECT_FALSE(is_http_token("\xC3\xA9"));
  EXPECT_FALSE(is_http_token(std::string_view("GE\0T", 4)));
}

// Every byte, alone and between two tchars, against RFC 9110's list.
TEST(IsHttpToken, EveryByte) {
  const std::string_view specials = "!#$%&'*+-.^_`|~";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool tchar = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                       specials.find(c) != std::string_view::npos;
    EXPECT_EQ(is_http_token(std::string(1, c)), tchar) << b;
    EXPECT_EQ(is_http_token("GE" + std::string(1, c) + "T"), tchar) << b;
  }
}

TEST(CanonicalUrl, SpecExamples) {
  EXPECT_EQ(subject("/a/../admin"), "/admin");
  EXPECT_EQ(subject("//admin"), "/admin");
  EXPECT_EQ(subject("/a/./b/"), "/a/b/");
  EXPECT_EQ(subject("/a/."), "/a/");
  EXPECT_EQ(subject("/a/b/.."), "/a/");
  EXPECT_EQ(subject("/.."), "<malformed>");
  EXPECT_EQ(subject("/a/%2e%2e/%2E%2e/x"), "<malformed>");
  EXPECT_EQ(subject("/%7euser"), "/~user");
  EXPECT_EQ(subject("/a%3ab"), "/a%3Ab");
  auto r = canon("HTTPS://Jira.Example.COM:8443//rest/../api?x=1#f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "https://jira.example.com:8443/api");
  EXPECT_EQ(r->query, "x=1");
}

TEST(CanonicalUrl, OriginFormAndQuery) {
  auto r = canon("/rest/api/2/issue?fields=summary&expand=x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "/rest/api/2/issue");
  EXPECT_EQ(r->query, "fields=summary&expand=x");
  EXPECT_EQ(subject("/"), "/");
  r = canon("/p?");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "/p");
  EXPECT_EQ(r->query, "");
  r = canon("/p#frag?notquery");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "/p");
  EXPECT_EQ(r->query, "");
  r = canon("/p?a=1#frag#more");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "/p");
  EXPECT_EQ(r->query, "a=1");
  // Path stays case-sensitive; only scheme and authority are lower-cased.
  EXPECT_EQ(subject("/Rest/API"), "/Rest/API");
}

TEST(CanonicalUrl, QueryIsRawAndPointsIntoInput) {
  const std::string url = "/x/../y?a=%zz&b=%2F+%2e#f";
  std::vector<char> buf(url.size() + 1);
  canonical_url r;
  ASSERT_TRUE(canonicalize_url(url, buf.data(), buf.size(), r));
  EXPECT_EQ(r.subject, "/y");
  EXPECT_EQ(r.query, "a=%zz&b=%2F+%2e");
  EXPECT_EQ(r.query.data(), url.data() + 8);
  EXPECT_EQ(r.subject.data(), buf.data());
}

TEST(CanonicalUrl, AbsoluteForm) {
  EXPECT_EQ(subject("http://a"), "http://a/");
  EXPECT_EQ(subject("HTTP://A.B"), "http://a.b/");
  auto r = canon("http://a?q=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "http://a/");
  EXPECT_EQ(r->query, "q=1");
  r = canon("http://a#f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "http://a/");
  EXPECT_EQ(r->query, "");
  EXPECT_EQ(subject("svn+ssh.v-1://Host/Path"), "svn+ssh.v-1://host/Path");
  EXPECT_EQ(subject("http://User@Host:80/X"), "http://user@host:80/X");
  EXPECT_EQ(subject("http://[::1]:8080/a/./b"), "http://[::1]:8080/a/b");
  // The authority is not canonicalised beyond lower-casing.
  EXPECT_EQ(subject("http://h%41/x"), "http://h%41/x");
  EXPECT_EQ(subject("http://h/%2e%2e"), "<malformed>");
  EXPECT_EQ(subject("http://h/a/.."), "http://h/");
}

TEST(CanonicalUrl, MalformedShapes) {
  for (const char* url : {"",
                          "*",
                          "a/b",
                          "admin",
                          "./a",
                          "../a",
                          "?x=1",
                          "#f",
                          "http:/x",
                          "http:///x",
                          "http://",
                          "http://?x",
                          "http://#f",
                          "http:x",
                          "1http://h/",
                          "+http://h/",
                          "ht tp://h/",
                          "http//h/",
                          ":///x",
                          "http:\\\\h\\x",
                          "http://h\\x/",
                          "http://a\\..\\admin"}) {
    EXPECT_FALSE(canon(url)) << url;
  }
}

TEST(CanonicalUrl, NonPrintableBytesAreMalformed) {
  for (const std::string& url :
       {std::string("/a\x7F"), std::string("/a\x80"), std::string("/a\tb"), std::string("/a\nb"),
        std::string("/a\rb"), std::string("/a\xC3\xA9"), std::string("/a?q=\x01"),
        std::string("/a#\xFF"), std::string("http://h\x7F/"), std::string("/a\0b", 4)}) {
    EXPECT_FALSE(canon(url)) << url;
  }
  // Space and the rest of printable ASCII are allowed.
  EXPECT_EQ(subject("/a b/~!$&'()*+,;=:@\"<>^`{|}"), "/a b/~!$&'()*+,;=:@\"<>^`{|}");
}

TEST(CanonicalUrl, EscapesDecodeOnlyUnreserved) {
  EXPECT_EQ(subject("/%41"), "/A");
  EXPECT_EQ(subject("/%61%62%63"), "/abc");
  EXPECT_EQ(subject("/%30%39%2D%2e%5F%7E%2d%5f%7e"), "/09-._~-_~");
  EXPECT_EQ(subject("/%3a%3A%3f%23%25%20%2b"), "/%3A%3A%3F%23%25%20%2B");
  EXPECT_EQ(subject("/%c3%a9"), "/%C3%A9");
  EXPECT_EQ(subject("/%Ff%fF"), "/%FF%FF");
  EXPECT_EQ(subject("/%2541"), "/%2541");  // decoded once only
  EXPECT_EQ(subject("/%7B%7b"), "/%7B%7B");
}

TEST(CanonicalUrl, ForbiddenEscapesAndBackslash) {
  for (const char* url : {"/a%2fb", "/a%2Fb", "/a%5cb", "/a%5Cb", "/a%00b", "/%2F", "/a\\b", "\\",
                          "/a/..\\x", "http://h/a%2F..", "http://h/\\"}) {
    EXPECT_FALSE(canon(url)) << url;
  }
}

TEST(CanonicalUrl, MalformedEscapes) {
  for (const char* url : {"/%", "/a%", "/%4", "/a%4", "/%zz", "/%g1", "/%1g", "/%%41", "/% 41",
                          "/%4?x", "/%4#x", "http://h/%"}) {
    EXPECT_FALSE(canon(url)) << url;
  }
  // Escapes in the query and fragment are not checked here.
  auto r = canon("/ok?%zz=%#%");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->subject, "/ok");
  EXPECT_EQ(r->query, "%zz=%");
}

TEST(CanonicalUrl, DotSegments) {
  EXPECT_EQ(subject("/."), "/");
  EXPECT_EQ(subject("/./"), "/");
  EXPECT_EQ(subject("/a/.."), "/");
  EXPECT_EQ(subject("/a/../"), "/");
  EXPECT_EQ(subject("/a/b/../c"), "/a/c");
  EXPECT_EQ(subject("/a/b/../../c"), "/c");
  EXPECT_EQ(subject("/a/../.."), "<malformed>");
  EXPECT_EQ(subject("/a/../../b"), "<malformed>");
  EXPECT_EQ(subject("/../a"), "<malformed>");
  EXPECT_EQ(subject("/%2e%2e"), "<malformed>");
  EXPECT_EQ(subject("/.%2E/a"), "<malformed>");
  EXPECT_EQ(subject("/a/%2e/b"), "/a/b");
  EXPECT_EQ(subject("/a/%2E%2E/b"), "/b");
  EXPECT_EQ(subject("/a/.%2e"), "/");
  // Not dot segments.
  EXPECT_EQ(subject("/a/.../b"), "/a/.../b");
  EXPECT_EQ(subject("/a/.b/..c/c../d."), "/a/.b/..c/c../d.");
  EXPECT_EQ(subject("/a/%2e%2e%2e"), "/a/...");
  EXPECT_EQ(subject("/a/%252e%252e/b"), "/a/%252e%252e/b");
}

TEST(CanonicalUrl, SlashRuns) {
  EXPECT_EQ(subject("//"), "/");
  EXPECT_EQ(subject("///a///b///"), "/a/b/");
  EXPECT_EQ(subject("/a//.//b"), "/a/b");
  // Runs collapse before dot removal, so `..` after `//` climbs a real segment.
  EXPECT_EQ(subject("/a//.."), "/");
  EXPECT_EQ(subject("/a/b//../c"), "/a/c");
  EXPECT_EQ(subject("http://H//"), "http://h/");
  EXPECT_EQ(subject("http://H//x//"), "http://h/x/");
}

TEST(CanonicalUrl, Idempotent) {
  for (const char* url : {"/a/../b//c/./d/", "/%7e%41/%3a", "/x/%2e/y/..", "//", "/a b/c"}) {
    auto first = canon(url);
    ASSERT_TRUE(first) << url;
    EXPECT_EQ(subject(first->subject), first->subject) << url;
  }
  auto abs = canon("HTTPS://Jira.Example.COM:8443//rest/../api/%7e?x=1#f");
  ASSERT_TRUE(abs);
  EXPECT_EQ(subject(abs->subject), abs->subject);
}

TEST(CanonicalUrl, BufferSize) {
  canonical_url r;
  r.subject = "untouched";
  const std::string_view url = "/a/b";
  char buf[16];
  EXPECT_FALSE(canonicalize_url(url, buf, url.size(), r));  // one short
  EXPECT_FALSE(canonicalize_url(url, buf, 0, r));
  EXPECT_FALSE(canonicalize_url(url, nullptr, 16, r));
  EXPECT_EQ(r.subject, "untouched");  // not written on failure
  ASSERT_TRUE(canonicalize_url(url, buf, url.size() + 1, r));
  EXPECT_EQ(r.subject, "/a/b");
  // The one shape that grows: an absolute URL with an empty path.
  const std::string_view bare = "http://a";
  EXPECT_FALSE(canonicalize_url(bare, buf, bare.size(), r));
  ASSERT_TRUE(canonicalize_url(bare, buf, bare.size() + 1, r));
  EXPECT_EQ(r.subject, "http://a/");
}

TEST(CanonicalUrl, NeverWritesPastRequiredSize) {
  // Guard bytes after the required size stay untouched.
  for (const std::string_view url : {"http://a", "/a/./b/../c", "/%41%42", "/x%3a", "HTTP://A?x"}) {
    std::vector<char> buf(url.size() + 1 + 8, '#');
    canonical_url r;
    ASSERT_TRUE(canonicalize_url(url, buf.data(), url.size() + 1, r)) << url;
    for (std::size_t i = url.size() + 1; i < buf.size(); ++i) EXPECT_EQ(buf[i], '#') << url;
    EXPECT_LE(r.subject.size(), url.size() + 1);
  }
}

/// Independent reference for origin-form paths built from the property test's
/// pieces: decode, split, resolve with a stack. nullopt when malformed.
std::optional<std::string> reference_path(const std::string& path) {
  std::string decoded;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path.compare(i, 3, "%2e") == 0 || path.compare(i, 3, "%2E") == 0) {
      decoded += '.';
      i += 2;
    } else if (path.compare(i, 3, "%41") == 0) {
      decoded += 'A';
      i += 2;
    } else {
      decoded += path[i];
    }
  }
  std::vector<std::string> stack;
  bool trailing = false;
  std::size_t i = 0;
  while (i < decoded.size()) {
    while (i < decoded.size() && decoded[i] == '/') ++i;
    if (i == decoded.size()) break;
    const std::size_t s = i;
    while (i < decoded.size() && decoded[i] != '/') ++i;
    const std::string seg = decoded.substr(s, i - s);
    if (seg == ".") {
      trailing = true;
    } else if (seg == "..") {
      if (stack.empty()) return std::nullopt;
      stack.pop_back();
      trailing = true;
    } else {
      stack.push_back(seg);
      trailing = i < decoded.size();
    }
  }
  std::string out;
  for (const auto& seg : stack) out += "/" + seg;
  if (out.empty() || trailing) out += "/";
  return out;
}

TEST(CanonicalUrl, PropertyRandomPaths) {
  const char* const pieces[] = {"a", ".", "/", "%2e", "%2E", "%41", ".."};
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;  // fixed seed
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int accepted = 0;
  int refused = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    std::string path = "/";
    const int n = static_cast<int>(next() % 12);
    for (int k = 0; k < n; ++k) path += pieces[next() % std::size(pieces)];
    const auto got = canon(path);
    const auto want = reference_path(path);
    ASSERT_EQ(got.has_value(), want.has_value()) << path;
    if (!got) {
      ++refused;
      continue;
    }
    ++accepted;
    const std::string& s = got->subject;
    ASSERT_EQ(s, *want) << path;
    ASSERT_FALSE(s.empty()) << path;
    EXPECT_EQ(s[0], '/') << path;
    EXPECT_EQ(s.find("//"), std::string::npos) << path << " -> " << s;
    EXPECT_EQ(s.find("/./"), std::string::npos) << path << " -> " << s;
    EXPECT_EQ(s.find("/../"), std::string::npos) << path << " -> " << s;
    EXPECT_FALSE(s.ends_with("/.")) << path << " -> " << s;
    EXPECT_FALSE(s.ends_with("/..")) << path << " -> " << s;
    EXPECT_EQ(s.find('%'), std::string::npos) << path << " -> " << s;
    EXPECT_EQ(subject(s), s) << path;
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(refused, 300);
}

}  // namespace

namespace {

/// The verbatim shortcut (a path without '%', '\', "//" or "/." is copied as is)
/// against the full decode + normalise path, on URLs built from the pieces
/// that matter to either.
TEST(CanonicalUrl, VerbatimShortcutAgreesWithTheFullPath) {
  const std::vector<std::string_view> pieces = {"/",   "//",  ".",   "..", "a",  "B",  "%2e", "%2E",
                                                "%41", "%2F", "%zz", "\\", "?",  "#",  "-",   "~",
                                                "=",   "&",   "%",   "./", "/.", "x.y"};
  const std::vector<std::string_view> heads = {"", "https://Jira.Example.com", "http://h:8080",
                                               "HTTP://a"};
  std::mt19937 rng(4242);
  std::size_t verbatim_ok = 0;
  for (int n = 0; n < 100000; ++n) {
    std::string url(heads[rng() % heads.size()]);
    url += '/';
    const std::size_t count = rng() % 20;  // past 17 bytes: the 16-byte steps too
    for (std::size_t i = 0; i < count; ++i) url += pieces[rng() % pieces.size()];
    std::vector<char> fast_buf(url.size() + 1);
    std::vector<char> full_buf(url.size() + 1);
    canonical_url fast;
    canonical_url full;
    const bool fast_ok = canonicalize_url(url, fast_buf.data(), fast_buf.size(), fast);
    const bool full_ok = tokenguard::detail::canonical_url_impl::canonicalize(
        url, full_buf.data(), full_buf.size(), full, false);
    ASSERT_EQ(fast_ok, full_ok) << url;
    if (!fast_ok) continue;
    ASSERT_EQ(fast.subject, full.subject) << url;
    ASSERT_EQ(fast.query, full.query) << url;
    const std::string path = url.substr(0, url.find_first_of("?#"));
    if (path.find_first_of("%\\") == std::string::npos &&
        path.find("//", url.find("://") == std::string::npos ? 0 : url.find("://") + 3) ==
            std::string::npos &&
        path.find("/.") == std::string::npos) {
      ++verbatim_ok;
    }
  }
  EXPECT_GT(verbatim_ok, 1000U);  // the shortcut itself was taken often
}

}  // namespace

namespace {

/// Against the plain SPEC 4 reference that fuzz_canonical_url uses, on URLs
/// whose scheme, authority, path and query are 0 to 40 bytes long, so that
/// each part begins, ends or holds the byte that matters in every lane of the
/// 16-byte steps and of the last step (which overlaps the one before it).
TEST(CanonicalUrl, AgreesWithTheReferenceAcrossBlockBoundaries) {
  const std::string path_bytes = "aZ09-._~/%2e%41%2F.";
  const std::string authority_bytes = "aB3.-:@[]";
  const std::vector<char> odd_bytes = {'\\',   '?',    '#',    '/',    '%',  '.', ' ',
                                       '\x1f', '\x7f', '\x80', '\xff', '\0', 'Q', '='};
  std::mt19937_64 rng(20261203);
  const auto pick = [&rng](const std::string& from, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += from[rng() % from.size()];
    return out;
  };
  std::size_t accepted = 0;
  std::size_t refused = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string url;
    if (rng() % 4 != 0) {
      url = rng() % 2 == 0 ? "https://" : "HTTP+x.1://";
      url += pick(authority_bytes, rng() % 41);
    }
    url += '/';
    url += pick(path_bytes, rng() % 41);
    if (rng() % 3 == 0) url += '?' + pick(path_bytes + "=&#", rng() % 20);
    if (rng() % 2 == 0) url[rng() % url.size()] = odd_bytes[rng() % odd_bytes.size()];
    const auto got = canon(url);
    const auto want = tokenguard::fuzz::reference_canonical_url(url);
    ASSERT_EQ(got.has_value(), want.has_value()) << url;
    if (!got) {
      ++refused;
      continue;
    }
    ++accepted;
    ASSERT_EQ(got->subject, want->subject) << url;
    ASSERT_EQ(got->query, want->query) << url;
    // The authorizer tells the rules the subject is printable ASCII without scanning it.
    for (const char c : got->subject) ASSERT_TRUE(c >= 0x20 && c <= 0x7E) << url;
  }
  // Both answers, many times over.
  EXPECT_GT(accepted, 20000U);
  EXPECT_GT(refused, 20000U);
}

}  // namespace

namespace {

/// The verbatim flag only speeds things up, so no subject shows it: the scan
/// must not take the authority's "//" or a byte it already passed for the
/// path's (here the last 16-byte step reaches back over "http://").
TEST(CanonicalUrl, ScanPathLooksOnlyAtThePath) {
  using tokenguard::detail::canonical_url_impl::scan_path;
  for (const std::string_view url :
       {"http://ab/cdefgh", "http://ab/cdefgh?x//y", "http://a.example/c/d/e/f/g/h/i/jk"}) {
    bool verbatim = true;
    const std::size_t pos = url.find('/', 7);
    EXPECT_EQ(scan_path(url, pos, verbatim), std::min(url.find('?'), url.size())) << url;
    EXPECT_TRUE(verbatim) << url;
  }
  for (const std::string_view url :
       {"http://ab/cdef%41", "http://ab/cd//fgh", "http://ab/cdef/."}) {
    bool verbatim = true;
    EXPECT_EQ(scan_path(url, 9, verbatim), url.size()) << url;
    EXPECT_FALSE(verbatim) << url;
  }
}

}  // namespace
