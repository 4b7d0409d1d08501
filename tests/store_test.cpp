// Compiling a token store (SPEC 8): every per-token problem fails closed while
// the other tokens load, the strict option, duplicate secrets, secure-mode
// digests, usage counts that survive a recompile, and the max_tokens limit.

#include "tokenguard/store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/forwarding_usage.hpp"
#include "tokenguard/authorizer.hpp"
#include "tokenguard/detail/base64.hpp"
#include "tokenguard/json.hpp"

namespace tokenguard {
namespace {

constexpr std::int64_t now = 1'625'000'000'000;

token_record rec(std::string label, std::string secret, std::string user = "u") {
  token_record r;
  r.label = std::move(label);
  r.user = std::move(user);
  r.token = std::move(secret);
  r.id = r.label;
  return r;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::shared_ptr<const store> compile_ok(const std::vector<token_record>& records,
                                        usage_store& usage, const limits& lim = limits{}) {
  auto compiled = store::compile(records, usage, lim);
  EXPECT_TRUE(compiled.ok()) << compiled.message();
  return compiled ? compiled.value() : std::make_shared<const store>();
}

bool authenticates(const store& s, std::string_view secret) {
  return s.find(detail::sha256(secret)) != nullptr;
}

/// The one problem reported for the token at `index`, or "" when it has none.
std::string problem_of(const store& s, std::size_t index) {
  for (const token_problem& p : s.problems()) {
    if (p.index == index) return p.message;
  }
  return "";
}

std::string basic(std::string_view user, std::string_view secret) {
  return "Basic " + detail::base64_encode(std::string(user) + ":" + std::string(secret));
}

/// A store with one good token first, then `bad`: the bad one is reported
/// with its label and cannot authenticate, and the good one still loads.
void expect_fails_closed(const token_record& bad, std::string_view expected_in_message) {
  SCOPED_TRACE("token '" + bad.label + "'");
  local_usage usage;
  const std::vector<token_record> records = {rec("good", "good-secret-0000000001"), bad};
  const auto s = compile_ok(records, usage);
  ASSERT_EQ(s->problems().size(), 1U);
  const token_problem& p = s->problems()[0];
  EXPECT_EQ(p.index, 1U);
  EXPECT_EQ(p.label, bad.label);
  EXPECT_TRUE(contains(p.message, expected_in_message)) << p.message;
  EXPECT_EQ(s->size(), 1U);
  EXPECT_TRUE(authenticates(*s, "good-secret-0000000001"));
  if (bad.token && !bad.token->empty()) {
    EXPECT_FALSE(authenticates(*s, *bad.token));
  }
}

TEST(StoreCompile, GoodTokensLoadWithTheirFields) {
  local_usage usage;
  std::vector<token_record> records = {rec("one", "secret-one-00000001", "alice"),
                                       rec("two", "secret-two-00000002", "")};
  records[1].id = "id-two";
  const auto s = compile_ok(records, usage);
  EXPECT_TRUE(s->problems().empty());
  ASSERT_EQ(s->size(), 2U);
  const store::entry* one = s->find(detail::sha256("secret-one-00000001"));
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(s->label(*one), "one");
  EXPECT_EQ(s->user(*one), "alice");
  EXPECT_EQ(s->id(*one), "one");
  EXPECT_EQ(s->rules(*one), nullptr);  // unrestricted
  EXPECT_EQ(s->ips(*one), nullptr);    // any address
  const store::entry* two = s->find(detail::sha256("secret-two-00000002"));
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(s->user(*two), "");
  EXPECT_EQ(s->id(*two), "id-two");
  EXPECT_FALSE(authenticates(*s, "secret-one-0000000"));  // a prefix is not the secret
  EXPECT_FALSE(authenticates(*s, ""));
}

TEST(StoreCompile, EmptyStore) {
  local_usage usage;
  const auto s = compile_ok({}, usage);
  EXPECT_EQ(s->size(), 0U);
  EXPECT_FALSE(authenticates(*s, "anything"));
}

// ------------------------------------------------------- per-token problems

TEST(StoreProblems, BadRegexNamesTheLine) {
  token_record bad = rec("bad regex", "bad-secret-000000001");
  bad.limit_to = "[get].*/ok<br>[post](";
  expect_fails_closed(bad, "line 2");
  bad.limit_to = "/x[QueryParam::a=1]";
  expect_fails_closed(bad, "==");
  bad.limit_to = "[get,]";
  expect_fails_closed(bad, "line 1");
}

TEST(StoreProblems, BadRegexSharedByTwoTokensFailsBoth) {
  // Distinct texts compile once; the cached error must reach every token.
  local_usage usage;
  std::vector<token_record> records = {rec("a", "secret-a-000000001"),
                                       rec("b", "secret-b-000000001"),
                                       rec("c", "secret-c-000000001")};
  records[0].limit_to = records[2].limit_to = "/x(";
  const auto s = compile_ok(records, usage);
  EXPECT_FALSE(problem_of(*s, 0).empty());
  EXPECT_EQ(problem_of(*s, 1), "");
  EXPECT_FALSE(problem_of(*s, 2).empty());
  EXPECT_EQ(problem_of(*s, 0), problem_of(*s, 2));
  EXPECT_FALSE(authenticates(*s, "secret-a-000000001"));
  EXPECT_TRUE(authenticates(*s, "secret-b-000000001"));
  EXPECT_FALSE(authenticates(*s, "secret-c-000000001"));
}

TEST(StoreProblems, SameRuleTextCompilesOnce) {
  local_usage usage;
  std::vector<token_record> records = {rec("a", "secret-a-000000001"),
                                       rec("b", "secret-b-000000001"),
                                       rec("c", "secret-c-000000001")};
  records[0].limit_to = records[1].limit_to = "[get]";
  records[2].limit_to = "[post]";
  const auto s = compile_ok(records, usage);
  EXPECT_EQ(s->distinct_rule_sets(), 2U);
}

// Views that share one copy of a text (as the chunked loader gives them) take
// the compile's shortcut by address; it must give what the text gives: the
// same rule set, and a bad text's problem to every token that holds it.
TEST(StoreProblems, TokensSharingOneCopyOfARuleTextCompileAsCopiesDo) {
  const std::string good = "[get].*/a.*<br>[post].*/b.*";
  const std::string other = "[put].*/c.*";
  const std::string bad = "/x(";
  const std::string good_copy = good;
  std::vector<std::string> secrets;
  for (int i = 0; i < 8; ++i) secrets.push_back("secret-" + std::to_string(i) + "-0000000001");
  std::vector<detail::token_view> views(8);
  const std::string* texts[] = {&good, &bad, &other, &good_copy, &good, &bad, &other, &good};
  for (std::size_t i = 0; i < views.size(); ++i) {
    views[i].label = secrets[i];
    views[i].token = secrets[i];
    views[i].limit_to = *texts[i];
  }
  local_usage usage;
  auto compiled = store::compile(std::span<const detail::token_view>(views), usage);
  ASSERT_TRUE(compiled.ok()) << compiled.message();
  const store& s = *compiled.value();
  EXPECT_EQ(s.distinct_rule_sets(), 2U);
  EXPECT_FALSE(problem_of(s, 1).empty());
  EXPECT_EQ(problem_of(s, 5), problem_of(s, 1));
  EXPECT_EQ(s.problems().size(), 2U);
  const auto rules_of = [&](std::size_t i) {
    const store::entry* e = s.find(detail::sha256(secrets[i]));
    return e == nullptr ? nullptr : s.rules(*e);
  };
  ASSERT_NE(rules_of(0), nullptr);
  for (const std::size_t i : {3U, 4U, 7U}) EXPECT_EQ(rules_of(i), rules_of(0)) << i;
  ASSERT_NE(rules_of(2), nullptr);
  EXPECT_EQ(rules_of(6), rules_of(2));
  EXPECT_NE(rules_of(2), rules_of(0));
  EXPECT_EQ(rules_of(1), nullptr);
  EXPECT_EQ(rules_of(5), nullptr);
}

// A store reads each token's rules from its own arena, where it copied every rule set's
// candidates and prefilter blocks (rule_set::copy_hot_to): the copies decide and spend as
// the rule sets do, lie in one aligned arena apart from the sets' own blocks, and do not
// overlap.
TEST(StoreRules, TheArenaCopiesDecideAndSpendAsTheRuleSets) {
  std::vector<token_record> records;
  std::vector<std::string> secrets;
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    secrets.push_back("secret-" + n + "-0000000001");
    records.push_back(rec("t" + n, secrets.back()));
    records.back().limit_to = "[post].*/issue/K" + n + "-1/comment.*<br>[get,put]/a/" + n +
                              "/[0-9]+<br>.*/watchers/" + n + "[QueryParam::v==x]";
    if (i % 2 == 1) records.back().limit_to += "<br>[BREW]/pot/.*";
  }
  records.push_back(rec("open", "secret-open-0000000001"));
  secrets.push_back(*records.back().token);
  local_usage usage;
  const auto s = compile_ok(records, usage);
  ASSERT_EQ(s->distinct_rule_sets(), 40U);
  std::vector<std::pair<const std::byte*, const std::byte*>> spans;
  std::size_t passes = 0;
  std::size_t probes = 0;
  for (std::size_t t = 0; t < secrets.size(); ++t) {
    const store::entry* e = s->find(detail::sha256(secrets[t]));
    ASSERT_NE(e, nullptr);
    const rule_set* set = s->rules(*e);
    const rule_set::hot_memory* hot = s->rule_hot(*e);
    if (set == nullptr) {
      EXPECT_EQ(hot, nullptr);
      continue;
    }
    ASSERT_NE(hot, nullptr);
    EXPECT_NE(hot->candidates, set->hot().candidates);
    EXPECT_NE(hot->tables, set->hot().tables);
    EXPECT_EQ(hot->lines, set->hot().lines);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(hot->candidates) % rule_set::hot_alignment, 0U);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(hot->tables) % rule_set::hot_alignment, 0U);
    spans.emplace_back(hot->candidates, hot->candidates + hot->candidate_bytes);
    spans.emplace_back(hot->tables, hot->tables + hot->table_bytes);
    const std::string n = std::to_string(t);
    for (const std::string_view method : {"GET", "POST", "PUT", "DELETE", "BREW", "PURGE"}) {
      for (const std::string& url :
           {"/rest/issue/K" + n + "-1/comment/1", "/a/" + n + "/42", "/a/" + n + "/x",
            "/x/watchers/" + n, std::string("/pot/tea"), std::string("/")}) {
        for (const std::string_view query : {"v=x", "v=y"}) {
          const detail::rule_subject subject{method, detail::method_bit(method), url, query, "",
                                             1024};
          detail::rule_context from_set(subject);
          detail::rule_context from_arena(subject);
          const rules_outcome expected = set->evaluate(from_set);
          EXPECT_EQ(rule_set::evaluate(*hot, from_arena), expected) << method << " " << url;
          EXPECT_EQ(from_arena.budget().remaining, from_set.budget().remaining);
          passes += expected == rules_outcome::pass ? 1 : 0;
          ++probes;
        }
      }
    }
  }
  EXPECT_GT(passes, 100U);
  EXPECT_LT(passes, probes - 100);
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) {
    EXPECT_LE(spans[i - 1].second, spans[i].first) << "copies " << i - 1 << " and " << i;
  }
}

