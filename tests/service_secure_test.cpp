// Secure mode (SPEC 9): the store keeps only tokenSha256; a secret is shown
// once, in the answer that creates it, and never again: not in get, not in the
// file, not in error messages, not in audit records. Every output is searched.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "service_test_support.hpp"
#include "tokenguard/audit.hpp"
#include "tokenguard/service.hpp"

namespace tokenguard::testing {
namespace {

class ServiceSecure : public service_fixture {
 protected:
  /// Every byte the service let out, except the create answers.
  std::string outputs;
  void keep(const json_answer& a) { outputs += a.body + "\n"; }
  void keep_files() {
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      outputs += read_text(entry.path().string()) + "\n";
    }
  }
  void expect_nowhere(const std::vector<std::string>& secrets) {
    keep_files();
    for (const std::string& secret : secrets) {
      EXPECT_EQ(outputs.find(secret), std::string::npos) << "secret " << secret << " leaked";
    }
  }
};

TEST_F(ServiceSecure, ASecretIsShownOnceAndNeverAgain) {
  auto stream = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<json_lines_audit_sink>(*stream);
  service.reset();
  auto options = make_options();
  options.audit = sink;
  ASSERT_TRUE(open(options));
  keep(set(R"({"secureMode":true,"addAuditRecord":true,"collectUsageDetails":true})"));
  EXPECT_TRUE(service->settings().secure_mode);

  std::vector<std::string> secrets;
  std::vector<std::string> ids;
  for (const auto& [body, caller] :
       {std::pair{std::string(R"({"label":"generated"})"), admin},
        std::pair{std::string(R"({"label":"custom","token":"Custom-Secret-Value-42"})"), admin},
        std::pair{std::string(R"({"label":"alice's"})"), alice}}) {
    auto a = create(body, caller);
    secrets.emplace_back(a.str("token"));
    ids.emplace_back(a.str("id"));
    // Shown once, with its digest.
    EXPECT_EQ(a.str("tokenSha256"), detail::to_hex(detail::sha256(secrets.back())));
    EXPECT_EQ(a.body.find(secrets.back()), a.body.find(R"("token":")") + 9);
    EXPECT_EQ(a.body.find(secrets.back(), a.body.find(secrets.back()) + 1), std::string::npos);
  }
  ASSERT_EQ(secrets[1], "Custom-Secret-Value-42");

  // The secrets work; every decision is audited.
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    const decision d =
        decide("GET", "/rest/api/2/myself", i == 2 ? "alice" : "someone", secrets[i]);
    EXPECT_TRUE(d.allowed()) << i;
    service->audit(d, "GET", "/rest/api/2/myself", now_ms);
    const decision denied = decide("GET", "/rest/api/2/myself", "mallory", secrets[2]);
    service->audit(denied, "GET", "/rest/api/2/myself", now_ms);
  }

  // Everything else the service says: listings, errors that involve a secret.
  keep(get());
  keep(get("", alice));
  keep(get("?maxResults=1&startAt=1"));
  auto conflict = set(R"({"label":"dup","token":"Custom-Secret-Value-42"})");
  EXPECT_EQ(conflict.status, 409);
  keep(conflict);
  keep(del(R"({"token":"Custom-Secret-Value-43"})"));
  keep(del(R"({"token":")" + secrets[0] + R"("})", alice));  // 403: not hers
  EXPECT_TRUE(service->flush().ok());
  const std::string listed = get().body;
  EXPECT_EQ(listed.find(R"("token":)"), std::string::npos);
  EXPECT_NE(listed.find(R"("tokenSha256":")" + detail::to_hex(detail::sha256(secrets[0]))),
            std::string::npos);
  const std::string audit_text = stream->str();
  outputs += audit_text;
  EXPECT_EQ(std::count(audit_text.begin(), audit_text.end(), '\n'), 6);
  expect_nowhere(secrets);

  // Deleting by secret still works: the digest is compared.
  EXPECT_EQ(del(R"({"token":"Custom-Secret-Value-42"})").status, 200);
  EXPECT_EQ(decide("GET", "/x", "u", "Custom-Secret-Value-42").why(), reason::unknown_token);

  // Reopened, the store is still secure and the secrets still work.
  ASSERT_TRUE(open());
  EXPECT_TRUE(service->settings().secure_mode);
  EXPECT_EQ(decide("GET", "/x", "u", secrets[0]).why(), reason::allowed);
  keep(get());
  expect_nowhere(secrets);
}

TEST_F(ServiceSecure, TurningSecureModeOnReplacesEverySecretByItsDigest) {
  service.reset();
  write_text(store_path, R"({"tokens":[
    {"label":"a","user":"admin","token":"plain-secret-aaaaaa","id":"1"},
    {"label":"b","token":"plain-secret-bbbbbb","tokenSha256":")" +
                             detail::to_hex(detail::sha256("plain-secret-bbbbbb")) + R"(","id":"2"},
    {"label":"c","tokenSha256":")" +
                             detail::to_hex(detail::sha256("plain-secret-cccccc")) +
                             R"(","id":"3"}]})");
  ASSERT_TRUE(open());
  EXPECT_NE(get().body.find("plain-secret-aaaaaa"), std::string::npos);  // plaintext store

  auto a = set(R"({"secureMode":true})");
  EXPECT_EQ(a.status, 200);
  const parsed_store file = parse_store_json(read_text(store_path)).value();
  EXPECT_TRUE(file.settings.secure_mode);
  for (const token_record& r : file.tokens) {
    EXPECT_FALSE(r.token.has_value()) << r.label;
    ASSERT_TRUE(r.token_sha256.has_value()) << r.label;
  }
  EXPECT_EQ(*file.tokens[0].token_sha256, detail::to_hex(detail::sha256("plain-secret-aaaaaa")));
  for (const char* secret : {"plain-secret-aaaaaa", "plain-secret-bbbbbb", "plain-secret-cccccc"}) {
    EXPECT_EQ(decide("GET", "/x", "admin", secret).why(), reason::allowed) << secret;
  }
  keep(get());
  expect_nowhere({"plain-secret-aaaaaa", "plain-secret-bbbbbb", "plain-secret-cccccc"});
}

TEST_F(ServiceSecure, APlaintextSecretInASecureFileIsRemovedAtOpen) {
  service.reset();
  write_text(store_path, R"({"tokens":[{"label":"hand edit","token":"hand-edited-secret","id":"1"}],
    "settings":{"secureMode":true}})");
  ASSERT_TRUE(open());
  EXPECT_EQ(decide("GET", "/x", "u", "hand-edited-secret").why(), reason::allowed);
  keep(get());
  expect_nowhere({"hand-edited-secret"});
}

TEST_F(ServiceSecure, AMismatchedDigestIsNeverResolvedByDroppingTheSecret) {
  // Such a token fails closed (SPEC 8); keeping only either value would let
  // one secret in. Secure mode refuses until the token is fixed or deleted.
  service.reset();
  const std::string text =
      R"({"tokens":[{"label":"odd","token":"odd-secret-0123456","tokenSha256":")" +
      std::string(64, 'a') + R"(","id":"1"}]})";
  write_text(store_path, text);
  ASSERT_TRUE(open());
  auto a = set(R"({"secureMode":true})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(),
            R"(secureMode: token "odd": tokenSha256 is not the SHA-256 of token; a secure store )"
            "cannot keep the plaintext secret, so fix or delete this token first");
  EXPECT_FALSE(service->settings().secure_mode);
  EXPECT_EQ(read_text(store_path), text);  // untouched
  EXPECT_EQ(del(R"({"id":"1"})").status, 200);
  EXPECT_EQ(set(R"({"secureMode":true})").status, 200);

  service.reset();
  write_text(store_path,
             R"({"tokens":[{"label":"odd","token":"odd-secret-0123456","tokenSha256":")" +
                 std::string(64, 'a') + R"(","id":"1"}],"settings":{"secureMode":true}})");
  auto opened = token_service::open(store_path, *auth, make_options());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.message().find("tokenSha256 is not the SHA-256 of token"), std::string::npos);
}

TEST_F(ServiceSecure, ADuplicateOfADigestOnlySecretIsStill409) {
  ASSERT_EQ(set(R"({"secureMode":true})").status, 200);
  create(R"({"label":"a","token":"Only-Digest-Kept-01"})");
  auto a = set(R"({"label":"b","token":"Only-Digest-Kept-01"})");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body.find("Only-Digest-Kept-01"), std::string::npos);
}

}  // namespace
}  // namespace tokenguard::testing
