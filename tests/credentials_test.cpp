#include "tokenguard/credentials.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

namespace {

using tokenguard::auth_mode;
using tokenguard::auth_scheme;
using tokenguard::constant_time_equal;
using tokenguard::credentials;
using tokenguard::credentials_status;
using tokenguard::max_authorization_bytes;
using tokenguard::parse_auth_mode;
using tokenguard::parse_authorization;
using tokenguard::detail::base64_encode;

constexpr auto ok = credentials_status::ok;
constexpr auto missing = credentials_status::missing;
constexpr auto malformed = credentials_status::malformed;
constexpr auto not_enabled = credentials_status::scheme_not_enabled;

/// Owns the header (Bearer views point into it) and scratch sized exactly as
/// documented, on the heap so that ASan sees overruns.
struct parsed {
  std::string header;
  std::unique_ptr<char[]> scratch = std::make_unique<char[]>(max_authorization_bytes);
  credentials creds{};
  credentials_status status = credentials_status::ok;
};

std::unique_ptr<parsed> parse(std::string_view header, auth_mode mode) {
  auto p = std::make_unique<parsed>();
  p->header = std::string(header);
  p->status = parse_authorization(p->header, mode, p->scratch.get(), p->creds);
  if (p->status != ok) {
    EXPECT_TRUE(p->creds.user.empty()) << header;
    EXPECT_TRUE(p->creds.secret.empty()) << header;
  } else {
    EXPECT_FALSE(p->creds.secret.empty()) << header;
  }
  return p;
}

std::string basic(std::string_view user_colon_secret) {
  return "Basic " + base64_encode(user_colon_secret);
}

struct row {
  std::string header;
  credentials_status basic_mode;
  credentials_status bearer_mode;
  credentials_status both_mode;
};

TEST(Credentials, StatusForEveryMode) {
  const row rows[] = {
      // absent or blank
      {"", missing, missing, missing},
      {" ", missing, missing, missing},
      {" \t  \t", missing, missing, missing},
      // well-formed
      {basic("alice:s3cret"), ok, not_enabled, ok},
      {"Bearer abc.DEF-123_~+/=", not_enabled, ok, ok},
      // scheme alone
      {"Basic", malformed, not_enabled, malformed},
      {"Basic   ", malformed, not_enabled, malformed},
      {"Bearer", not_enabled, malformed, malformed},
      {"Bearer   ", not_enabled, malformed, malformed},
      {"\tbearer\t", not_enabled, malformed, malformed},
      // a disabled scheme wins over whatever follows it
      {"Basic !!!garbage!!!", malformed, not_enabled, malformed},
      {"Basic " + base64_encode("nocolon"), malformed, not_enabled, malformed},
      {"Bearer a b", not_enabled, malformed, malformed},
      // other schemes, or no scheme
      {"Digest username=\"a\"", malformed, malformed, malformed},
      {"Token abc", malformed, malformed, malformed},
      {"Basically " + base64_encode("a:b"), malformed, malformed, malformed},
      {"Bear abc", malformed, malformed, malformed},
      {"Bearerabc", malformed, malformed, malformed},
      {"Basic:" + base64_encode("a:b"), malformed, malformed, malformed},
      {"abc", malformed, malformed, malformed},
      {base64_encode("a:b"), malformed, malformed, malformed},
      // bad Basic payloads
      {"Basic " + base64_encode("user:"), malformed, not_enabled, malformed},
      {"Basic " + base64_encode(":"), malformed, not_enabled, malformed},
      {"Basic " + base64_encode(""), malformed, not_enabled, malformed},
      {"Basic dXNlcjpwYXNz=", malformed, not_enabled, malformed},
      {"Basic dXNlcjpwYXN", malformed, not_enabled, malformed},
      {"Basic dXNlcjpw YXNz", malformed, not_enabled, malformed},
      {"Basic QR==", malformed, not_enabled, malformed},
      // Empty Basic user: ok at this layer, the authorizer decides.
      {"Basic " + base64_encode(":secret"), ok, not_enabled, ok},
  };
  for (const row& r : rows) {
    EXPECT_EQ(parse(r.header, auth_mode::basic)->status, r.basic_mode) << "basic: " << r.header;
    EXPECT_EQ(parse(r.header, auth_mode::bearer)->status, r.bearer_mode) << "bearer: " << r.header;
    EXPECT_EQ(parse(r.header, auth_mode::both)->status, r.both_mode) << "both: " << r.header;
  }
}

TEST(Credentials, BasicUserAndSecret) {
  const auto p = parse(basic("alice:s3cret"), auth_mode::basic);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.scheme, auth_scheme::basic);
  EXPECT_EQ(p->creds.user, "alice");
  EXPECT_EQ(p->creds.secret, "s3cret");
  // Views point into scratch, not into the header.
  EXPECT_EQ(p->creds.user.data(), p->scratch.get());
}