TEST(StoreProblems, BadIp) {
  for (const std::string_view ip :
       {"10.0.0.300", "10.0.0.0/33", "garbage", "192.168.1.1, nope", "2001:db8::/129", ","}) {
    token_record bad = rec("bad ip", "bad-secret-000000001");
    bad.ip = std::string(ip);
    expect_fails_closed(bad, "ip");
  }
}

TEST(StoreProblems, NegativeValidUntil) {
  token_record bad = rec("negative", "bad-secret-000000001");
  bad.valid_until = -1;
  expect_fails_closed(bad, "validUntil");
}

TEST(StoreProblems, TimesThatAreNotNonNegativeIntegersInTheFile) {
  for (const std::string_view member :
       {R"("validUntil":-1)", R"("validUntil":1.5)", R"("validUntil":"1630476718964")",
        R"("validUntil":true)", R"("validUntil":9223372036854775808)", R"("dateCreated":-5)",
        R"("dateCreated":1.25)", R"("dateCreated":{})"}) {
    SCOPED_TRACE(member);
    const std::string json = R"([{"label":"good","user":"u","token":"good-secret-0000000001"},)"
                             R"({"label":"bad time","user":"u","token":"bad-secret-000000001",)" +
                             std::string(member) + "}]";
    auto parsed = parse_store_json(json);
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    local_usage usage;
    const auto s = compile_ok(parsed.value().tokens, usage);
    ASSERT_EQ(s->problems().size(), 1U);
    EXPECT_EQ(s->problems()[0].label, "bad time");
    EXPECT_EQ(s->problems()[0].index, 1U);
    EXPECT_TRUE(contains(s->problems()[0].message, "non-negative integer"))
        << s->problems()[0].message;
    EXPECT_TRUE(authenticates(*s, "good-secret-0000000001"));
    EXPECT_FALSE(authenticates(*s, "bad-secret-000000001"));
  }
}

