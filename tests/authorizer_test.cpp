// The decision as a whole (SPEC 7): every reason, their order, the seed's
// examples, path bypasses, addresses, expiry, usage limits under threads and
// store replacement while deciding.

#include "tokenguard/authorizer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tokenguard/detail/base64.hpp"
#include "tokenguard/json.hpp"

namespace tokenguard {
namespace {

std::string basic(std::string_view user, std::string_view secret) {
  return "Basic " + detail::base64_encode(std::string(user) + ":" + std::string(secret));
}

constexpr std::int64_t now = 1'625'000'000'000;
constexpr std::string_view admin_secret = "ip9ul19f8jenb92tji8lo34qt7tb1meo";

// The seed's two tokens, plus tokens for the other features.
constexpr std::string_view store_json = R"({"tokens":[
  {"label":"Token name","user":"admin","token":"ip9ul19f8jenb92tji8lo34qt7tb1meo","id":"t1",
   "limitTo":"[post].*/rest/api/2/issue/KANBAN-100/comment.*<br>.*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*",
   "ip":"","validUntil":1630476718964,"dateCreated":1622700718964,"counter":100},
  {"label":"Token name two","user":"jankowalski","token":"okf8a73basc74nasc9n32","id":"t2",
   "limitTo":"","ip":"192.168.1.1","validUntil":1630476718964,"dateCreated":1622700718964,"counter":123456},
  {"label":"any user","user":"","token":"anyuser-secret-000000000000000001","id":"t3","limitTo":"[get]"},
  {"label":"newline rules","user":"bob","token":"bob-secret-00000000000000000001","id":"t4",
   "limitTo":"[get].*/a\\n[delete].*/b\n  \n[PUT|post] .*/never<BR />.*/c"},
  {"label":"networks","user":"carol","token":"carol-secret-000000000000000001","id":"t5",
   "ip":"10.0.0.0/8, 2001:db8::/32 ::ffff:192.0.2.0/120"},
  {"label":"limited","user":"dave","token":"dave-secret-0000000000000000001","id":"t6","usageLimit":3},
  {"label":"clauses","user":"erin","token":"erin-secret-0000000000000000001","id":"t7",
   "limitTo":"[get].*/search[QueryParam::max==[0-9]{1,2}]\n[post].*/issue[JsonData::fields.project.key==OPS]"},
  {"label":"complex","user":"frank","token":"frank-secret-000000000000000001","id":"t8",
   "limitTo":"/[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[0-9]1"},
  {"label":"broken","user":"gina","token":"gina-secret-0000000000000000001","id":"t9","limitTo":"[get]("}
]})";

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override { load(store_json); }

  void load(std::string_view json) {
    auto parsed = parse_store_json(json);
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    records_ = std::move(parsed).value().tokens;
    auto compiled = store::compile(records_, auth_.usage());
    ASSERT_TRUE(compiled.ok()) << compiled.message();
    auth_.replace_store(compiled.value());
  }

  decision decide(std::string_view method, std::string_view url, std::string_view authorization,
                  std::string_view peer = "192.0.2.7", std::string_view xff = "",
                  std::string_view body = "", std::int64_t at = now) {
    request req;
    req.method = method;
    req.url = url;
    req.authorization = authorization;
    req.peer = *ip_address::parse(peer);
    req.forwarded_for = xff;
    req.body = body;
    return auth_.decide(req, at);
  }

  reason why(std::string_view method, std::string_view url, std::string_view authorization,
             std::string_view peer = "192.0.2.7", std::string_view xff = "",
             std::string_view body = "", std::int64_t at = now) {
    return decide(method, url, authorization, peer, xff, body, at).why();
  }

  std::vector<token_record> records_;
  authorizer auth_;
};

