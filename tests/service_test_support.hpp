#ifndef TOKENGUARD_TESTS_SERVICE_TEST_SUPPORT_HPP
#define TOKENGUARD_TESTS_SERVICE_TEST_SUPPORT_HPP

// Shared pieces of the service_*_test.cpp suites: a private directory, a
// pinned clock, a deterministic random source, and short ways to call the
// management API and read its JSON answers.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/service.hpp"

namespace tokenguard::testing {

inline constexpr std::int64_t test_now = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
inline const caller_identity admin{"admin", true};
inline const caller_identity alice{"alice", false};
inline const caller_identity bob{"bob", false};

inline std::string api(std::string_view endpoint) {
  return std::string(management_prefix) + std::string(endpoint);
}

/// A directory of its own under TMPDIR, removed at the end.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/tokenguard-svc-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(std::string_view name) const {
    return path_ + "/" + std::string(name);
  }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// A seeded generator: generated tokens and ids are the same on every run.
struct seeded_random {
  std::shared_ptr<std::mt19937> engine = std::make_shared<std::mt19937>(20231114);
  bool operator()(unsigned char* out, std::size_t size) const {
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<unsigned char>((*engine)() & 0xFF);
    return true;
  }
};

/// A parsed answer; keeps its parser alive.
struct json_answer {
  int status = 0;
  std::string body;
  std::shared_ptr<simdjson::dom::parser> parser = std::make_shared<simdjson::dom::parser>();
  simdjson::dom::element root;

  [[nodiscard]] std::string_view str(std::string_view key) const {
    std::string_view s;
    EXPECT_EQ(root[key].get_string().get(s), simdjson::SUCCESS) << key << " in " << body;
    return s;
  }
  [[nodiscard]] std::int64_t num(std::string_view key) const {
    std::int64_t n = -1;
    EXPECT_EQ(root[key].get_int64().get(n), simdjson::SUCCESS) << key << " in " << body;
    return n;
  }
  [[nodiscard]] bool has(std::string_view key) const {
    simdjson::dom::element e;
    return root[key].get(e) == simdjson::SUCCESS;
  }
  [[nodiscard]] std::string_view message() const { return str("message"); }
  [[nodiscard]] simdjson::dom::array tokens() const {
    simdjson::dom::array a;
    EXPECT_EQ(root["tokens"].get_array().get(a), simdjson::SUCCESS) << body;
    return a;
  }
  [[nodiscard]] std::vector<std::string> token_strings(std::string_view key) const {
    std::vector<std::string> out;
    for (simdjson::dom::element t : tokens()) {
      std::string_view s;
      EXPECT_EQ(t[key].get_string().get(s), simdjson::SUCCESS) << key << " in " << body;
      out.emplace_back(s);
    }
    return out;
  }
};

inline json_answer parse_answer(const service_response& r) {
  json_answer a;
  a.status = r.status;
  a.body = r.body;
  const auto code = a.parser->parse(simdjson::padded_string(a.body)).get(a.root);
  EXPECT_EQ(code, simdjson::SUCCESS) << "not JSON: " << a.body;
  std::string_view status;
  EXPECT_EQ(a.root["status"].get_string().get(status), simdjson::SUCCESS) << a.body;
  EXPECT_EQ(status, r.status == 200 ? "ok" : "error") << a.body;
  return a;
}

/// An authorizer and a service on a store file in a private directory.
class service_fixture : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(open()); }

  [[nodiscard]] service_options make_options() {
    service_options o;
    o.create_if_missing = true;
    o.clock = [this] { return now_ms; };
    o.random_bytes = random;
    return o;
  }

  /// (Re)opens the service on `store_path`; false (with the message) on failure.
  ::testing::AssertionResult open(std::optional<service_options> options = std::nullopt) {
    service.reset();
    auth = std::make_unique<authorizer>();
    auto opened = token_service::open(store_path, *auth, options ? *options : make_options());
    if (!opened) return ::testing::AssertionFailure() << opened.message();
    service = std::move(opened).value();
    return ::testing::AssertionSuccess();
  }

  json_answer call(std::string_view method, std::string_view target, std::string_view body,
                   const caller_identity& caller = admin) {
    return parse_answer(service->handle(method, target, body, caller));
  }
  json_answer get(std::string_view query = "", const caller_identity& caller = admin) {
    return call("GET", api("get") + std::string(query), "", caller);
  }
  json_answer set(std::string_view body, const caller_identity& caller = admin) {
    return call("POST", api("set"), body, caller);
  }
  json_answer del(std::string_view body, const caller_identity& caller = admin) {
    return call("DELETE", api("delete"), body, caller);
  }
  /// Creates a token and returns the answer, failing the test unless it is 200.
  json_answer create(std::string_view body, const caller_identity& caller = admin) {
    json_answer a = set(body, caller);
    EXPECT_EQ(a.status, 200) << body << " -> " << a.body;
    return a;
  }

  /// Decides a request with Basic credentials at the pinned clock.
  decision decide(std::string_view method, std::string_view url, std::string_view user,
                  std::string_view secret, std::string_view peer = "192.0.2.7") {
    credential_text =
        "Basic " + detail::base64_encode(std::string(user) + ":" + std::string(secret));
    request req;
    req.method = method;
    req.url = url;
    req.peer = *ip_address::parse(peer);
    req.authorization = credential_text;
    return auth->decide(req, now_ms);
  }

  temp_dir dir;
  std::string store_path = dir.file("tokens.json");
  std::int64_t now_ms = test_now;
  seeded_random random;
  std::unique_ptr<authorizer> auth;
  std::unique_ptr<token_service> service;
  std::string credential_text;
};

}  // namespace tokenguard::testing

#endif  // TOKENGUARD_TESTS_SERVICE_TEST_SUPPORT_HPP