TEST(StoreProblems, MissingOrOversizedLabel) {
  expect_fails_closed(rec("", "bad-secret-000000001"), "label");
  expect_fails_closed(rec(std::string(256, 'L'), "bad-secret-000000001"), "label");
  // 255 bytes is the largest label.
  local_usage usage;
  const auto s = compile_ok({rec(std::string(255, 'L'), "ok-secret-0000000001")}, usage);
  EXPECT_TRUE(s->problems().empty());
  ASSERT_TRUE(authenticates(*s, "ok-secret-0000000001"));
  EXPECT_EQ(s->label(*s->find(detail::sha256("ok-secret-0000000001"))).size(), 255U);

  // A token object without "label" in the file.
  auto parsed = parse_store_json(
      R"([{"label":"good","token":"good-secret-0000000001"},{"user":"u","token":"bad-secret-000000001"}])");
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const auto t = compile_ok(parsed.value().tokens, usage);
  ASSERT_EQ(t->problems().size(), 1U);
  EXPECT_EQ(t->problems()[0].index, 1U);
  EXPECT_EQ(t->problems()[0].label, "");
  EXPECT_TRUE(contains(t->problems()[0].message, "label")) << t->problems()[0].message;
  EXPECT_FALSE(authenticates(*t, "bad-secret-000000001"));
}

TEST(StoreProblems, OversizedUserOrId) {
  token_record bad = rec("long user", "bad-secret-000000001", std::string(256, 'u'));
  expect_fails_closed(bad, "user");
  bad = rec("long id", "bad-secret-000000001");
  bad.id = std::string(256, 'i');
  expect_fails_closed(bad, "id");
}

TEST(StoreProblems, NoSecret) {
  token_record bad = rec("no secret", "");
  bad.token.reset();
  expect_fails_closed(bad, "secret");
  expect_fails_closed(rec("empty secret", ""), "empty");
}

