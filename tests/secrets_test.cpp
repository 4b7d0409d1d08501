// Secrets never leave (SPEC 5, 8, 9; issue 6 item 5): no error message, load
// problem, decision, CLI output, audit record or management answer contains a
// token's secret. Every store here uses recognisable secrets and fields that
// are wrong in every way the loader knows; each test first checks that the
// message it inspects exists (so that it is not vacuous), then that no secret,
// and no base64 spelling of a Basic credential carrying one, appears in it.
//
// The timing half of item 5 is a statistical tool, not a unit test:
// fuzz/timing_secret_compare.cpp (tokenguard_timing).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../tools/check.hpp"
#include "tokenguard/tokenguard.hpp"
#if __has_include("tokenguard/audit.hpp")
#include "tokenguard/audit.hpp"
#define TOKENGUARD_SECRETS_TEST_AUDIT 1
#endif
#if __has_include("tokenguard/service.hpp")
#include "tokenguard/service.hpp"
#define TOKENGUARD_SECRETS_TEST_SERVICE 1
#endif

namespace tokenguard {
namespace {

/// Recognisable secrets: no message text could hold them by accident.
const std::vector<std::string>& secrets() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 24; ++i) {
      out.push_back("S3CRET" + std::to_string(100 + i) + "-qzj8xw4vk2np7rt");
    }
    return out;
  }();
  return all;
}
const std::string& secret(std::size_t i) { return secrets().at(i); }

/// Also the forms a secret takes on the wire: `user:secret` in base64 for the
/// users these tests present, and the secret's own base64.
std::vector<std::string> forbidden_texts() {
  std::vector<std::string> out;
  for (const std::string& s : secrets()) {
    out.push_back(s);
    out.push_back(detail::base64_encode(s));
    for (const char* user : {"admin", "alice", "bob", ""}) {
      out.push_back(detail::base64_encode(std::string(user) + ":" + s));
    }
  }
  return out;
}

::testing::AssertionResult has_no_secret(std::string_view text) {
  static const std::vector<std::string> forbidden = forbidden_texts();
  for (const std::string& f : forbidden) {
    if (text.find(f) != std::string_view::npos) {
      return ::testing::AssertionFailure() << "contains " << f << ": " << text;
    }
  }
  return ::testing::AssertionSuccess();
}

std::string json_quoted(std::string_view s) { return detail::json_string(s); }

TEST(Secrets, TheCheckSeesASecretInAnyForm) {
  EXPECT_TRUE(has_no_secret("token 3 \"label\": limitTo line 1: bad"));
  EXPECT_FALSE(has_no_secret("bad token " + secret(3)));
  EXPECT_FALSE(has_no_secret("header Basic " + detail::base64_encode("alice:" + secret(5))));
  EXPECT_FALSE(has_no_secret(detail::base64_encode(secret(7))));
}

/// A token object; `extra` is appended inside the braces.
std::string token_json(std::string_view label, std::string_view secret_text,
                       std::string_view extra = "") {
  std::string out = "{\"label\":" + json_quoted(label) + ",\"token\":" + json_quoted(secret_text);
  if (!extra.empty()) out += "," + std::string(extra);
  return out + "}";
}