TEST_F(AuthorizerTest, SeedExamplesAllowWhatTheyName) {
  const std::string admin = basic("admin", admin_secret);
  const decision d =
      decide("POST", "https://jira.example.com/rest/api/2/issue/KANBAN-100/comment", admin);
  EXPECT_EQ(d.why(), reason::allowed);
  EXPECT_EQ(d.user(), "admin");
  EXPECT_EQ(d.label(), "Token name");
  EXPECT_EQ(d.token_id(), "t1");
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1/comment", admin), reason::allowed);
  EXPECT_EQ(why("DELETE", "/rest/api/2/issue/SCRUM-2/comment/7", admin), reason::allowed);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-3/comment", admin), reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/KANBAN-100/comment", admin), reason::limit_to_mismatch);
  EXPECT_EQ(why("post", "/rest/api/2/issue/KANBAN-100/comment", admin), reason::allowed);
  EXPECT_EQ(why("POST", "/rest/api/2/issue/KANBAN-101/comment", admin), reason::limit_to_mismatch);
}

TEST_F(AuthorizerTest, LineSeparatorsAndMethodLists) {
  const std::string bob = basic("bob", "bob-secret-00000000000000000001");
  EXPECT_EQ(why("GET", "/x/a", bob), reason::allowed);  // split at backslash-n
  EXPECT_EQ(why("POST", "/x/a", bob), reason::limit_to_mismatch);
  EXPECT_EQ(why("DELETE", "/x/b", bob), reason::allowed);           // split at newline
  EXPECT_EQ(why("PATCH", "/x/c", bob), reason::allowed);            // split at <BR />
  EXPECT_EQ(why("PUT", "/never", bob), reason::limit_to_mismatch);  // " .*" keeps its space
}

TEST_F(AuthorizerTest, ReadOnlyTokenWithEmptyUrlRegex) {
  const std::string any = basic("someone", "anyuser-secret-000000000000000001");
  EXPECT_EQ(why("GET", "/anything/at/all", any), reason::allowed);
  EXPECT_EQ(why("HEAD", "/anything", any), reason::limit_to_mismatch);
  EXPECT_EQ(why("POST", "/anything", any), reason::limit_to_mismatch);
}

TEST_F(AuthorizerTest, PathBypassesAreCanonicalisedOrRefused) {
  const std::string admin = basic("admin", admin_secret);
  // Dot segments cannot escape the allowed prefix, nor reach it from outside.
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1/comment/../../../../admin", admin),
            reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/other/../rest/api/2/issue/SCRUM-1/comment", admin), reason::allowed);
  EXPECT_EQ(why("GET", "//rest//api/2/issue/SCRUM-1/comment", admin), reason::allowed);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1/%63omment", admin), reason::allowed);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1/comment/%2e%2e/%2E%2E/x", admin),
            reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1%2Fcomment", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "/rest/api/2/issue/SCRUM-1%5ccomment", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "/rest\\api", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "/a/%00", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "/a/%zz", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "/..", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", "relative/path", admin), reason::malformed_request);
  EXPECT_EQ(why("G E T", "/x", admin), reason::malformed_request);
  EXPECT_EQ(why("GET", std::string(8193, 'a').insert(0, "/"), admin), reason::malformed_request);
}

TEST_F(AuthorizerTest, CredentialReasons) {
  EXPECT_EQ(why("GET", "/x", ""), reason::missing_credentials);
  EXPECT_EQ(why("GET", "/x", "   "), reason::missing_credentials);
  EXPECT_EQ(why("GET", "/x", "Digest abc"), reason::malformed_credentials);
  EXPECT_EQ(why("GET", "/x", "Basic !!!"), reason::malformed_credentials);
  EXPECT_EQ(why("GET", "/x", "Basic " + detail::base64_encode("nocolon")),
            reason::malformed_credentials);
  EXPECT_EQ(why("GET", "/x", basic("admin", "")), reason::malformed_credentials);
  // The default mode is Basic only, as in the original.
  EXPECT_EQ(why("GET", "/x", "Bearer anything"), reason::scheme_not_enabled);
  EXPECT_EQ(why("GET", "/x", basic("admin", "no-such-token")), reason::unknown_token);
  EXPECT_EQ(why("GET", "/x", basic("admin", std::string(admin_secret) + "x")),
            reason::unknown_token);
}