TEST(StoreProblems, DuplicateSecretFailsBothClosed) {
  local_usage usage;
  const std::vector<token_record> records = {rec("first", "same-secret-00000001"),
                                             rec("other", "other-secret-0000001"),
                                             rec("second", "same-secret-00000001")};
  const auto s = compile_ok(records, usage);
  ASSERT_EQ(s->problems().size(), 2U);
  EXPECT_EQ(s->problems()[0].label, "first");
  EXPECT_TRUE(contains(s->problems()[0].message, "'second'")) << s->problems()[0].message;
  EXPECT_EQ(s->problems()[1].label, "second");
  EXPECT_TRUE(contains(s->problems()[1].message, "'first'")) << s->problems()[1].message;
  EXPECT_FALSE(authenticates(*s, "same-secret-00000001"));
  EXPECT_TRUE(authenticates(*s, "other-secret-0000001"));
}

TEST(StoreProblems, DuplicateSecretAcrossPlainAndDigestForms) {
  local_usage usage;
  std::vector<token_record> records = {rec("plain", "same-secret-00000001"), rec("digest", "")};
  records[1].token.reset();
  records[1].token_sha256 = detail::to_hex(detail::sha256("same-secret-00000001"));
  const auto s = compile_ok(records, usage);
  EXPECT_EQ(s->problems().size(), 2U);
  EXPECT_FALSE(authenticates(*s, "same-secret-00000001"));
}

TEST(StoreProblems, DuplicateSecretOfATokenWithAnotherProblemStillFailsClosed) {
  // SPEC 8: "a secret that another token also has" is a problem of its own.
  // When the other holder is already broken for another reason (here a bad
  // rule, or a field of the wrong type), the secret is still ambiguous: it
  // must not authenticate as the remaining holder, with that holder's rights.
  {
    local_usage usage;
    std::vector<token_record> records = {rec("restricted but broken", "same-secret-00000001"),
                                         rec("unrestricted", "same-secret-00000001")};
    records[0].limit_to = "[get].*/reports/(";
    const auto s = compile_ok(records, usage);
    EXPECT_FALSE(problem_of(*s, 0).empty());
    EXPECT_FALSE(problem_of(*s, 1).empty()) << "the second holder of the secret loaded";
    EXPECT_FALSE(authenticates(*s, "same-secret-00000001"));
  }
  {
    local_usage usage;
    std::vector<token_record> records = {rec("unrestricted", "same-secret-00000001"),
                                         rec("bad ip", "same-secret-00000001")};
    records[1].ip = "not-an-address";
    const auto s = compile_ok(records, usage);
    EXPECT_FALSE(problem_of(*s, 0).empty()) << "the first holder of the secret loaded";
    EXPECT_FALSE(authenticates(*s, "same-secret-00000001"));
  }
  {
    auto parsed = parse_store_json(
        R"([{"label":"expired once","user":"u","token":"same-secret-00000001","validUntil":"soon"},)"
        R"({"label":"forever","user":"u","token":"same-secret-00000001"}])");
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    local_usage usage;
    const auto s = compile_ok(parsed.value().tokens, usage);
    EXPECT_FALSE(problem_of(*s, 1).empty()) << "the second holder of the secret loaded";
    EXPECT_FALSE(authenticates(*s, "same-secret-00000001"));
  }
}

TEST(StoreProblems, DuplicateIdFailsBothClosed) {
  local_usage usage;
  std::vector<token_record> records = {rec("a", "secret-a-000000001"),
                                       rec("b", "secret-b-000000001")};
  records[0].id = records[1].id = "same-id";
  const auto s = compile_ok(records, usage);
  EXPECT_EQ(s->problems().size(), 2U);
  EXPECT_FALSE(authenticates(*s, "secret-a-000000001"));
  EXPECT_FALSE(authenticates(*s, "secret-b-000000001"));
}

TEST(StoreProblems, TokenSha256MustMatchAndBeHex) {
  token_record bad = rec("mismatch", "bad-secret-000000001");
  bad.token_sha256 = detail::to_hex(detail::sha256("some-other-secret"));
  expect_fails_closed(bad, "tokenSha256");
  for (const std::string_view hex :
       {"", "abc", "zz5f6e914b996590a1bdaf7014ad05d84a558ebe613abdd37a2742de16a81134",
        "135f6e914b996590a1bdaf7014ad05d84a558ebe613abdd37a2742de16a8113",
        "135f6e914b996590a1bdaf7014ad05d84a558ebe613abdd37a2742de16a811345"}) {
    token_record bad_hex = rec("bad hex", "");
    bad_hex.token.reset();
    bad_hex.token_sha256 = std::string(hex);
    expect_fails_closed(bad_hex, "tokenSha256");
  }
  // The matching digest next to the secret is fine, in either case of hex.
  local_usage usage;
  token_record both = rec("both", "both-secret-00000001");
  std::string upper = detail::to_hex(detail::sha256("both-secret-00000001"));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  both.token_sha256 = upper;
  const auto s = compile_ok({both}, usage);
  EXPECT_TRUE(s->problems().empty());
  EXPECT_TRUE(authenticates(*s, "both-secret-00000001"));
}