/// A store in which every token but the first two is wrong in its own way.
std::string bad_store() {
  std::vector<std::string> t;
  t.push_back(token_json("good", secret(0), R"("user":"admin","id":"good-1")"));
  t.push_back(token_json("open", secret(1), R"("id":"open-1","limitTo":"[get]")"));
  t.push_back(token_json("bad regex", secret(2), R"("limitTo":"[get]/ok<br>(unclosed")"));
  t.push_back(token_json("bad escape", secret(3), R"("limitTo":"/a\\\\b{g}")"));
  t.push_back(token_json("intersection", secret(4), R"("limitTo":"[a-z&&[^e]]")"));
  t.push_back(token_json("bad clause", secret(5), R"("limitTo":".*[QueryParam::==x]")"));
  t.push_back(token_json("bad ip", secret(6), R"("ip":"10.0.0.1/8")"));
  t.push_back(token_json("bad ip text", secret(7), R"("ip":"not-an-address")"));
  t.push_back(token_json("negative time", secret(8), R"("validUntil":-5)"));
  t.push_back(token_json("string time", secret(9), R"("validUntil":"tomorrow")"));
  t.push_back(token_json("string counter", secret(10), R"("counter":"many")"));
  t.push_back(token_json("long user", secret(11), "\"user\":\"" + std::string(300, 'u') + "\""));
  t.push_back(token_json(std::string(300, 'L'), secret(12)));
  t.push_back(token_json("", secret(13)));
  t.push_back("{\"token\":" + json_quoted(secret(14)) + "}");  // no label
  t.push_back(token_json("dup one", secret(15)));
  t.push_back(token_json("dup two", secret(15)));
  t.push_back(token_json("same id a", secret(16), R"("id":"shared")"));
  t.push_back(token_json("same id b", secret(17), R"("id":"shared")"));
  t.push_back(
      token_json("sha mismatch", secret(18), "\"tokenSha256\":\"" + std::string(64, '0') + "\""));
  t.push_back(token_json("sha short", secret(19), R"("tokenSha256":"abc")"));
  t.push_back(token_json("secret as user type", secret(20), R"("user":42)"));
  t.push_back(token_json("long limitTo", secret(21),
                         "\"limitTo\":\"" + std::string(70 * 1024, 'a') + "\""));
  t.push_back(
      token_json("long regex", secret(22), "\"limitTo\":\"" + std::string(2000, 'b') + "\""));
  t.push_back(R"({"label":"secret is a number","token":123456789})");
  std::string out = R"({"tokens":[)";
  for (std::size_t i = 0; i < t.size(); ++i) out += (i == 0 ? "" : ",") + t[i];
  return out + "]}";
}

constexpr std::size_t bad_store_tokens = 25;
constexpr std::size_t bad_store_loaded = 2;

TEST(Secrets, LoadProblemsNeverContainASecret) {
  const auto parsed = parse_store_json(bad_store());
  ASSERT_TRUE(parsed) << parsed.message();
  ASSERT_EQ(parsed.value().tokens.size(), bad_store_tokens);
  local_usage usage;
  const auto compiled = store::compile(parsed.value().tokens, usage);
  ASSERT_TRUE(compiled) << compiled.message();
  const auto problems = compiled.value()->problems();
  EXPECT_EQ(compiled.value()->size(), bad_store_loaded);
  ASSERT_EQ(problems.size(), bad_store_tokens - bad_store_loaded);
  for (const token_problem& p : problems) {
    EXPECT_FALSE(p.message.empty());
    EXPECT_TRUE(has_no_secret(p.message)) << "token " << p.index;
    EXPECT_TRUE(has_no_secret(p.label)) << "token " << p.index;
    EXPECT_TRUE(has_no_secret(cli::describe(p))) << "token " << p.index;
  }
}

TEST(Secrets, StrictLoadErrorNeverContainsASecret) {
  const auto parsed = parse_store_json(bad_store());
  ASSERT_TRUE(parsed);
  local_usage usage;
  const auto strict = store::compile(parsed.value().tokens, usage, limits{}, /*strict=*/true);
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.message().find("more problems"), std::string::npos) << strict.message();
  EXPECT_TRUE(has_no_secret(strict.message()));
}