// decide() looks the token up before it canonicalises the URL (to start the
// rule set's cache misses early); the answer must still be the first reason in
// SPEC 7's order.
TEST_F(AuthorizerTest, EarliestReasonWinsWhenSeveralApply) {
  const std::string admin = basic("admin", admin_secret);
  for (const std::string_view url : {"/..", "/a/%zz", "relative"}) {
    SCOPED_TRACE(url);
    EXPECT_EQ(why("GET", url, ""), reason::malformed_request);
    EXPECT_EQ(why("GET", url, "Basic !!!"), reason::malformed_request);
    EXPECT_EQ(why("GET", url, "Bearer x"), reason::malformed_request);
    EXPECT_EQ(why("GET", url, basic("admin", "nope")), reason::malformed_request);
    EXPECT_EQ(why("GET", url, basic("eve", admin_secret)), reason::malformed_request);
    EXPECT_EQ(why("GET", url, admin, "192.0.2.7", "", "", 1630476718964),
              reason::malformed_request);
  }
  const decision d = decide("GET", "/..", admin);
  EXPECT_FALSE(d.token_known());
  EXPECT_EQ(d.token_id(), "");
  EXPECT_EQ(d.label(), "");
  // Credentials come before the token, with or without a store.
  EXPECT_EQ(why("GET", "/x", "Basic !!!"), reason::malformed_credentials);
  authorizer empty;
  request req{"GET", "/x", *ip_address::parse("192.0.2.7"), "", "", ""};
  EXPECT_EQ(empty.decide(req, now).why(), reason::missing_credentials);
  req.authorization = admin;
  EXPECT_EQ(empty.decide(req, now).why(), reason::unknown_token);
  req.url = "/..";
  EXPECT_EQ(empty.decide(req, now).why(), reason::malformed_request);
}

TEST_F(AuthorizerTest, UserBinding) {
  const std::string secret = "anyuser-secret-000000000000000001";
  EXPECT_EQ(why("GET", "/x", basic("mallory", admin_secret)), reason::user_mismatch);
  EXPECT_EQ(why("GET", "/x", basic("", admin_secret)), reason::user_mismatch);
  const decision d = decide("GET", "/x", basic("Someone", secret));
  EXPECT_EQ(d.why(), reason::allowed);
  EXPECT_EQ(d.user(), "Someone");
  EXPECT_EQ(why("GET", "/x", basic("", secret)), reason::malformed_credentials);
  EXPECT_EQ(why("GET", "/x", basic(std::string(256, 'u'), secret)), reason::malformed_credentials);
}

TEST(AuthorizerModes, BearerIdentityAndUserRequired) {
  authorizer_options options;
  options.mode = auth_mode::both;
  authorizer auth(options);
  auto parsed = parse_store_json(R"([
    {"label":"bound","user":"Admin","token":"bound-secret-0000000001"},
    {"label":"free","user":"","token":"free-secret-00000000001"}])");
  ASSERT_TRUE(parsed.ok());
  auth.replace_store(store::compile(parsed.value().tokens, auth.usage()).value());
  request req{"GET", "/x", *ip_address::parse("192.0.2.1"), "", "Bearer bound-secret-0000000001",
              ""};
  decision d = auth.decide(req, now);
  EXPECT_EQ(d.why(), reason::allowed);
  EXPECT_EQ(d.user(), "Admin");
  req.authorization = "bearer free-secret-00000000001";
  EXPECT_EQ(auth.decide(req, now).why(), reason::user_required);
  const std::string basic_header =
      "Basic " + detail::base64_encode("admin:bound-secret-0000000001");
  req.authorization = basic_header;
  d = auth.decide(req, now);
  EXPECT_EQ(d.why(), reason::allowed);
  EXPECT_EQ(d.user(), "Admin");  // the stored name, not the presented spelling

  authorizer_options bearer_only;
  bearer_only.mode = auth_mode::bearer;
  authorizer bearer_auth(bearer_only);
  bearer_auth.replace_store(store::compile(parsed.value().tokens, bearer_auth.usage()).value());
  EXPECT_EQ(bearer_auth.decide(req, now).why(), reason::scheme_not_enabled);
}