TEST(StoreDigests, HexDecoderAcceptsExactlyTheHexDigitsInEitherCase) {
  const std::string good = detail::to_hex(detail::sha256("any secret"));
  ASSERT_EQ(good.size(), 64U);
  ASSERT_TRUE(detail::parse_hex_digest(good).has_value());
  EXPECT_EQ(*detail::parse_hex_digest(good), detail::sha256("any secret"));
  // Every byte value at every position: accepted exactly when it is a hex digit, and then
  // read as its value.
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string hex = good;
      hex[at] = static_cast<char>(b);
      const bool is_hex = std::isxdigit(b) != 0;
      const auto parsed = detail::parse_hex_digest(hex);
      ASSERT_EQ(parsed.has_value(), is_hex) << "byte " << b << " at " << at;
      if (!is_hex) continue;
      const int value = std::isdigit(b) != 0 ? b - '0' : std::tolower(b) - 'a' + 10;
      const int read = at % 2 == 0 ? (*parsed)[at / 2] >> 4 : (*parsed)[at / 2] & 0x0F;
      ASSERT_EQ(read, value) << "byte " << b << " at " << at;
    }
  }
  EXPECT_FALSE(detail::parse_hex_digest(good.substr(1)).has_value());
  EXPECT_FALSE(detail::parse_hex_digest(good + "0").has_value());
}

TEST(StoreProblems, DuplicatesAmongManyTokensFailExactlyThoseTokensClosed) {
  // Enough tokens for the duplicate tables to probe past collisions; a third holder of a
  // secret is paired with the first.
  local_usage usage;
  std::vector<token_record> records;
  for (int i = 0; i < 5000; ++i) {
    records.push_back(rec("t" + std::to_string(i), "secret-" + std::to_string(i) + "-0000000"));
  }
  records[4000].token = records[10].token;
  records[4999].token = records[10].token;
  records[2500].id = records[7].id;
  const auto s = compile_ok(records, usage);
  std::vector<std::size_t> failed;
  for (const auto& p : s->problems()) failed.push_back(p.index);
  EXPECT_EQ(failed, (std::vector<std::size_t>{7, 10, 2500, 4000, 4999}));
  for (const auto& p : s->problems()) {
    if (p.index == 4999) {
      EXPECT_NE(p.message.find("token 't10'"), std::string::npos) << p.message;
    }
    if (p.index == 2500) {
      EXPECT_NE(p.message.find("id of token 't7'"), std::string::npos) << p.message;
    }
  }
  EXPECT_EQ(s->size(), 4995U);
  EXPECT_TRUE(authenticates(*s, "secret-11-0000000"));
  EXPECT_FALSE(authenticates(*s, "secret-10-0000000"));
}

/// `count` tokens, where some share ids and secrets and some of those have
/// other problems: an id is ambiguous only among the tokens without another
/// problem, while a secret is ambiguous whatever else is wrong. The shared
/// ones sit in both halves of the store. The first problem-free holder of an
/// id names the second; each other holder names the first.
void expect_ids_shared_only_among_good_tokens(std::size_t count) {
  SCOPED_TRACE(std::to_string(count) + " tokens");
  ASSERT_GE(count, 20U);
  std::vector<token_record> records;
  records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    records.push_back(rec("t" + std::to_string(i), "secret-" + std::to_string(i) + "-0000000"));
  }
  const std::size_t a0 = 1, a1 = 4, a2 = count - 7, a3 = count - 2;  // id "A"
  const std::size_t b0 = 6, b1 = count - 5;                          // id "B"
  const std::size_t c0 = 8, c1 = 9, c2 = count - 9;                  // id "C"
  for (const std::size_t i : {a0, a1, a2, a3}) records[i].id = "A";
  for (const std::size_t i : {b0, b1}) records[i].id = "B";
  for (const std::size_t i : {c0, c1, c2}) records[i].id = "C";
  records[a0].ip = "not-an-address";      // broken: holds no id
  records[b1].limit_to = "[get](";        // broken: B's only other holder loads
  records[c1].token = records[c0].token;  // a shared secret: both fail, C is c2's alone
  local_usage usage;
  const auto s = compile_ok(records, usage);
  std::vector<std::size_t> failed;
  for (const auto& p : s->problems()) failed.push_back(p.index);
  std::vector<std::size_t> expected = {a0, a1, a2, a3, b1, c0, c1};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(failed, expected);
  EXPECT_TRUE(contains(problem_of(*s, a0), "ip")) << problem_of(*s, a0);
  EXPECT_EQ(problem_of(*s, a1), "its id is also the id of token '" + records[a2].label + "'");
  EXPECT_EQ(problem_of(*s, a2), "its id is also the id of token '" + records[a1].label + "'");
  EXPECT_EQ(problem_of(*s, a3), "its id is also the id of token '" + records[a1].label + "'");
  EXPECT_TRUE(contains(problem_of(*s, b1), "limitTo")) << problem_of(*s, b1);
  EXPECT_EQ(problem_of(*s, c0), "its secret is also the secret of token 't9'");
  EXPECT_EQ(problem_of(*s, c1), "its secret is also the secret of token 't8'");
  EXPECT_EQ(s->size(), count - expected.size());
  EXPECT_TRUE(authenticates(*s, *records[b0].token));
  EXPECT_TRUE(authenticates(*s, *records[c2].token));
  EXPECT_FALSE(authenticates(*s, *records[a1].token));
}