TEST(Secrets, DocumentErrorsNeverContainASecret) {
  const std::string s = json_quoted(secret(0));
  const std::vector<std::string> documents = {
      // Not JSON, the error at, before and inside the secret.
      R"({"tokens":[{"label":"a","token":)" + s + R"( "id":"x"}]})",
      R"({"tokens":[{"label":"a","token":)" + s + "}",
      R"({"tokens":[{"label":"a","token":")" + secret(0),
      R"({"tokens":[{"label":"a","token":")" + secret(0) + "\x01\"}]}",
      R"({"tokens":[{"label":"a","token":")" + secret(0) + R"(\q"}]})",
      R"({"tokens":[{"label":"a","token":")" + secret(0) + "\xff\"}]}",
      R"({"tokens":[{"label":"a" "token":)" + s + "}]}",
      R"({"tokens":[{"label":"a","token":)" + s + "}]}" + s,
      "[" + s + "]",
      // Valid JSON, wrong shape.
      R"({"tokens":)" + s + "}",
      R"({"tokens":[)" + s + "]}",
      R"({"tokens":[],"settings":)" + s + "}",
      R"({"tokens":[],"settings":{"secureMode":)" + s + "}}",
      s,
      R"({"token":)" + s + "}",
  };
  for (const std::string& doc : documents) {
    const auto parsed = parse_store_json(doc);
    ASSERT_FALSE(parsed) << doc;
    EXPECT_FALSE(parsed.message().empty());
    EXPECT_TRUE(has_no_secret(parsed.message())) << doc;
  }
  // Over a limit.
  limits small;
  small.max_store_bytes = 16;
  const auto too_big = parse_store_json(R"([{"token":)" + s + "}]", small);
  ASSERT_FALSE(too_big);
  EXPECT_TRUE(has_no_secret(too_big.message()));
}

/// An authorizer over a store with one token per denial reason.
class SecretsDecisions : public ::testing::Test {
 protected:
  static constexpr std::int64_t now = 1'700'000'000'000;

  void SetUp() override {
    const std::string doc =
        "[" + token_json("bound", secret(0), R"("user":"admin","id":"id-bound")") + "," +
        token_json("any user", secret(1), R"("id":"id-any")") + "," +
        token_json("expired", secret(2), R"("user":"admin","validUntil":1000)") + "," +
        token_json("office", secret(3), R"("user":"admin","ip":"10.0.0.0/8")") + "," +
        token_json("get only", secret(4), R"("user":"admin","limitTo":"[get]/a")") + "," +
        token_json("once", secret(5), R"("user":"admin","usageLimit":1)") + "]";
    const auto parsed = parse_store_json(doc);
    ASSERT_TRUE(parsed) << parsed.message();
    const auto compiled = store::compile(parsed.value().tokens, auth.usage());
    ASSERT_TRUE(compiled) << compiled.message();
    ASSERT_TRUE(compiled.value()->problems().empty());
    auth.replace_store(compiled.value());
  }

  decision decide(std::string_view authorization, std::string_view url = "/a",
                  std::string_view method = "GET") {
    const request req{method, url, *ip_address::parse("192.0.2.1"), {}, authorization, {}};
    return auth.decide(req, now);
  }

  static std::string basic(std::string_view user, std::string_view secret_text) {
    return "Basic " + detail::base64_encode(std::string(user) + ":" + std::string(secret_text));
  }

  static authorizer_options both_schemes() {
    authorizer_options o;
    o.mode = auth_mode::both;
    return o;
  }
  authorizer auth{both_schemes()};
};