TEST(Credentials, BearerSecretPointsIntoHeader) {
  const auto p = parse("Bearer tok-123", auth_mode::both);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.scheme, auth_scheme::bearer);
  EXPECT_TRUE(p->creds.user.empty());
  EXPECT_EQ(p->creds.secret, "tok-123");
  EXPECT_EQ(p->creds.secret.data(), p->header.data() + 7);
}

TEST(Credentials, SchemeIsCaseInsensitive) {
  for (const std::string_view scheme : {"Basic", "basic", "BASIC", "bAsIc"}) {
    const auto p = parse(std::string(scheme) + " " + base64_encode("u:p"), auth_mode::basic);
    EXPECT_EQ(p->status, ok) << scheme;
    EXPECT_EQ(p->creds.secret, "p");
  }
  for (const std::string_view scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    const auto p = parse(std::string(scheme) + " tok", auth_mode::bearer);
    EXPECT_EQ(p->status, ok) << scheme;
    EXPECT_EQ(p->creds.secret, "tok");
  }
  // The payload is not case-folded.
  EXPECT_EQ(parse("Bearer AbC", auth_mode::bearer)->creds.secret, "AbC");
}

TEST(Credentials, SpacesAndTabs) {
  const std::string b64 = base64_encode("u:p");
  for (const std::string& header :
       {"Basic  " + b64, "Basic\t" + b64, "Basic \t \t" + b64, "  Basic " + b64,
        "Basic " + b64 + "  ", "\t Basic\t\t" + b64 + " \t"}) {
    const auto p = parse(header, auth_mode::basic);
    EXPECT_EQ(p->status, ok) << header;
    EXPECT_EQ(p->creds.user, "u");
    EXPECT_EQ(p->creds.secret, "p");
  }
  for (const std::string_view header : {"Bearer   tok", "Bearer\ttok", " \tBearer \t tok \t "}) {
    const auto p = parse(header, auth_mode::bearer);
    EXPECT_EQ(p->status, ok) << header;
    EXPECT_EQ(p->creds.secret, "tok");
  }
  // Only space and tab separate or trim: other whitespace stays and is refused.
  EXPECT_EQ(parse("Bearer\ntok", auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Bearer tok\r\n", auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Basic " + b64 + "\r\n", auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse("\nBasic " + b64, auth_mode::basic)->status, malformed);
}

TEST(Credentials, ColonInSecret) {
  const auto p = parse(basic("user:pa:ss"), auth_mode::basic);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.user, "user");
  EXPECT_EQ(p->creds.secret, "pa:ss");
  const auto q = parse(basic("user::"), auth_mode::basic);
  ASSERT_EQ(q->status, ok);
  EXPECT_EQ(q->creds.user, "user");
  EXPECT_EQ(q->creds.secret, ":");
}

TEST(Credentials, EmptyUser) {
  const auto p = parse(basic(":secret"), auth_mode::both);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.scheme, auth_scheme::basic);
  EXPECT_TRUE(p->creds.user.empty());
  EXPECT_EQ(p->creds.secret, "secret");
}

TEST(Credentials, EmptySecretAndNoColon) {
  EXPECT_EQ(parse(basic("user:"), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic(":"), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic("usersecret"), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic("u"), auth_mode::basic)->status, malformed);
}