/// `count` tokens, each with its own id and counter: every entry holds the
/// usage slot of its own token, whose count starts at its counter; a usage
/// store with room for one token fewer refuses the store.
void expect_each_token_holds_its_own_slot(std::size_t count) {
  SCOPED_TRACE(std::to_string(count) + " tokens");
  std::vector<token_record> records;
  records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    records.push_back(rec("t" + std::to_string(i), "secret-" + std::to_string(i) + "-0000000"));
    records.back().counter = i;
  }
  records[count / 2].ip = "not-an-address";  // left out: binds no slot
  local_usage usage;
  const auto s = compile_ok(records, usage);
  ASSERT_EQ(s->size(), count - 1);
  std::size_t checked = 0;
  for (const store::entry& e : s->entries()) {
    const auto slot = usage.find(s->id(e));
    ASSERT_TRUE(slot.has_value()) << s->id(e);
    ASSERT_EQ(e.slot, *slot) << s->id(e);
    ASSERT_EQ(usage.read(e.slot).count, e.record) << s->id(e);
    ++checked;
  }
  EXPECT_EQ(checked, count - 1);
  EXPECT_FALSE(usage.find(records[count / 2].id).has_value());

  testing::forwarding_usage just_enough(count - 1);
  EXPECT_TRUE(store::compile(records, just_enough).ok());
  testing::forwarding_usage one_short(count - 2);
  const auto refused = store::compile(records, one_short);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "the usage store has no room for another token");
}

TEST(StoreUsage, EachTokenHoldsItsOwnSlot) { expect_each_token_holds_its_own_slot(100); }

TEST(StoreProblems, AnIdIsSharedOnlyAmongTokensWithoutOtherProblems) {
  expect_ids_shared_only_among_good_tokens(20);
  expect_ids_shared_only_among_good_tokens(5000);
}

// A store this large hashes its secrets in two halves on two threads and
// zeroes its table on the second thread while the first checks the tokens:
// the problems and digests of both halves are those of one thread. (Named
// for the ThreadSanitizer build's filter.)
TEST(ConcurrentLoad, ALargeStoreCompilesOnTwoThreadsAsOnOne) {
  local_usage usage;
  const std::size_t count = store::two_threads_from + 10;
  std::vector<token_record> records;
  records.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    records.push_back(rec("t" + std::to_string(i), "secret-" + std::to_string(i) + "-0000000"));
  }
  const std::size_t late = count - 3;  // in the second half
  records[late].token = records[5].token;
  records[late - 1].token_sha256 = std::string(64, '0');  // not its secret's digest
  records[late - 2].token_sha256 = detail::to_hex(detail::sha256(*records[late - 2].token));
  records[late - 2].token.reset();  // known by its digest alone
  records[3].token_sha256 = "not hex";
  const auto s = compile_ok(records, usage);
  std::vector<std::size_t> failed;
  for (const auto& p : s->problems()) failed.push_back(p.index);
  EXPECT_EQ(failed, (std::vector<std::size_t>{3, 5, late - 1, late}));
  EXPECT_EQ(problem_of(*s, late - 1), "tokenSha256 is not the SHA-256 of token");
  EXPECT_EQ(problem_of(*s, 3), "tokenSha256 is not 64 hex digits");
  EXPECT_EQ(s->size(), count - 4);
  for (std::size_t i : {std::size_t{0}, count / 2, count / 2 + 1, late - 2, count - 1}) {
    EXPECT_TRUE(authenticates(*s, "secret-" + std::to_string(i) + "-0000000")) << i;
  }
  EXPECT_FALSE(authenticates(*s, "secret-5-0000000"));
  // Ids shared by tokens in both halves, as on one thread.
  expect_ids_shared_only_among_good_tokens(count);
}

// The table of a store this large is filled on the second thread while the
// usage slots are bound on the first; each slot then goes to its own entry.
TEST(ConcurrentLoad, ALargeStoreFillsItsTableWhileItsSlotsAreBound) {
  expect_each_token_holds_its_own_slot(store::two_threads_from + 10);
}