TEST_F(SecretsDecisions, NoDecisionCarriesASecret) {
  std::string near_miss = secret(0);
  near_miss.back() = 'X';
  const std::vector<std::pair<decision, reason>> cases = {
      {decide(basic("admin", secret(0))), reason::allowed},
      {decide("Bearer " + secret(0)), reason::allowed},
      {decide(basic("alice", secret(1))), reason::allowed},
      {decide("Bearer " + secret(1)), reason::user_required},
      {decide(basic("", secret(1))), reason::malformed_credentials},
      {decide(basic("bob", secret(0))), reason::user_mismatch},
      {decide(basic("admin", secret(2))), reason::expired},
      {decide(basic("admin", secret(3))), reason::ip_not_allowed},
      {decide(basic("admin", secret(4)), "/a", "POST"), reason::limit_to_mismatch},
      {decide(basic("admin", secret(5))), reason::allowed},
      {decide(basic("admin", secret(5))), reason::usage_exhausted},
      {decide(basic("admin", near_miss)), reason::unknown_token},
      {decide("Bearer " + near_miss), reason::unknown_token},
      {decide("Digest " + secret(0)), reason::malformed_credentials},
      {decide(basic("admin", secret(0)), "/a/../../x"), reason::malformed_request},
      {decide(basic(secret(0), secret(1))), reason::allowed},  // a user name that is a secret
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const decision& d = cases[i].first;
    EXPECT_EQ(d.why(), cases[i].second) << "case " << i << ": " << to_string(d.why());
    EXPECT_TRUE(has_no_secret(d.label())) << "case " << i;
    EXPECT_TRUE(has_no_secret(d.token_id())) << "case " << i;
    EXPECT_TRUE(has_no_secret(to_string(d.why()))) << "case " << i;
    if (i + 1 != cases.size()) {
      EXPECT_TRUE(has_no_secret(d.user())) << "case " << i;
    }
  }
}

/// Runs a CLI command as main() would, capturing stdout and stderr.
struct cli_run {
  int code = -1;
  std::string out, err;
};

