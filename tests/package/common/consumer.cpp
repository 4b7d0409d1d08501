// A consumer of tokenguard: loads a one-token store through the gateway example
// and checks a few decisions. Prints one "ok" line and exits 0 when all agree.
#include <cstdio>
#include <string>
#include <string_view>

#include "token_filter.hpp"

namespace {

constexpr std::string_view store_json = R"({"tokens": [{
  "label": "Gateway example", "user": "admin", "token": "example-secret-0123456789",
  "limitTo": "[post].*/rest/api/2/issue/[A-Z]+-[0-9]+/comment"}]})";

constexpr std::string_view url = "https://jira.example.com/rest/api/2/issue/KANBAN-100/comment";
constexpr std::string_view peer = "192.0.2.7";
/// admin:example-secret-0123456789
constexpr std::string_view admin = "Basic YWRtaW46ZXhhbXBsZS1zZWNyZXQtMDEyMzQ1Njc4OQ==";
/// admin:wrong-secret
constexpr std::string_view wrong = "Basic YWRtaW46d3Jvbmctc2VjcmV0";

int failures = 0;

void expect(const char* what, const tokenguard::decision& d, tokenguard::reason want) {
  if (d.why() != want) {
    std::fprintf(stderr, "FAIL %s: got %s, want %s\n", what,
                 std::string(tokenguard::to_string(d.why())).c_str(),
                 std::string(tokenguard::to_string(want)).c_str());
    ++failures;
  }
}

}  // namespace

int main() {
  token_filter filter;
  if (const std::string error = filter.load(store_json); !error.empty()) {
    std::fprintf(stderr, "FAIL load: %s\n", error.c_str());
    return 1;
  }
  const tokenguard::decision d = filter.check("POST", url, peer, admin);
  expect("comment", d, tokenguard::reason::allowed);
  if (d.user() != "admin" || d.label() != "Gateway example") {
    std::fprintf(stderr, "FAIL comment: the identity or the label is not passed on\n");
    ++failures;
  }
  expect("read", filter.check("GET", url, peer, admin), tokenguard::reason::limit_to_mismatch);
  expect("wrong secret", filter.check("POST", url, peer, wrong), tokenguard::reason::unknown_token);
  expect("bad peer", filter.check("POST", url, "not-an-ip", admin),
         tokenguard::reason::malformed_request);

  // A store that does not parse is refused, and the old one stays in service.
  if (filter.load(R"({"tokens": [)").empty()) {
    std::fprintf(stderr, "FAIL reload: broken JSON was accepted\n");
    ++failures;
  }
  expect("after a refused reload", filter.check("POST", url, peer, admin),
         tokenguard::reason::allowed);

  if (failures != 0) return 1;
  std::printf("ok: tokenguard %s decides as expected\n", TOKENGUARD_VERSION_STRING);
  return 0;
}