TEST(StoreSecureMode, TokenByDigestAuthenticates) {
  // examples/tokens.json's secure token: only the digest is stored.
  token_record secure = rec("Secure token", "", "auditor");
  secure.token.reset();
  secure.token_sha256 = "135f6e914b996590a1bdaf7014ad05d84a558ebe613abdd37a2742de16a81134";
  secure.limit_to = "[get].*/rest/api/2/(issue|project)/.*";
  authorizer auth;
  auto compiled = store::compile(std::span<const token_record>(&secure, 1), auth.usage());
  ASSERT_TRUE(compiled.ok()) << compiled.message();
  EXPECT_TRUE(compiled.value()->problems().empty());
  auth.replace_store(compiled.value());
  request req{"GET", "/rest/api/2/issue/OPS-7", *ip_address::parse("192.0.2.200"), "", "", ""};
  const std::string header = basic("auditor", "sec8ure4audit0r2tok3n5hown1nd0cs");
  req.authorization = header;
  const decision d = auth.decide(req, now);
  EXPECT_EQ(d.why(), reason::allowed);
  EXPECT_EQ(d.user(), "auditor");
  EXPECT_EQ(d.label(), "Secure token");
  const std::string wrong =
      basic("auditor", "135f6e914b996590a1bdaf7014ad05d84a558ebe613abdd37a2742de16a81134");
  req.authorization = wrong;  // presenting the digest itself is not the secret
  EXPECT_EQ(auth.decide(req, now).why(), reason::unknown_token);
}

TEST(StoreProblems, ProblemTokensAreUnknownToTheAuthorizer) {
  authorizer auth;
  std::vector<token_record> records = {rec("ok", "ok-secret-0000000001"),
                                       rec("broken", "broken-secret-000001")};
  records[1].limit_to = "(";
  auth.replace_store(compile_ok(records, auth.usage()));
  request req{"GET", "/x", *ip_address::parse("192.0.2.1"), "", "", ""};
  std::string header = basic("u", "broken-secret-000001");
  req.authorization = header;
  const decision d = auth.decide(req, now);
  EXPECT_EQ(d.why(), reason::unknown_token);
  EXPECT_EQ(d.label(), "");  // an unknown token has no label
  header = basic("u", "ok-secret-0000000001");
  req.authorization = header;
  EXPECT_EQ(auth.decide(req, now).why(), reason::allowed);
}

// -------------------------------------------------------------- strict mode

TEST(StoreStrict, AnyProblemRefusesTheWholeStore) {
  local_usage usage;
  std::vector<token_record> records = {rec("fine", "fine-secret-00000001"),
                                       rec("broken rule", "broken-secret-000001"),
                                       rec("broken ip", "broken-secret-000002")};
  records[1].limit_to = "[get](";
  records[2].ip = "nope";
  auto strict = store::compile(records, usage, limits{}, /*strict=*/true);
  ASSERT_FALSE(strict.ok());
  EXPECT_TRUE(contains(strict.message(), "broken rule")) << strict.message();
  EXPECT_TRUE(contains(strict.message(), "line 1")) << strict.message();
  EXPECT_TRUE(contains(strict.message(), "1 more")) << strict.message();
  // Without strict, the same records load the good token.
  auto lenient = store::compile(records, usage, limits{}, /*strict=*/false);
  ASSERT_TRUE(lenient.ok()) << lenient.message();
  EXPECT_EQ(lenient.value()->size(), 1U);
  EXPECT_EQ(lenient.value()->problems().size(), 2U);
  // Strict with no problem loads.
  records.resize(1);
  auto clean = store::compile(records, usage, limits{}, /*strict=*/true);
  ASSERT_TRUE(clean.ok()) << clean.message();
  EXPECT_EQ(clean.value()->size(), 1U);
}

// ------------------------------------------------- usage across recompiles