TEST_F(AuthorizerTest, ExpiryIsExclusiveAtValidUntil) {
  const std::string admin = basic("admin", admin_secret);
  const std::string url = "/rest/api/2/issue/SCRUM-1/comment";
  constexpr std::int64_t valid_until = 1630476718964;
  EXPECT_EQ(why("GET", url, admin, "192.0.2.7", "", "", valid_until - 1), reason::allowed);
  EXPECT_EQ(why("GET", url, admin, "192.0.2.7", "", "", valid_until), reason::expired);
  EXPECT_EQ(why("GET", url, admin, "192.0.2.7", "", "", valid_until + 1), reason::expired);
  const decision d = decide("GET", url, admin, "192.0.2.7", "", "", valid_until);
  EXPECT_EQ(d.label(), "Token name");  // known token: label given
  EXPECT_EQ(d.user(), "");             // a deny names no identity
}

TEST_F(AuthorizerTest, ClientAddressLists) {
  const std::string jan = basic("jankowalski", "okf8a73basc74nasc9n32");
  EXPECT_EQ(why("GET", "/x", jan, "192.168.1.1"), reason::allowed);
  EXPECT_EQ(why("GET", "/x", jan, "::ffff:192.168.1.1"), reason::allowed);
  EXPECT_EQ(why("GET", "/x", jan, "192.168.1.2"), reason::ip_not_allowed);
  const std::string carol = basic("carol", "carol-secret-000000000000000001");
  EXPECT_EQ(why("GET", "/x", carol, "10.255.255.255"), reason::allowed);
  EXPECT_EQ(why("GET", "/x", carol, "11.0.0.0"), reason::ip_not_allowed);
  EXPECT_EQ(why("GET", "/x", carol, "2001:db8:ffff::1"), reason::allowed);
  EXPECT_EQ(why("GET", "/x", carol, "2001:db9::1"), reason::ip_not_allowed);
  EXPECT_EQ(why("GET", "/x", carol, "192.0.2.255"), reason::allowed);  // mapped network entry
  EXPECT_EQ(why("GET", "/x", carol, "192.0.3.0"), reason::ip_not_allowed);
}

TEST_F(AuthorizerTest, ForwardedForIsIgnoredWithoutTrustedProxies) {
  const std::string carol = basic("carol", "carol-secret-000000000000000001");
  EXPECT_EQ(why("GET", "/x", carol, "203.0.113.1", "10.0.0.1"), reason::ip_not_allowed);
}

TEST(AuthorizerProxies, ForwardedForIsReadRightToLeftFromTrustedProxies) {
  authorizer_options options;
  options.trusted_proxies.push_back(ip_network::parse("172.16.0.0/12").value());
  authorizer auth(options);
  auto parsed = parse_store_json(
      R"([{"label":"net","user":"carol","token":"carol-secret-0001","ip":"10.0.0.0/8"}])");
  ASSERT_TRUE(parsed.ok());
  auth.replace_store(store::compile(parsed.value().tokens, auth.usage()).value());
  const std::string header = basic("carol", "carol-secret-0001");
  auto at = [&](std::string_view peer, std::string_view xff) {
    request req{"GET", "/x", *ip_address::parse(peer), xff, header, ""};
    return auth.decide(req, now).why();
  };
  EXPECT_EQ(at("172.16.0.1", "10.1.1.1"), reason::allowed);
  EXPECT_EQ(at("172.16.0.1", "10.1.1.1, 172.16.5.5"), reason::allowed);
  // A client cannot put an allowed address on the left of its own.
  EXPECT_EQ(at("172.16.0.1", "10.1.1.1, 203.0.113.9"), reason::ip_not_allowed);
  EXPECT_EQ(at("172.16.0.1", "10.1.1.1, garbage"), reason::ip_not_allowed);
  EXPECT_EQ(at("172.16.0.1", ""), reason::ip_not_allowed);  // the proxy itself
  // An untrusted peer's header means nothing.
  EXPECT_EQ(at("203.0.113.9", "10.1.1.1"), reason::ip_not_allowed);
}

