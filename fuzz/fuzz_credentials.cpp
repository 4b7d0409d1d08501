// Fuzz target: the Authorization header (SPEC 5), parse_authorization in the
// three auth modes, and the strict base64 decoder under it.
//
// Input: the header value, raw bytes.
// Invariants:
// - ok implies a non-empty secret, a scheme the mode enables, and (Basic) no
//   NUL byte; Bearer: the secret is the trimmed rest of the header;
// - the modes agree: missing in one mode is missing in all; `both` answers
//   exactly what `basic` or `bearer` answers for the scheme presented;
// - Basic round trip: re-encoding user ':' secret with detail::base64_encode
//   parses back to the same user and secret;
// - the input read as "user:secret" and encoded with base64_encode parses to
//   that user and secret when SPEC 5 allows it, and is malformed otherwise.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "tokenguard/credentials.hpp"

namespace {

using tokenguard::auth_mode;
using tokenguard::auth_scheme;
using tokenguard::credentials;
using tokenguard::credentials_status;
using tokenguard::fuzz::show;

struct parsed {
  credentials_status status;
  credentials cred;
  std::string user, secret;  ///< copies: the views point into scratch
};

parsed parse(std::string_view header, auth_mode mode) {
  // Exact-size heap scratch, so that ASan sees any write past its end.
  const std::unique_ptr<char[]> scratch(new char[tokenguard::max_authorization_bytes]);
  parsed out;
  out.status = tokenguard::parse_authorization(header, mode, scratch.get(), out.cred);
  out.user = std::string(out.cred.user);
  out.secret = std::string(out.cred.secret);
  return out;
}

const char* name(credentials_status s) {
  switch (s) {
    case credentials_status::ok:
      return "ok";
    case credentials_status::missing:
      return "missing";
    case credentials_status::malformed:
      return "malformed";
    case credentials_status::scheme_not_enabled:
      return "scheme_not_enabled";
  }
  return "?";
}

bool same(const parsed& a, const parsed& b) {
  return a.status == b.status && a.user == b.user && a.secret == b.secret &&
         (a.status != credentials_status::ok || a.cred.scheme == b.cred.scheme);
}

void check_one(std::string_view header, auth_mode mode, const parsed& p) {
  // Failure messages are built only on failure: the fuzzer runs this millions of times.
  const auto where = [&] {
    return "header " + show(header) + " mode " + std::string(tokenguard::to_string(mode)) + ": " +
           name(p.status);
  };
  if (p.status != credentials_status::ok) {
    TOKENGUARD_FUZZ_CHECK(p.user.empty() && p.secret.empty(), where() + " but views are not empty");
    return;
  }
  TOKENGUARD_FUZZ_CHECK(!p.secret.empty(), where() + " with an empty secret");
  TOKENGUARD_FUZZ_CHECK(header.size() <= tokenguard::max_authorization_bytes, where());
  if (p.cred.scheme == auth_scheme::bearer) {
    TOKENGUARD_FUZZ_CHECK(mode != auth_mode::basic, where() + ": Bearer accepted in basic mode");
    TOKENGUARD_FUZZ_CHECK(p.user.empty(), where() + ": Bearer with a user");
    for (const char c : p.secret) {
      const auto u = static_cast<unsigned char>(c);
      TOKENGUARD_FUZZ_CHECK(u > 0x20 && u != 0x7F,
                            where() + ": Bearer secret byte " + show(p.secret));
    }
    TOKENGUARD_FUZZ_CHECK(header.find(p.secret) != std::string_view::npos, where());
    return;
  }
  TOKENGUARD_FUZZ_CHECK(mode != auth_mode::bearer, where() + ": Basic accepted in bearer mode");
  TOKENGUARD_FUZZ_CHECK(p.user.find('\0') == std::string::npos &&
                            p.secret.find('\0') == std::string::npos &&
                            p.user.find(':') == std::string::npos,
                        where() + ": user " + show(p.user) + " secret " + show(p.secret));
  // Round trip: the canonical encoding of what was decoded parses to the same.
  const std::string again = "Basic " + tokenguard::detail::base64_encode(p.user + ":" + p.secret);
  const parsed q = parse(again, mode);
  TOKENGUARD_FUZZ_CHECK(
      q.status == credentials_status::ok && q.user == p.user && q.secret == p.secret,
      where() + ": re-encoded " + show(again) + " parses to " + name(q.status) + " user " +
          show(q.user) + " secret " + show(q.secret));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  const parsed basic = parse(header, auth_mode::basic);
  const parsed bearer = parse(header, auth_mode::bearer);
  const parsed both = parse(header, auth_mode::both);
  check_one(header, auth_mode::basic, basic);
  check_one(header, auth_mode::bearer, bearer);
  check_one(header, auth_mode::both, both);

  const auto where = [&] {
    return "header " + show(header) + ": basic " + name(basic.status) + ", bearer " +
           name(bearer.status) + ", both " + name(both.status);
  };
  const bool missing = basic.status == credentials_status::missing;
  TOKENGUARD_FUZZ_CHECK((bearer.status == credentials_status::missing) == missing &&
                            (both.status == credentials_status::missing) == missing,
                        where());
  // In `both`, a presented scheme gets the answer of the mode that enables it;
  // in the other mode it is scheme_not_enabled. An unknown scheme is malformed everywhere.
  if (basic.status == credentials_status::scheme_not_enabled) {
    TOKENGUARD_FUZZ_CHECK(same(both, bearer), where());
  } else if (bearer.status == credentials_status::scheme_not_enabled) {
    TOKENGUARD_FUZZ_CHECK(same(both, basic), where());
  } else {
    TOKENGUARD_FUZZ_CHECK(basic.status == bearer.status && bearer.status == both.status &&
                              basic.status != credentials_status::ok,
                          where());
  }

  // The input as "user:secret", encoded canonically.
  const std::string encoded = tokenguard::detail::base64_encode(header);
  const std::string built = "Basic " + encoded;
  const parsed from_input = parse(built, auth_mode::basic);
  const std::size_t colon = header.find(':');
  const bool acceptable = built.size() <= tokenguard::max_authorization_bytes &&
                          colon != std::string::npos && colon + 1 < header.size() &&
                          header.find('\0') == std::string::npos;
  if (acceptable) {
    TOKENGUARD_FUZZ_CHECK(from_input.status == credentials_status::ok &&
                              from_input.user == header.substr(0, colon) &&
                              from_input.secret == header.substr(colon + 1),
                          "user:secret " + show(header) + " encoded as " + show(built) +
                              " parses to " + name(from_input.status) + " user " +
                              show(from_input.user) + " secret " + show(from_input.secret));
  } else {
    TOKENGUARD_FUZZ_CHECK(from_input.status == credentials_status::malformed,
                          "user:secret " + show(header) + " encoded as " + show(built) +
                              " parses to " + name(from_input.status));
  }

  // Strict base64: whatever decodes re-encodes to exactly the input.
  const std::size_t room = tokenguard::detail::base64_max_decoded_size(header.size());
  const std::unique_ptr<char[]> out(new char[room]);  // exact: ASan sees an overrun
  std::size_t decoded_len = 0;
  const bool decodes = tokenguard::detail::base64_decode_strict(header, out.get(), decoded_len);
  if (decodes) {
    TOKENGUARD_FUZZ_CHECK(decoded_len <= room, "base64 " + show(header) + " overran");
    const std::string decoded(out.get(), decoded_len);
    TOKENGUARD_FUZZ_CHECK(tokenguard::detail::base64_encode(decoded) == header,
                          "base64 " + show(header) + " decodes to " + show(decoded) +
                              " which encodes to something else");
  }
  // The vector paths (AVX2 where the processor has it, else SSE2) and the portable one agree.
  const std::unique_ptr<char[]> portable(new char[room]);
  std::size_t portable_len = 0;
  const bool portable_decodes =
      tokenguard::detail::base64_impl::decode_strict<tokenguard::detail::base64_impl::swar_block>(
          header, portable.get(), portable_len);
  TOKENGUARD_FUZZ_CHECK(portable_decodes == decodes && portable_len == decoded_len &&
                            std::string_view(portable.get(), portable_len) ==
                                std::string_view(out.get(), decoded_len),
                        "base64 " + show(header) + ": the portable decoder disagrees");
  return 0;
}