TEST(StoreUsage, CountsSurviveARecompileIntoANewSnapshot) {
  authorizer auth;
  std::vector<token_record> records = {rec("limited", "limited-secret-00001"),
                                       rec("no id", "noid-secret-00000001")};
  records[0].usage_limit = 5;
  records[1].id.clear();  // counted under the digest of its secret
  records[1].usage_limit = 4;
  auth.replace_store(compile_ok(records, auth.usage()));
  const std::string limited = basic("u", "limited-secret-00001");
  const std::string no_id = basic("u", "noid-secret-00000001");
  request req{"GET", "/x", *ip_address::parse("192.0.2.1"), "", "", ""};
  auto use = [&](const std::string& header) {
    req.authorization = header;
    return auth.decide(req, now).why();
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(use(limited), reason::allowed);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(use(no_id), reason::allowed);

  // A reload from the same file (its counters still 0) into a new snapshot.
  const auto first = auth.current_store();
  const auto second = compile_ok(records, auth.usage());
  ASSERT_NE(first.get(), second.get());
  auth.replace_store(second);
  const store::entry* e = second->find(detail::sha256("limited-secret-00001"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(auth.usage().read(e->slot).count, 3U);
  EXPECT_EQ(use(limited), reason::allowed);
  EXPECT_EQ(use(limited), reason::allowed);
  EXPECT_EQ(use(limited), reason::usage_exhausted);
  EXPECT_EQ(use(no_id), reason::allowed);
  EXPECT_EQ(use(no_id), reason::usage_exhausted);
}

TEST(StoreUsage, FileCounterStartsTheCountAndTheLargerWins) {
  local_usage usage;
  std::vector<token_record> records = {rec("counted", "counted-secret-00001")};
  records[0].counter = 100;
  const auto first = compile_ok(records, usage);
  const store::entry* e = first->find(detail::sha256("counted-secret-00001"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(usage.read(e->slot).count, 100U);
  ASSERT_TRUE(usage.try_consume(e->slot, 0));
  // The file says less than memory: memory wins, spent uses are never handed back.
  records[0].counter = 50;
  const auto second = compile_ok(records, usage);
  EXPECT_EQ(usage.read(second->find(detail::sha256("counted-secret-00001"))->slot).count, 101U);
  // The file says more (another instance counted): the file wins.
  records[0].counter = 500;
  const auto third = compile_ok(records, usage);
  EXPECT_EQ(usage.read(third->find(detail::sha256("counted-secret-00001"))->slot).count, 500U);
}

TEST(StoreUsage, CounterAtTheLimitIsExhaustedOnLoad) {
  authorizer auth;
  std::vector<token_record> records = {rec("spent", "spent-secret-0000001")};
  records[0].counter = 3;
  records[0].usage_limit = 3;
  auth.replace_store(compile_ok(records, auth.usage()));
  const std::string header = basic("u", "spent-secret-0000001");
  request req{"GET", "/x", *ip_address::parse("192.0.2.1"), "", header, ""};
  EXPECT_EQ(auth.decide(req, now).why(), reason::usage_exhausted);
}

// ------------------------------------------------------------------ limits

TEST(StoreLimits, MaxTokens) {
  EXPECT_EQ(limits{}.max_tokens, 10'000'000U);
  local_usage usage;
  limits lim;
  lim.max_tokens = 2;
  std::vector<token_record> records = {rec("a", "secret-a-000000001"),
                                       rec("b", "secret-b-000000001")};
  auto two = store::compile(records, usage, lim);
  ASSERT_TRUE(two.ok()) << two.message();
  EXPECT_EQ(two.value()->size(), 2U);
  records.push_back(rec("c", "secret-c-000000001"));
  auto three = store::compile(records, usage, lim);
  ASSERT_FALSE(three.ok());
  EXPECT_TRUE(contains(three.message(), "max_tokens")) << three.message();
}

TEST(StoreLimits, RuleLimitsApplyPerToken) {
  limits lim;
  lim.max_regex_bytes = 8;
  token_record bad = rec("long regex", "bad-secret-000000001");
  bad.limit_to = "/123456789";
  local_usage usage;
  const std::vector<token_record> records = {rec("good", "good-secret-0000000001"), bad};
  const auto s = compile_ok(records, usage, lim);
  ASSERT_EQ(s->problems().size(), 1U);
  EXPECT_TRUE(contains(s->problems()[0].message, "max_regex_bytes")) << s->problems()[0].message;
  EXPECT_TRUE(authenticates(*s, "good-secret-0000000001"));
}

}  // namespace
}  // namespace tokenguard

namespace tokenguard {
namespace {

// The probe table keeps label, user and id in the entry when together they fit in its
// second cache line, and in the arena otherwise: both read back exactly, and the table's
// empty slots never show through entries().
TEST(StoreTable, StringsInTheEntryOrTheArenaReadBackAndEveryTokenIsFoundOnce) {
  local_usage usage;
  std::vector<token_record> records;
  for (int i = 0; i < 3000; ++i) {
    // Every third token's strings are too long for its entry (label alone up to 250 bytes, under
    // the limit of 255).
    const std::string label =
        "token-" + std::to_string(i) + (i % 3 == 0 ? std::string(40 + i % 200, 'L') : "");
    token_record r = rec(label, "secret-of-token-" + std::to_string(i) + "-0123456789",
                         i % 5 == 0 ? "" : "user" + std::to_string(i));
    r.id = "id-" + std::to_string(i) + (i % 7 == 0 ? std::string(30, 'I') : "");
    records.push_back(r);
  }
  const auto s = compile_ok(records, usage);
  ASSERT_EQ(s->size(), records.size());
  std::vector<int> seen(records.size(), 0);
  std::size_t iterated = 0;
  for (const store::entry& e : s->entries()) {
    ASSERT_LT(e.record, records.size());
    ++seen[e.record];
    ++iterated;
  }
  EXPECT_EQ(iterated, records.size());
  EXPECT_EQ(s->entries().size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(seen[i], 1) << i;
    const store::entry* e = s->find(detail::sha256(*records[i].token));
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->record, i);
    EXPECT_EQ(s->label(*e), records[i].label);
    EXPECT_EQ(s->user(*e), records[i].user);
    EXPECT_EQ(s->id(*e), records[i].id);
  }
  // Digests that no token has: the probe ends at an empty slot (and wraps around the end).
  for (int i = 0; i < 20000; ++i) {
    EXPECT_FALSE(authenticates(*s, "no-such-secret-" + std::to_string(i)));
  }
}

TEST(StoreTable, EmptyStoreHasNoEntries) {
  local_usage usage;
  const auto s = compile_ok({}, usage);
  EXPECT_EQ(s->size(), 0U);
  EXPECT_TRUE(s->entries().empty());
  EXPECT_EQ(s->entries().begin(), s->entries().end());
  EXPECT_FALSE(authenticates(*s, "anything-at-all-here"));
}

}  // namespace
}  // namespace tokenguard
