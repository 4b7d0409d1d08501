// `tokenguard tokens`, `settings` and `secure` (tools/tokens.hpp): the same
// service as the server, as an administrator, JSON on stdout, errors on stderr.

#include <gtest/gtest.h>

#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../tools/tokens.hpp"
#include "service_test_support.hpp"

namespace tokenguard::testing {
namespace {

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs a command as main() would, capturing its output; a usage error is exit 2.
template <class Command>
run_result run(Command command, std::vector<std::string> words) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("tokenguard"));
  for (std::string& w : words) argv.push_back(w.data());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  run_result r;
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

json_answer parse_out(const run_result& r) {
  service_response s{200, r.out.substr(0, r.out.size() - 1)};
  EXPECT_EQ(r.out.back(), '\n');
  return parse_answer(s);
}

class ServiceCli : public ::testing::Test {
 protected:
  temp_dir dir;
  std::string store = dir.file("store.json");
};

TEST_F(ServiceCli, BootstrapAndScriptAStore) {
  auto r =
      run(cli::run_tokens, {"create", "--store", store, "--label", "CI bot", "--user", "ci-bot",
                            "--days", "30", "--limit-to", "[get].*/rest/api/2/.*\n[post].*/x",
                            "--ip", "10.0.0.0/8", "--usage-limit", "100"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto created = parse_out(r);
  EXPECT_EQ(created.str("label"), "CI bot");
  EXPECT_EQ(created.str("user"), "ci-bot");
  EXPECT_EQ(created.str("authorKey"), "");
  EXPECT_EQ(created.str("limitTo"), "[get].*/rest/api/2/.*<br>[post].*/x");
  EXPECT_EQ(created.str("ip"), "10.0.0.0/8");
  EXPECT_EQ(created.num("usageLimit"), 100);
  EXPECT_EQ(created.num("validUntil") - created.num("dateCreated"), 30 * 86'400'000LL);
  EXPECT_EQ(created.str("token").size(), 32u);
  const std::string id(created.str("id"));

  r = run(cli::run_tokens, {"create", "--store=" + store, "--json",
                            R"({"label":"raw","token":"raw-secret-0123456"})", "--author", "root"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_out(r).str("authorKey"), "root");

  // The second page holds the second token of the whole list. Which one that
  // is depends on the clock: the order is dateCreated, then id (SPEC 9), and
  // two creates in the same millisecond sort by their random ids.
  r = run(cli::run_tokens, {"list", "--store", store});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> all = parse_out(r).token_strings("label");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()),
            (std::set<std::string>{"CI bot", "raw"}));
  r = run(cli::run_tokens, {"list", "--store", store, "--max-results", "1", "--start-at", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto listed = parse_out(r);
  EXPECT_EQ(listed.num("total"), 2);
  EXPECT_EQ(listed.num("pages"), 2);
  EXPECT_EQ(listed.token_strings("label"), (std::vector<std::string>{all[1]}));

  r = run(cli::run_tokens, {"delete", "--store", store, "--id", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"deleted\":1,\"status\":\"ok\"}\n");
  r = run(cli::run_tokens, {"delete", "--store", store, "--token", "raw-secret-0123456"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(cli::run_tokens, {"list", "--store", store});
  EXPECT_EQ(parse_out(r).num("total"), 0);
}

TEST_F(ServiceCli, RefusalsGoToStderrWithExitStatus1) {
  auto r =
      run(cli::run_tokens, {"create", "--store", store, "--label", "y", "--limit-to", ".*\n(("});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("tokenguard: tokens create: limitTo: line 2: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(HTTP 400)\n"), std::string::npos);

  r = run(cli::run_tokens,
          {"create", "--store", store, "--json", R"({"label":"z","token":"short"})"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tokenguard: tokens create: token must be 16 to 256 printable ASCII characters without "
            "spaces (HTTP 400)\n");
  r = run(cli::run_tokens, {"delete", "--store", store, "--id", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "tokenguard: tokens delete: no token has the id \"nope\" (HTTP 404)\n");
}

TEST_F(ServiceCli, UnusableArgumentsExit2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "tokenguard: tokens: expected list, create or delete (see --help)\n"},
      {{"rename"}, "tokenguard: tokens: unknown sub-command 'rename' (list, create or delete)\n"},
      {{"list"}, "tokenguard: --store FILE is required\n"},
      {{"list", "--store", "/nonexistent/dir/s.json"},
       "tokenguard: cannot open '/nonexistent/dir/s.json.lock': No such file or directory\n"},
      {{"list", "--label", "x"}, "tokenguard: tokens list: unknown option --label\n"},
      {{"delete", "--days", "1"}, "tokenguard: tokens delete: unknown option --days\n"},
      {{"create", "--days", "soon"},
       "tokenguard: --days expects a non-negative integer, not 'soon'\n"},
      {{"create", "--label", "x", "--json", "{}"},
       "tokenguard: tokens create: --json replaces the other token options\n"},
      {{"create", "--label"}, "tokenguard: --label needs a value\n"},
  };
  for (const auto& [words, message] : cases) {
    auto r = run(cli::run_tokens, words);
    EXPECT_EQ(r.code, 2) << message;
    EXPECT_EQ(r.err, message);
    EXPECT_EQ(r.out, "");
  }
  auto r = run(cli::run_tokens, {"list", "--store", dir.file("missing.json")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tokenguard: the store '" + dir.file("missing.json") + "' does not exist\n");
  r = run(cli::run_settings, {"--store", store, "--secure-mode", "yes"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tokenguard: --secure-mode expects true or false, not 'yes'\n");
}

TEST_F(ServiceCli, SettingsShowAndChange) {
  auto r = run(cli::run_settings,
               {"--store", store, "--collect-usage-details", "true", "--add-audit-record", "true"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"({"settings":{"secureMode":false,"collectUsageDetails":true,"addAuditRecord":true},"status":"ok"})"
      "\n");
  r = run(cli::run_settings, {"--store", store});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"({"settings":{"secureMode":false,"collectUsageDetails":true,"addAuditRecord":true},"status":"ok"})"
      "\n");
  r = run(cli::run_settings, {"--store", store, "--secure-mode", "true"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(cli::run_settings, {"--store", store, "--secure-mode", "false"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tokenguard: settings: secureMode cannot be turned off: the store no longer holds the "
            "secrets (HTTP 400)\n");
  // Showing settings never creates a file.
  r = run(cli::run_settings, {"--store", dir.file("other.json")});
  EXPECT_EQ(r.code, 2);
}

TEST_F(ServiceCli, SecureConvertsAPlaintextStore) {
  write_text(store, R"({"tokens":[{"label":"a","token":"plaintext-secret-01","id":"1"}]})");
  auto r = run(cli::run_secure, {"--store", store});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      R"({"settings":{"secureMode":true,"collectUsageDetails":false,"addAuditRecord":false},"status":"ok"})"
      "\n");
  const std::string text = read_text(store);
  EXPECT_EQ(text.find("plaintext-secret-01"), std::string::npos);
  EXPECT_NE(text.find(detail::to_hex(detail::sha256("plaintext-secret-01"))), std::string::npos);
  r = run(cli::run_tokens, {"list", "--store", store});
  EXPECT_EQ(r.out.find("plaintext-secret-01"), std::string::npos);
  r = run(cli::run_secure, {"--store", store});  // again: nothing to do
  EXPECT_EQ(r.code, 0);
  r = run(cli::run_secure, {"--store", dir.file("none.json")});
  EXPECT_EQ(r.code, 2);
}

TEST_F(ServiceCli, EveryCommandHasHelp) {
  for (const auto& [command, words, first_line] :
       {std::tuple{&cli::run_tokens, std::vector<std::string>{"--help"},
                   std::string("usage: tokenguard tokens list")},
        std::tuple{&cli::run_tokens, std::vector<std::string>{"create", "--help"},
                   std::string("usage: tokenguard tokens list")},
        std::tuple{&cli::run_settings, std::vector<std::string>{"--help"},
                   std::string("usage: tokenguard settings")},
        std::tuple{&cli::run_secure, std::vector<std::string>{"--help"},
                   std::string("usage: tokenguard secure")}}) {
    auto r = run(command, words);
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind(first_line, 0), 0u) << r.out;
  }
}

}  // namespace
}  // namespace tokenguard::testing