TEST(Credentials, BearerWithInnerWhitespace) {
  EXPECT_EQ(parse("Bearer abc def", auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Bearer abc\tdef", auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Bearer abc\vdef", auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Bearer abc\x7f", auth_mode::bearer)->status, malformed);
  // Non-ASCII bytes are not whitespace: passed through for the store lookup to judge.
  const auto p = parse("Bearer caf\xc3\xa9", auth_mode::bearer);
  EXPECT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.secret, "caf\xc3\xa9");
}

TEST(Credentials, NulBytes) {
  using namespace std::string_literals;
  // Decoded NUL in user or in secret.
  EXPECT_EQ(parse(basic("us\0er:secret"s), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic("user:sec\0ret"s), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic("user:\0"s), auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse(basic("\0:secret"s), auth_mode::basic)->status, malformed);
  // Raw NUL in the header.
  EXPECT_EQ(parse("Bearer ab\0cd"s, auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Bearer abcd\0"s, auth_mode::bearer)->status, malformed);
  EXPECT_EQ(parse("Basic\0 dTpw"s, auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse("Basic dTpw\0"s, auth_mode::basic)->status, malformed);
  EXPECT_EQ(parse("\0"s, auth_mode::basic)->status, malformed);
  // Other control bytes are allowed inside a decoded Basic payload.
  const auto p = parse(basic("u\x01:s\x02\xff"), auth_mode::basic);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.user, "u\x01");
  EXPECT_EQ(p->creds.secret, "s\x02\xff");
}

TEST(Credentials, OversizedHeader) {
  // Largest accepted Bearer header, then one byte more.
  std::string header = "Bearer ";
  header.append(max_authorization_bytes - header.size(), 'x');
  ASSERT_EQ(header.size(), max_authorization_bytes);
  EXPECT_EQ(parse(header, auth_mode::bearer)->status, ok);
  header += 'x';
  EXPECT_EQ(parse(header, auth_mode::bearer)->status, malformed);

  // Largest Basic payload that fits fills scratch to its decoded size.
  const std::size_t b64_chars = (max_authorization_bytes - 6) / 4 * 4;
  const std::string secret(b64_chars / 4 * 3 - 2, 's');
  const std::string big = basic("u:" + secret);
  ASSERT_LE(big.size(), max_authorization_bytes);
  const auto p = parse(big, auth_mode::basic);
  ASSERT_EQ(p->status, ok);
  EXPECT_EQ(p->creds.secret, secret);
  EXPECT_EQ(parse(basic("u:" + secret + "sss"), auth_mode::basic)->status, malformed);

  // A blank header is missing whatever its length; a scheme the mode does not enable is
  // refused as such whatever follows it; the limit applies to the raw value after that.
  EXPECT_EQ(parse(std::string(max_authorization_bytes + 1, ' '), auth_mode::basic)->status,
            missing);
  EXPECT_EQ(parse(std::string(max_authorization_bytes, ' '), auth_mode::basic)->status, missing);
  EXPECT_EQ(parse(header, auth_mode::basic)->status, not_enabled);
  EXPECT_EQ(parse("Digest " + std::string(max_authorization_bytes, 'x'), auth_mode::both)->status,
            malformed);
  EXPECT_EQ(
      parse("Bearer tok" + std::string(max_authorization_bytes, ' '), auth_mode::bearer)->status,
      malformed);
}

TEST(Credentials, SchemeReportedWhenNotEnabled) {
  EXPECT_EQ(parse("Bearer tok", auth_mode::basic)->creds.scheme, auth_scheme::bearer);
  EXPECT_EQ(parse("Basic x", auth_mode::bearer)->creds.scheme, auth_scheme::basic);
}

TEST(Credentials, OutIsResetOnFailure) {
  auto scratch = std::make_unique<char[]>(max_authorization_bytes);
  credentials c{auth_scheme::bearer, "stale", "stale"};
  EXPECT_EQ(parse_authorization("Digest x", auth_mode::both, scratch.get(), c), malformed);
  EXPECT_TRUE(c.user.empty());
  EXPECT_TRUE(c.secret.empty());
}

TEST(AuthMode, NamesRoundTrip) {
  for (const auth_mode m : {auth_mode::basic, auth_mode::bearer, auth_mode::both}) {
    EXPECT_EQ(parse_auth_mode(to_string(m)), m);
  }
  EXPECT_EQ(to_string(auth_mode::basic), "basic");
  EXPECT_EQ(to_string(auth_mode::bearer), "bearer");
  EXPECT_EQ(to_string(auth_mode::both), "both");
  EXPECT_EQ(parse_auth_mode("Basic"), std::nullopt);
  EXPECT_EQ(parse_auth_mode(" basic"), std::nullopt);
  EXPECT_EQ(parse_auth_mode(""), std::nullopt);
  EXPECT_EQ(parse_auth_mode("none"), std::nullopt);
  EXPECT_EQ(auth_mode{}, auth_mode::basic);  // the default, as the original
}

TEST(ConstantTimeEqual, Cases) {
  using namespace std::string_literals;
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal(std::string_view{}, std::string_view{}));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "xbc"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("ab", "abc"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal("abc", "ABC"));  // secrets are case-sensitive
  EXPECT_TRUE(constant_time_equal("a\0b"s, "a\0b"s));
  EXPECT_FALSE(constant_time_equal("a\0b"s, "a\0c"s));
  EXPECT_TRUE(constant_time_equal("\xff\x80"s, "\xff\x80"s));
  const std::string big(10000, 'k');
  std::string other = big;
  EXPECT_TRUE(constant_time_equal(big, other));
  other.back() = 'j';
  EXPECT_FALSE(constant_time_equal(big, other));
}

}  // namespace