template <class Command>
cli_run run_cli(Command command, std::vector<std::string> words) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("tokenguard"));
  for (std::string& w : words) argv.push_back(w.data());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  cli_run r;
  try {
    cli::args a(static_cast<int>(argv.size()), argv.data(), 1);
    r.code = command(a);
  } catch (const cli::usage_error& e) {
    std::cerr << "tokenguard: " << e.message << "\n";
    r.code = cli::exit_unusable;
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class SecretsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/tokenguard-secrets-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string write(const std::string& name, std::string_view text) const {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir;
};

TEST_F(SecretsCli, CheckOutputAndWarningsNeverContainASecret) {
  const std::string store_path = write("store.json", bad_store());
  auto basic = [](std::string_view user, const std::string& s) {
    return "Basic " + detail::base64_encode(std::string(user) + ":" + s);
  };
  std::string requests;
  auto line = [&](std::string_view method, std::string_view url, std::string_view authorization,
                  std::string_view extra = "") {
    requests += R"({"method":)" + json_quoted(method) + R"(,"url":)" + json_quoted(url) +
                R"(,"ip":"192.0.2.1","authorization":)" + json_quoted(authorization) +
                std::string(extra) + "}\n";
  };
  line("GET", "/a", basic("admin", secret(0)));   // allowed
  line("GET", "/a", basic("bob", secret(0)));     // user_mismatch
  line("POST", "/a", basic("alice", secret(1)));  // limit_to_mismatch
  line("GET", "/a", "Bearer " + secret(1));       // scheme_not_enabled (basic mode)
  for (std::size_t i = 2; i < secrets().size(); ++i) {
    line("GET", "/a", basic("admin", secret(i)));  // every token with a problem: unknown_token
  }
  line("GET", "/a", basic("admin", secret(0)), R"(,"ip":"not an address")");  // bad_input
  // Not JSON, broken right after, and inside, a secret.
  requests += R"({"method":"GET","url":"/a","ip":"192.0.2.1","authorization":)" +
              json_quoted(basic("admin", secret(0))) + " x}\n";
  requests += R"({"method":"GET","url":"/a","ip":"192.0.2.1","authorization":")" +
              basic("admin", secret(0)) + "\x01\"}\n";
  requests += R"({"method":"GET","url":"/a","ip":"192.0.2.1","authorization":")" + secret(0) + "\n";
  requests += R"({"method":)" + json_quoted(secret(0)) +
              R"(,"url":"/a","ip":"192.0.2.1"})"
              "\n";
  requests += R"({"method":"GET","url":"/a","ip":"192.0.2.1","authorization":[)" +
              json_quoted(secret(0)) + "]}\n";
  requests += R"({"method":"GET","url":"/a","ip":"192.0.2.1","body":{"s":)" +
              json_quoted(secret(0)) + "}}\n";
  const std::string requests_path = write("requests.jsonl", requests);

  const cli_run r = run_cli(cli::run_check, {"--store", store_path, "--requests", requests_path,
                                             "--now", "1700000000000"});
  EXPECT_EQ(r.code, cli::exit_ok) << r.err;
  EXPECT_NE(r.out.find(R"("reason":"allowed")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("reason":"user_mismatch")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("reason":"limit_to_mismatch")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("reason":"unknown_token")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("reason":"bad_input")"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cannot authenticate"), std::string::npos) << r.err;
  EXPECT_TRUE(has_no_secret(r.out));
  EXPECT_TRUE(has_no_secret(r.err));
}

TEST_F(SecretsCli, ValidateAndUnusableStoresNeverPrintASecret) {
  const cli_run v = run_cli(cli::run_validate, {"--store", write("store.json", bad_store())});
  EXPECT_EQ(v.code, cli::exit_problems);
  EXPECT_NE(v.out.find("bad ip"), std::string::npos) << v.out;
  EXPECT_TRUE(has_no_secret(v.out));
  EXPECT_TRUE(has_no_secret(v.err));

  const std::string broken =
      write("broken.json", R"({"tokens":[{"label":"a","token":")" + secret(0) + R"(" "id":"x"}]})");
  const cli_run c =
      run_cli(cli::run_check, {"--store", broken, "--requests", write("none.jsonl", "")});
  EXPECT_EQ(c.code, cli::exit_unusable);
  EXPECT_NE(c.err.find("not valid JSON"), std::string::npos) << c.err;
  EXPECT_TRUE(has_no_secret(c.err));
  const cli_run strict =
      run_cli(cli::run_check, {"--store", write("bad.json", bad_store()), "--strict", "--requests",
                               write("none2.jsonl", "")});
  EXPECT_EQ(strict.code, cli::exit_unusable);
  EXPECT_TRUE(has_no_secret(strict.err));
  const cli_run invalid = run_cli(cli::run_validate, {"--store", broken});
  EXPECT_EQ(invalid.code, cli::exit_problems);
  EXPECT_TRUE(has_no_secret(invalid.out));
  EXPECT_TRUE(has_no_secret(invalid.err));
}

#ifdef TOKENGUARD_SECRETS_TEST_AUDIT
TEST_F(SecretsDecisions, AuditRecordsNeverContainASecret) {
  std::ostringstream log;
  json_lines_audit_sink sink(log);
  std::size_t records = 0;
  for (const auto& [authorization, url] :
       std::vector<std::pair<std::string, std::string>>{{basic("admin", secret(0)), "/a"},
                                                        {basic("bob", secret(0)), "/a"},
                                                        {basic("admin", secret(2)), "/a"},
                                                        {basic("admin", secret(3)), "/a"},
                                                        {basic("alice", secret(1)), "/a"}}) {
    const decision d = decide(authorization, url);
    ASSERT_TRUE(d.token_known());
    audit_record r;
    r.time_ms = now;
    r.token_id = d.token_id();
    r.label = d.label();
    r.identity = d.user();
    r.method = "GET";
    r.subject_url = url;
    r.client = d.client();
    r.why = d.why();
    sink.write(r);
    ++records;
  }
  const std::string text = log.str();
  EXPECT_EQ(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')), records) << text;
  EXPECT_TRUE(has_no_secret(text));
}
#endif

#ifdef TOKENGUARD_SECRETS_TEST_SERVICE
class SecretsService : public SecretsCli {
 protected:
  std::unique_ptr<token_service> open_service(authorizer& auth, std::string_view initial) {
    const std::string path = write("owned.json", initial);
    service_options o;
    o.clock = [] { return std::int64_t{1'700'000'000'000}; };
    auto opened = token_service::open(path, auth, o);
    EXPECT_TRUE(opened) << (opened ? "" : opened.message());
    return opened ? std::move(opened).value() : nullptr;
  }
  static std::string api(std::string_view endpoint) {
    return std::string(management_prefix) + std::string(endpoint);
  }
  const caller_identity admin{"admin", true};
  const caller_identity alice{"alice", false};
};

TEST_F(SecretsService, ErrorAnswersNeverEchoASecret) {
  authorizer auth;
  auto service =
      open_service(auth, "[" + token_json("first", secret(0), R"("user":"alice")") + "]");
  ASSERT_NE(service, nullptr);
  auto set = [&](const std::string& body, const caller_identity& who) {
    return service->handle("POST", api("set"), body, who);
  };
  const std::string s1 = json_quoted(secret(1));
  const std::vector<std::pair<std::string, int>> refused = {
      {R"({"label":"dup","token":)" + json_quoted(secret(0)) + "}", 409},
      {R"({"label":"bad rule","token":)" + s1 + R"(,"limitTo":"(unclosed"})", 400},
      {R"({"label":"bad ip","token":)" + s1 + R"(,"ip":"10.0.0.1/8"})", 400},
      {R"({"label":"bad days","token":)" + s1 + R"(,"daysUntilExpiry":-1})", 400},
      {R"({"label":"unknown","token":)" + s1 + R"(,"color":"red"})", 400},
      {R"({"token":)" + s1 + "}", 400},
      {R"({"label":"short","token":"S3CRET-short"})", 400},
      {R"({"label":"space","token":")" + secret(1) + R"( x"})", 400},
      {R"({"label":"type","token":[)" + s1 + "]}", 400},
      {R"({"label":"not json","token":)" + s1 + " x}", 400},
      {R"({"label":"other user","token":)" + s1 + R"(,"userName":"bob"})", 403},
  };
  for (const auto& [body, status] : refused) {
    const caller_identity& who = status == 403 ? alice : admin;
    const service_response r = set(body, who);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_NE(r.body.find(R"("status":"error")"), std::string::npos) << r.body;
    EXPECT_TRUE(has_no_secret(r.body)) << body;
  }
  // Deleting by secret: unknown, malformed, then the real one (whose answer must not echo it).
  const std::vector<std::pair<std::string, int>> deletes = {
      {R"({"token":)" + json_quoted(secret(9)) + "}", 404},
      {R"({"token":)" + json_quoted(secret(0)) + " x", 400},
      {R"({"token":)" + json_quoted(secret(0)) + "}", 200},
  };
  for (const auto& [body, status] : deletes) {
    const service_response r = service->handle("DELETE", api("delete"), body, admin);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_TRUE(has_no_secret(r.body)) << body << " -> " << r.body;
  }
  for (const auto& p : service->problems()) EXPECT_TRUE(has_no_secret(p.message));
}

TEST_F(SecretsService, SecureModeNeverShowsOrStoresTheSecretAgain) {
  authorizer auth;
  auto service = open_service(auth, R"({"tokens":[],"settings":{"secureMode":true}})");
  ASSERT_NE(service, nullptr);
  const service_response created = service->handle(
      "POST", api("set"), R"({"label":"ci","token":)" + json_quoted(secret(7)) + "}", admin);
  ASSERT_EQ(created.status, 200) << created.body;
  // The answer to the create is the one time the secret is shown.
  EXPECT_NE(created.body.find(secret(7)), std::string::npos) << created.body;
  const service_response listed = service->handle("GET", api("get"), "", admin);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find("\"ci\""), std::string::npos) << listed.body;
  EXPECT_TRUE(has_no_secret(listed.body));
  std::ifstream file(service->path(), std::ios::binary);
  const std::string on_disk((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  EXPECT_NE(on_disk.find("tokenSha256"), std::string::npos) << on_disk;
  EXPECT_TRUE(has_no_secret(on_disk));
}
#endif

}  // namespace
}  // namespace tokenguard