TEST_F(AuthorizerTest, QueryParamAndJsonDataClauses) {
  const std::string erin = basic("erin", "erin-secret-0000000000000000001");
  EXPECT_EQ(why("GET", "/api/search?max=50", erin), reason::allowed);
  EXPECT_EQ(why("GET", "/api/search?max=50&max=7", erin), reason::allowed);
  EXPECT_EQ(why("GET", "/api/search?max=50&max=700", erin), reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/api/search", erin), reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/api/search?max=%zz", erin), reason::limit_to_mismatch);
  EXPECT_EQ(why("GET", "/api/search?m%61x=5", erin), reason::allowed);
  const std::string ops = R"({"fields":{"project":{"key":"OPS"}}})";
  EXPECT_EQ(why("POST", "/api/issue", erin, "192.0.2.7", "", ops), reason::allowed);
  EXPECT_EQ(
      why("POST", "/api/issue", erin, "192.0.2.7", "", R"({"fields":{"project":{"key":"HR"}}})"),
      reason::limit_to_mismatch);
  EXPECT_EQ(why("POST", "/api/issue", erin, "192.0.2.7", "", "not json"),
            reason::limit_to_mismatch);
  EXPECT_EQ(why("POST", "/api/issue", erin), reason::limit_to_mismatch);
}

TEST_F(AuthorizerTest, EngineGivingUpDenies) {
  const std::string frank = basic("frank", "frank-secret-000000000000000001");
  EXPECT_EQ(why("GET", "/" + std::string(4000, 'a') + "!91", frank), reason::rule_too_complex);
  EXPECT_EQ(why("GET", "/short", frank), reason::limit_to_mismatch);
}

TEST_F(AuthorizerTest, TokenThatFailedToLoadIsUnknown) {
  EXPECT_EQ(why("GET", "/x", basic("gina", "gina-secret-0000000000000000001")),
            reason::unknown_token);
}

TEST_F(AuthorizerTest, UsageLimitCountsAllowedUsesOnly) {
  const std::string dave = basic("dave", "dave-secret-0000000000000000001");
  EXPECT_EQ(why("GET", "/x", dave, "192.0.2.7", "", "", 1), reason::allowed);
  EXPECT_EQ(why("GET", "/..", dave), reason::malformed_request);  // not counted
  EXPECT_EQ(why("GET", "/x", dave), reason::allowed);
  EXPECT_EQ(why("GET", "/x", dave), reason::allowed);
  EXPECT_EQ(why("GET", "/x", dave), reason::usage_exhausted);
  EXPECT_EQ(why("GET", "/x", dave), reason::usage_exhausted);
}

TEST_F(AuthorizerTest, ReachesEveryReason) {
  std::set<reason> seen;
  const std::string admin = basic("admin", admin_secret);
  seen.insert(why("GET", "/..", admin));
  seen.insert(why("GET", "/x", ""));
  seen.insert(why("GET", "/x", "Digest x"));
  seen.insert(why("GET", "/x", "Bearer x"));
  seen.insert(why("GET", "/x", basic("admin", "nope")));
  seen.insert(why("GET", "/x", basic("eve", admin_secret)));
  seen.insert(
      why("GET", "/rest/api/2/issue/SCRUM-1/comment", admin, "192.0.2.7", "", "", 1630476718964));
  seen.insert(why("GET", "/x", basic("jankowalski", "okf8a73basc74nasc9n32"), "192.0.2.1"));
  seen.insert(why("GET", "/x", admin));
  seen.insert(why("GET", "/" + std::string(4000, 'a') + "!91",
                  basic("frank", "frank-secret-000000000000000001")));
  for (int i = 0; i < 4; ++i)
    seen.insert(why("GET", "/x", basic("dave", "dave-secret-0000000000000000001")));
  authorizer_options options;
  options.mode = auth_mode::bearer;
  authorizer bearer(options);
  bearer.replace_store(store::compile(records_, bearer.usage()).value());
  request req{
      "GET", "/x", *ip_address::parse("192.0.2.7"), "", "Bearer anyuser-secret-000000000000000001",
      ""};
  seen.insert(bearer.decide(req, now).why());
  EXPECT_EQ(seen.size(), reason_count);
}

TEST_F(AuthorizerTest, UsageLimitHoldsUnderThreads) {
  load(R"([{"label":"race","user":"u","token":"race-secret-00000001","usageLimit":1000}])");
  const std::string header = basic("u", "race-secret-00000001");
  std::atomic<int> allowed{0};
  std::atomic<int> exhausted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      request req{"GET", "/x", *ip_address::parse("192.0.2.7"), "", header, ""};
      for (int i = 0; i < 500; ++i) {
        const reason r = auth_.decide(req, now).why();
        if (r == reason::allowed) ++allowed;
        if (r == reason::usage_exhausted) ++exhausted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(exhausted.load(), 3000);
}

TEST(AuthorizerReload, DecisionsDuringReplacementComeFromOneStoreOrTheOther) {
  authorizer auth;
  auto make = [&](std::string_view limit_to) {
    token_record r;
    r.label = "swap";
    r.user = "u";
    r.token = "swap-secret-000000001";
    r.id = "swap";
    r.limit_to = std::string(limit_to);
    return store::compile(std::span<const token_record>(&r, 1), auth.usage()).value();
  };
  const auto get_only = make("[get]");
  const auto post_only = make("[post]");
  auth.replace_store(get_only);
  const std::string header = basic("u", "swap-secret-000000001");
  std::atomic<bool> stop{false};
  std::atomic<long> mixed{0};
  std::atomic<long> decided{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      request get{"GET", "/x", *ip_address::parse("192.0.2.7"), "", header, ""};
      request post{"POST", "/x", *ip_address::parse("192.0.2.7"), "", header, ""};
      while (!stop.load()) {
        // Against either store exactly one of GET and POST is allowed; any other
        // reason would mean a decision saw a torn or freed snapshot.
        for (const request* r : {&get, &post}) {
          const reason why = auth.decide(*r, now).why();
          if (why != reason::allowed && why != reason::limit_to_mismatch) ++mixed;
        }
        decided += 2;
      }
    });
  }
  while (decided.load() == 0) std::this_thread::yield();  // readers are running
  for (int i = 0; i < 1000; ++i) auth.replace_store(i % 2 == 0 ? post_only : get_only);
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(decided.load(), 0);
}

}  // namespace
}  // namespace tokenguard

namespace tokenguard {
namespace {

// limits::match_budget_units is the budget each decision of that authorizer gets.
TEST(AuthorizerBudget, LimitsSetTheMatchingBudgetOfEveryDecision) {
  constexpr std::string_view json = R"({"tokens":[{"label":"quadratic","user":"quinn",
    "token":"quinn-secret-000000000000000001","limitTo":"(.*)\\1x"}]})";
  auto parsed = parse_store_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const std::string url = "/" + std::string(300, 'a') + "x";
  const auto decide_with = [&](std::int64_t units) {
    authorizer_options options;
    options.lim.match_budget_units = units;
    authorizer auth(options);
    auto compiled = store::compile(parsed.value().tokens, auth.usage());
    EXPECT_TRUE(compiled.ok()) << compiled.message();
    auth.replace_store(compiled.value());
    request req;
    req.method = "GET";
    req.url = url;
    const std::string authorization = basic("quinn", "quinn-secret-000000000000000001");
    req.authorization = authorization;
    req.peer = *ip_address::parse("192.0.2.7");
    return auth.decide(req, now).why();
  };
  EXPECT_EQ(decide_with(limits{}.match_budget_units), reason::limit_to_mismatch);
  EXPECT_EQ(decide_with(1000), reason::rule_too_complex);
  EXPECT_EQ(decide_with(0), reason::rule_too_complex);
}

}  // namespace
}  // namespace tokenguard
