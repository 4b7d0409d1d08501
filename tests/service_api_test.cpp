// The management API of SPEC 9 through token_service::handle: routing, get
// with pagination, create with every validation, settings, delete, and every
// status code with the message that names the field.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "service_test_support.hpp"
#include "tokenguard/service.hpp"

namespace tokenguard::testing {
namespace {

/// A store document with `n` tokens; token i belongs to users[i % users.size()].
std::string store_with(std::size_t n, const std::vector<std::string>& users = {"admin"},
                       std::int64_t date_created = test_now) {
  std::string out = R"({"tokens":[)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ",";
    char id[32];
    std::snprintf(id, sizeof id, "id-%06zu", i);
    out += R"({"label":"t)" + std::to_string(i) + R"(","user":")" + users[i % users.size()] +
           R"(","token":"secret-)" + std::to_string(i) + R"(-0123456789","id":")" + id +
           R"(","dateCreated":)" + std::to_string(date_created) + "}";
  }
  out += "]}";
  return out;
}

class ServiceApi : public service_fixture {
 protected:
  void load(const std::string& text) {
    service.reset();
    write_text(store_path, text);
    ASSERT_TRUE(open());
  }
};

// ---------------------------------------------------------------- routing

TEST_F(ServiceApi, UnknownEndpointsAre404) {
  auto a = call("GET", api("list"), "");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.message(), "no such endpoint: /rest/extender/1.0/tokenTools/list");
  a = call("GET", "/rest/api/2/issue", "");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.message(), "no such endpoint: /rest/api/2/issue");
  EXPECT_EQ(call("GET", api("get/"), "").status, 404);
  EXPECT_EQ(call("GET", api(""), "").status, 404);
  EXPECT_EQ(call("GET", "/rest/extender/1.0/tokenTools", "").status, 404);
}

TEST_F(ServiceApi, WrongMethodIs400NamingTheMethodToUse) {
  auto a = call("POST", api("get"), "{}");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "tokenTools/get takes GET, not POST");
  a = call("GET", api("set"), "");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "tokenTools/set takes POST, not GET");
  a = call("POST", api("delete"), R"({"id":"x"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "tokenTools/delete takes DELETE, not POST");
  EXPECT_EQ(call("get", api("get"), "").status, 400);  // methods are case-sensitive
  EXPECT_EQ(call("HEAD", api("get"), "").status, 400);
}

// Found by fuzz_service: a client's secret, typed where the method goes, came back in the
// error message (and so into any log of answers). Only standard methods are named.
TEST_F(ServiceApi, WrongMethodOutsideTheStandardOnesIsNotEchoed) {
  const std::string method = "GEanyone-secret-0123456789abcdefT";
  const auto a = call(method, api("set"), "");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "tokenTools/set takes POST, not a method of 33 bytes");
  EXPECT_EQ(a.body.find("anyone-secret"), std::string::npos);
  EXPECT_EQ(call("get", api("get"), "").message(),
            "tokenTools/get takes GET, not a method of 3 bytes");
  EXPECT_EQ(call("PATCH", api("get"), "").message(), "tokenTools/get takes GET, not PATCH");
}

TEST_F(ServiceApi, AbsoluteFormTargetsAndFragmentsAreAccepted) {
  EXPECT_EQ(
      call("GET", "https://jira.example.com" + api("get") + "?maxResults=5", "").num("maxResults"),
      5);
  EXPECT_EQ(call("GET", api("get") + "#top", "").status, 200);
  EXPECT_EQ(call("GET", "http://h", "").status, 404);
}

TEST_F(ServiceApi, ACallerWithoutAUserNameIsRefused) {
  const caller_identity nobody{"", false};
  for (const auto& [method, endpoint] :
       {std::pair{"GET", "get"}, std::pair{"POST", "set"}, std::pair{"DELETE", "delete"}}) {
    auto a = call(method, api(endpoint), R"({"label":"x"})", nobody);
    EXPECT_EQ(a.status, 403) << endpoint;
    EXPECT_EQ(a.message(), "the caller has no user name");
  }
}

// ---------------------------------------------------------------- get

TEST_F(ServiceApi, GetOnAnEmptyStore) {
  auto a = get();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body,
            R"({"total":0,"pages":0,"maxResults":1000,"startAt":0,"tokens":[],"status":"ok"})");
}

TEST_F(ServiceApi, PaginationEdges) {
  load(store_with(5));
  auto a = get();
  EXPECT_EQ(a.num("total"), 5);
  EXPECT_EQ(a.num("pages"), 1);
  EXPECT_EQ(a.num("maxResults"), 1000);
  EXPECT_EQ(a.num("startAt"), 0);
  EXPECT_EQ(a.tokens().size(), 5u);

  a = get("?maxResults=2");
  EXPECT_EQ(a.num("pages"), 3);  // ceil(5 / 2)
  EXPECT_EQ(a.token_strings("label"), (std::vector<std::string>{"t0", "t1"}));
  a = get("?startAt=4&maxResults=2");
  EXPECT_EQ(a.token_strings("label"), (std::vector<std::string>{"t4"}));
  EXPECT_EQ(a.num("startAt"), 4);

  // startAt past the end: an empty page, the totals still right.
  a = get("?startAt=5");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.tokens().size(), 0u);
  EXPECT_EQ(a.num("total"), 5);
  a = get("?startAt=99999999999999999999999");  // saturates: still a non-negative integer
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.tokens().size(), 0u);

  // maxResults is clamped to 1..1000.
  a = get("?maxResults=0");
  EXPECT_EQ(a.num("maxResults"), 1);
  EXPECT_EQ(a.num("pages"), 5);
  EXPECT_EQ(a.tokens().size(), 1u);
  a = get("?maxResults=1");
  EXPECT_EQ(a.num("maxResults"), 1);
  EXPECT_EQ(a.tokens().size(), 1u);
  a = get("?maxResults=1000");
  EXPECT_EQ(a.num("maxResults"), 1000);
  a = get("?maxResults=1001");
  EXPECT_EQ(a.num("maxResults"), 1000);
  a = get("?maxResults=18446744073709551616");
  EXPECT_EQ(a.num("maxResults"), 1000);

  // Other parameters are ignored; startAt and maxResults may be escaped.
  a = get("?_=12345&startAt=%31&maxResults=1");
  EXPECT_EQ(a.token_strings("label"), (std::vector<std::string>{"t1"}));
}

TEST_F(ServiceApi, PaginationRefusesWhatIsNotANonNegativeInteger) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"?maxResults=abc", R"(maxResults must be a non-negative integer, not "abc")"},
      {"?maxResults=-1", R"(maxResults must be a non-negative integer, not "-1")"},
      {"?startAt=-1", R"(startAt must be a non-negative integer, not "-1")"},
      {"?startAt=abc", R"(startAt must be a non-negative integer, not "abc")"},
      {"?startAt=", R"(startAt must be a non-negative integer, not "")"},
      {"?startAt", R"(startAt must be a non-negative integer, not "")"},
      {"?maxResults=1.5", R"(maxResults must be a non-negative integer, not "1.5")"},
      {"?maxResults=+5", R"(maxResults must be a non-negative integer, not " 5")"},
      {"?maxResults=%205", R"(maxResults must be a non-negative integer, not " 5")"},
      {"?startAt=0&startAt=1", "startAt is given more than once"},
      {"?maxResults=%zz", "the query string is not valid form-urlencoded UTF-8"},
  };
  for (const auto& [query, message] : cases) {
    auto a = get(query);
    EXPECT_EQ(a.status, 400) << query;
    EXPECT_EQ(a.message(), message) << query;
  }
}

TEST_F(ServiceApi, ManyTokensPageThroughInStableOrder) {
  load(store_with(2501));
  auto a = get();
  EXPECT_EQ(a.num("total"), 2501);
  EXPECT_EQ(a.num("pages"), 3);
  EXPECT_EQ(a.tokens().size(), 1000u);
  std::vector<std::string> all;
  for (int start = 0; start < 2501; start += 1000) {
    auto page = get("?startAt=" + std::to_string(start));
    for (auto& id : page.token_strings("id")) all.push_back(id);
  }
  ASSERT_EQ(all.size(), 2501u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 2501u);
}

TEST_F(ServiceApi, OrderIsDateCreatedThenId) {
  load(R"({"tokens":[
    {"label":"c","token":"secret-c-0123456789","id":"b","dateCreated":2},
    {"label":"a","token":"secret-a-0123456789","id":"z","dateCreated":1},
    {"label":"d","token":"secret-d-0123456789","id":"a","dateCreated":2},
    {"label":"b","token":"secret-b-0123456789","id":"y","dateCreated":1}]})");
  EXPECT_EQ(get().token_strings("label"), (std::vector<std::string>{"b", "a", "d", "c"}));
  now_ms = 1;  // a new token sorts among the others by its dateCreated
  const std::string id(create(R"({"label":"e"})").str("id"));
  ASSERT_LT(id, "y");  // 32 hex digits
  EXPECT_EQ(get().token_strings("label"), (std::vector<std::string>{"e", "b", "a", "d", "c"}));
}

TEST_F(ServiceApi, LimitToIsReturnedWithLinesJoinedByBr) {
  create(R"({"label":"a","limitTo":"[post].*/x.*\n .*/y.* \r\n\n<BR/>[get]\\n.*/z<br />"})");
  EXPECT_EQ(get().token_strings("limitTo"),
            (std::vector<std::string>{"[post].*/x.*<br>.*/y.*<br>[get]<br>.*/z"}));
}

// ---------------------------------------------------------------- create

TEST_F(ServiceApi, CreateAnswersWithTheTokenAndItsSecret) {
  auto a = create(R"({"label":"Token name","daysUntilExpiry":90,"userName":"admin",
      "limitTo":"[post].*/rest/api/2/issue/KANBAN-100/comment.*\n.*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*"})");
  EXPECT_EQ(a.str("label"), "Token name");
  EXPECT_EQ(a.str("user"), "admin");
  EXPECT_EQ(a.num("dateCreated"), test_now);
  EXPECT_EQ(a.num("validUntil"), test_now + 90 * 86'400'000LL);
  EXPECT_EQ(a.num("counter"), 0);
  EXPECT_EQ(a.str("limitTo"),
            "[post].*/rest/api/2/issue/KANBAN-100/comment.*<br>.*/rest/api/2/issue/SCRUM-[1-2]{1}/"
            "comment.*");
  const std::string secret(a.str("token"));
  EXPECT_EQ(secret.size(), 32u);
  EXPECT_EQ(secret.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos);
  EXPECT_EQ(a.str("id").size(), 32u);
  EXPECT_FALSE(a.has("usageLimit"));

  // Published at once: the new token authorizes.
  EXPECT_EQ(
      decide("POST", "https://j.example.com/rest/api/2/issue/KANBAN-100/comment", "admin", secret)
          .why(),
      reason::allowed);
  EXPECT_EQ(
      decide("GET", "https://j.example.com/rest/api/2/issue/KANBAN-100/comment", "admin", secret)
          .why(),
      reason::limit_to_mismatch);
}

TEST_F(ServiceApi, CreateWithTheSeedsExampleBodies) {
  EXPECT_EQ(
      create(
          R"({ "label": "Token name", "daysUntilExpiry": 0, "token": "ip9ul19f8jenb92tji8lo34qt7tb1meo" })")
          .str("token"),
      "ip9ul19f8jenb92tji8lo34qt7tb1meo");
  EXPECT_EQ(create(R"({ "label": "Token name YXZ", "userName": "admin" })").str("user"), "admin");
  auto a = create(R"({ "label": "Token name ABC" })");
  EXPECT_EQ(a.str("user"), "");  // an administrator's token with no userName: any user
  EXPECT_EQ(a.num("validUntil"), 0);
  EXPECT_EQ(get().num("total"), 3);
}

TEST_F(ServiceApi, ExpiryArithmetic) {
  EXPECT_EQ(create(R"({"label":"a","daysUntilExpiry":36500})").num("validUntil"),
            test_now + 36500 * 86'400'000LL);
  EXPECT_EQ(create(R"({"label":"b","daysUntilExpiry":1})").num("validUntil"),
            test_now + 86'400'000);
  EXPECT_EQ(create(R"({"label":"c","daysUntilExpiry":null})").num("validUntil"), 0);
  now_ms = INT64_MAX - 1000;
  auto a = set(R"({"label":"d","daysUntilExpiry":1})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "daysUntilExpiry: the expiry time overflows");
}

TEST_F(ServiceApi, CreateValidationNamesTheField) {
  const std::string long_label(256, 'x');
  const std::string long_user(256, 'u');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({})", "label is required"},
      {R"({"daysUntilExpiry":5})", "label is required"},
      {R"({"label":null})", "label is required"},
      {R"({"label":5})", "label must be a string"},
      {R"({"label":""})", "label must be 1 to 255 bytes, not 0"},
      {R"({"label":")" + long_label + R"("})", "label must be 1 to 255 bytes, not 256"},
      {R"({"label":"a","colour":"red"})", R"(unknown field "colour")"},
      {R"({"label":"a","label":"b"})", R"(field "label" is given more than once)"},
      {R"({"label":"a","daysUntilExpiry":-1})",
       "daysUntilExpiry must be an integer from 0 to 36500"},
      {R"({"label":"a","daysUntilExpiry":36501})",
       "daysUntilExpiry must be an integer from 0 to 36500"},
      {R"({"label":"a","daysUntilExpiry":1.5})",
       "daysUntilExpiry must be an integer from 0 to 36500"},
      {R"({"label":"a","daysUntilExpiry":"90"})",
       "daysUntilExpiry must be an integer from 0 to 36500"},
      {R"({"label":"a","daysUntilExpiry":18446744073709551615})",
       "daysUntilExpiry must be an integer from 0 to 36500"},
      {R"({"label":"a","userName":7})", "userName must be a string"},
      {R"({"label":"a","userName":"a:b"})",
       "userName must not hold ':' or control characters (Basic auth could not send it)"},
      {R"({"label":"a","userName":"a\tb"})",
       "userName must not hold ':' or control characters (Basic auth could not send it)"},
      {R"({"label":"a","userName":")" + long_user + R"("})", "userName must be at most 255 bytes"},
      {R"({"label":"a","limitTo":["x"]})", "limitTo must be a string"},
      {R"({"label":"a","limitTo":".*/ok\n[get](unclosed"})",
       "limitTo: line 2: URL regex '(unclosed': "},
      {R"({"label":"a","limitTo":"[get,].*"})",
       "limitTo: line 1: empty method name in the method list '[get,]'"},
      {R"({"label":"a","ip":"10.0.0.0/33"})", "ip: "},
      {R"({"label":"a","ip":false})", "ip must be a string"},
      {R"({"label":"a","usageLimit":-1})", "usageLimit must be a non-negative integer"},
      {R"({"label":"a","usageLimit":"5"})", "usageLimit must be a non-negative integer"},
      {R"({"label":"a","usageLimit":2.0})", "usageLimit must be a non-negative integer"},
      {R"({"label":"a","token":123})", "token must be a string"},
      {R"({"label":"a","token":"fifteen-chars-x"})",
       "token must be 16 to 256 printable ASCII characters without spaces"},
      {R"({"label":"a","token":"sixteen chars xx"})",
       "token must be 16 to 256 printable ASCII characters without spaces"},
      {R"({"label":"a","token":"sixteen-chars-\u00e9"})",
       "token must be 16 to 256 printable ASCII characters without spaces"},
      {R"({"label":"a","token":")" + std::string(257, 'k') + R"("})",
       "token must be 16 to 256 printable ASCII characters without spaces"},
      {"", "the body is not valid JSON at line 1, column 1 (byte 0): unexpected end of input"},
      {R"({"label":"a",})",
       "the body is not valid JSON at line 1, column 14 (byte 13): expected a string key"},
      {R"({"label":"a","usageLimit":18446744073709551616})",
       "the body holds a number beyond 64 bits or a double's range"},
      {R"(["label"])", "the body must be a JSON object"},
      {R"("label")", "the body must be a JSON object"},
  };
  for (const auto& [body, message] : cases) {
    auto a = set(body);
    EXPECT_EQ(a.status, 400) << body;
    // Messages that quote a library's reason are checked up to that reason.
    EXPECT_EQ(std::string(a.message()).substr(0, message.size()), message) << body;
  }
  EXPECT_EQ(get().num("total"), 0);
}

TEST_F(ServiceApi, OptionalFieldsMayBeNull) {
  auto a = create(
      R"({"label":"a","userName":null,"limitTo":null,"ip":null,"usageLimit":null,"token":null})");
  EXPECT_EQ(a.str("token").size(), 32u);
}

TEST_F(ServiceApi, CustomTokenBounds) {
  EXPECT_EQ(create(R"({"label":"a","token":"0123456789abcdef"})").str("token"), "0123456789abcdef");
  const std::string longest(256, '~');
  EXPECT_EQ(create(R"({"label":"b","token":")" + longest + R"("})").str("token"), longest);
  EXPECT_EQ(create(R"({"label":"c","token":"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"})").str("token"),
            "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}");
}

TEST_F(ServiceApi, ADuplicateSecretIs409) {
  create(R"({"label":"a","token":"0123456789abcdef"})");
  auto a = set(R"({"label":"b","token":"0123456789abcdef"})");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.message(), "token: another token already has this secret");
  EXPECT_EQ(get().num("total"), 1);
}

TEST_F(ServiceApi, UsageLimitAndIpAreEnforcedOnceCreated) {
  auto a = create(
      R"({"label":"a","token":"0123456789abcdef","usageLimit":2,"ip":"192.0.2.0/24, 2001:db8::/32"})");
  EXPECT_EQ(a.num("usageLimit"), 2);
  EXPECT_EQ(a.str("ip"), "192.0.2.0/24, 2001:db8::/32");
  EXPECT_EQ(decide("GET", "/x", "someone", "0123456789abcdef", "198.51.100.1").why(),
            reason::ip_not_allowed);
  EXPECT_EQ(decide("GET", "/x", "someone", "0123456789abcdef").why(), reason::allowed);
  EXPECT_EQ(decide("GET", "/x", "someone", "0123456789abcdef").why(), reason::allowed);
  EXPECT_EQ(decide("GET", "/x", "someone", "0123456789abcdef").why(), reason::usage_exhausted);
  EXPECT_EQ(get().tokens().at(0)["counter"].get_int64().value(), 2);
}

TEST_F(ServiceApi, GeneratedSecretsAndIdsAreDistinct) {
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 20; ++i) {
    auto a = create(R"({"label":"x"})");
    secrets.emplace(a.str("token"));
    ids.emplace(a.str("id"));
  }
  EXPECT_EQ(secrets.size(), 20u);
  EXPECT_EQ(ids.size(), 20u);
}

TEST_F(ServiceApi, AFailingRandomSourceIs500) {
  service.reset();
  auto options = make_options();
  options.random_bytes = [](unsigned char*, std::size_t) { return false; };
  ASSERT_TRUE(open(options));
  auto a = set(R"({"label":"x"})");
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.message(), "the random generator failed");
  // A custom secret still needs a random id.
  EXPECT_EQ(set(R"({"label":"x","token":"0123456789abcdef"})").status, 500);
  EXPECT_EQ(get().num("total"), 0);
}

TEST_F(ServiceApi, BodiesOverTheLimitAre413) {
  service.reset();
  auto options = make_options();
  options.max_request_body_bytes = 64;
  ASSERT_TRUE(open(options));
  const std::string body = R"({"label":")" + std::string(60, 'x') + R"("})";
  auto a = set(body);
  EXPECT_EQ(a.status, 413);
  EXPECT_EQ(a.message(), "the request body is " + std::to_string(body.size()) +
                             " bytes, over the limit of 64 (max_request_body_bytes)");
  EXPECT_EQ(del(R"({"id":")" + std::string(60, 'x') + R"("})").status, 413);
  EXPECT_EQ(set(R"({"label":"fits"})").status, 200);
}

TEST_F(ServiceApi, TheTokenLimitIsNamed) {
  service.reset();
  auto options = make_options();
  options.lim.max_tokens = 2;
  ASSERT_TRUE(open(options));
  create(R"({"label":"a"})");
  create(R"({"label":"b"})");
  auto a = set(R"({"label":"c"})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "the store holds 2 tokens, the limit (max_tokens)");
}

TEST_F(ServiceApi, TheStoreFileLimitIsNamedAndNothingChanges) {
  service.reset();
  auto options = make_options();
  options.lim.max_store_bytes = 900;
  ASSERT_TRUE(open(options));
  create(R"({"label":"a"})");
  auto a = set(R"({"label":")" + std::string(255, 'b') + R"(","limitTo":")" +
               std::string(200, 'c') + R"("})");
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(std::string(a.message()).find("over the limit of 900 (max_store_bytes)"),
            std::string::npos)
      << a.message();
  EXPECT_EQ(get().num("total"), 1);
  EXPECT_EQ(auth->current_store()->size(), 1u);
}

TEST_F(ServiceApi, AWriteFailureIs500AndRollsBack) {
  create(R"({"label":"kept","token":"0123456789abcdef"})");
  std::filesystem::remove_all(dir.path());  // the service still holds its lock; writes now fail
  auto a = set(R"({"label":"lost"})");
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(std::string(a.message())
                .rfind("cannot write the store file: cannot create a temporary file in", 0),
            0u)
      << a.message();
  EXPECT_EQ(del(R"({"token":"0123456789abcdef"})").status, 500);
  EXPECT_EQ(set(R"({"collectUsageDetails":true})").status, 500);
  EXPECT_FALSE(service->settings().collect_usage_details);
  EXPECT_EQ(get().token_strings("label"), (std::vector<std::string>{"kept"}));
  auto flushed = service->flush();
  EXPECT_TRUE(flushed.ok());  // no use since the last write: nothing to write
  EXPECT_EQ(decide("GET", "/x", "u", "0123456789abcdef").why(), reason::allowed);
  flushed = service->flush();  // a counter changed: the write fails and says so
  ASSERT_FALSE(flushed.ok());
  EXPECT_EQ(flushed.message().rfind("cannot write the store file: ", 0), 0u) << flushed.message();
  std::filesystem::create_directories(dir.path());
  flushed = service->flush();  // still dirty: written once the directory is back
  ASSERT_TRUE(flushed.ok()) << flushed.message();
  EXPECT_TRUE(flushed.value());
}

// ---------------------------------------------------------------- settings

TEST_F(ServiceApi, SettingsAreChangedByAdministrators) {
  auto a = set(R"({"collectUsageDetails":true})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(
      a.body,
      R"({"settings":{"secureMode":false,"collectUsageDetails":true,"addAuditRecord":false},"status":"ok"})");
  a = set(R"({"addAuditRecord":true,"collectUsageDetails":false})");
  EXPECT_EQ(
      a.body,
      R"({"settings":{"secureMode":false,"collectUsageDetails":false,"addAuditRecord":true},"status":"ok"})");
  EXPECT_TRUE(service->settings().add_audit_record);
  EXPECT_FALSE(service->settings().collect_usage_details);
}

TEST_F(ServiceApi, SettingsErrors) {
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {R"({"collectUsageDetails":"yes"})", 400, "collectUsageDetails must be true or false"},
      {R"({"addAuditRecord":1})", 400, "addAuditRecord must be true or false"},
      {R"({"secureMode":null})", 400, "secureMode must be true or false"},
      {R"({"collectUsageDetails":true,"label":"x"})", 400,
       "a request cannot mix settings (collectUsageDetails) and token fields (label)"},
      {R"({"label":"x","addAuditRecord":false})", 400,
       "a request cannot mix settings (addAuditRecord) and token fields (label)"},
      {R"({"collectUsageDetails":true,"collectUsageDetails":false})", 400,
       R"(field "collectUsageDetails" is given more than once)"},
  };
  for (const auto& [body, status, message] : cases) {
    auto a = set(body);
    EXPECT_EQ(a.status, status) << body;
    EXPECT_EQ(a.message(), message) << body;
  }
  auto a = set(R"({"collectUsageDetails":true})", alice);
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.message(), "only administrators can change settings");
  EXPECT_EQ(set(R"({"secureMode":true})").status, 200);
  a = set(R"({"secureMode":false})");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message(), "secureMode cannot be turned off: the store no longer holds the secrets");
  EXPECT_EQ(set(R"({"secureMode":true})").status, 200);  // already on: nothing to do
}

// ---------------------------------------------------------------- delete

TEST_F(ServiceApi, DeleteByTokenOrId) {
  create(R"({"label":"a","token":"0123456789abcdef"})");
  const std::string id(create(R"({"label":"b"})").str("id"));
  auto a = del(R"({"token":"0123456789abcdef"})");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, R"({"deleted":1,"status":"ok"})");
  EXPECT_EQ(decide("GET", "/x", "u", "0123456789abcdef").why(), reason::unknown_token);
  EXPECT_EQ(del(R"({"id":")" + id + R"("})").status, 200);
  EXPECT_EQ(get().num("total"), 0);
}

TEST_F(ServiceApi, DeleteErrors) {
  create(R"({"label":"a","token":"0123456789abcdef"})");
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {R"({"token":"no-such-secret-0000"})", 404, "no token has this secret"},
      {R"({"id":"nope"})", 404, R"(no token has the id "nope")"},
      {R"({"token":"0123456789abcdef","id":"x"})", 400, "give token or id, not both"},
      {R"({})", 400, "token or id is required"},
      {R"({"label":"a"})", 400, R"(unknown field "label")"},
      {R"({"id":5})", 400, "id must be a string"},
      {R"({"token":null})", 400, "token must be a string"},
      {R"({"id":""})", 400, "id must not be empty"},
      {R"({"id":"a","id":"b"})", 400, R"(field "id" is given more than once)"},
      {"nope", 400, "the body is not valid JSON at line 1, column 1 (byte 0): invalid literal"},
      {"[]", 400, "the body must be a JSON object"},
  };
  for (const auto& [body, status, message] : cases) {
    auto a = del(body);
    EXPECT_EQ(a.status, status) << body;
    EXPECT_EQ(a.message(), message) << body;
  }
  EXPECT_EQ(get().num("total"), 1);
}

TEST_F(ServiceApi, DeletingAmbiguousSecretsRemovesEveryHolder) {
  load(R"({"tokens":[
    {"label":"a","token":"shared-secret-0123","id":"1"},
    {"label":"b","token":"shared-secret-0123","id":"2"},
    {"label":"c","token":"other-secret-01234","id":"3"}]})");
  EXPECT_EQ(service->problems().size(), 2u);
  auto a = del(R"({"token":"shared-secret-0123"})");
  EXPECT_EQ(a.body, R"({"deleted":2,"status":"ok"})");
  EXPECT_EQ(get().token_strings("label"), (std::vector<std::string>{"c"}));
  EXPECT_TRUE(service->problems().empty());
}

// ---------------------------------------------------------------- generation

TEST(ServiceRandomToken, RejectionSamplingUsesEachSymbolEquallyAndSkipsTheTail) {
  // Every byte value once: 252..255 are dropped, the other 252 give each of
  // the 36 symbols exactly 7 times, so no symbol is favoured.
  unsigned next = 0;
  auto all_bytes = [&next](unsigned char* out, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<unsigned char>(next++ & 0xFF);
    return true;
  };
  const auto token = detail::random_token(all_bytes, 252);
  ASSERT_TRUE(token.has_value());
  std::map<char, int> counts;
  for (const char c : *token) ++counts[c];
  EXPECT_EQ(counts.size(), 36u);
  for (const auto& [c, n] : counts) EXPECT_EQ(n, 7) << c;
  EXPECT_EQ(next, 256u);  // four buffers of 64: the 4 bytes >= 252 were skipped, not used

  auto high_then_low = [n = 0](unsigned char* out, std::size_t size) mutable {
    for (std::size_t i = 0; i < size; ++i) out[i] = n++ < 10 ? 0xFF : 0x00;
    return true;
  };
  EXPECT_EQ(detail::random_token(high_then_low, 4), "aaaa");
  auto only_high = [](unsigned char* out, std::size_t size) {
    std::fill(out, out + size, 0xFC);
    return true;
  };
  EXPECT_FALSE(detail::random_token(only_high).has_value());
  auto failing = [](unsigned char*, std::size_t) { return false; };
  EXPECT_FALSE(detail::random_token(failing).has_value());
  EXPECT_FALSE(detail::random_id(failing).has_value());
}

TEST(ServiceRandomToken, OpenSslSecretsLookRandom) {
  auto source = [](unsigned char* out, std::size_t size) {
    return RAND_bytes(out, static_cast<int>(size)) == 1;
  };
  std::map<char, int> counts;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto token = detail::random_token(source);
    ASSERT_TRUE(token.has_value());
    ASSERT_EQ(token->size(), 32u);
    seen.insert(*token);
    for (const char c : *token) ++counts[c];
  }
  EXPECT_EQ(seen.size(), 2000u);
  ASSERT_EQ(counts.size(), 36u);
  // 64 000 symbols, 1777.8 expected each; 5 sigma is about 205.
  for (const auto& [c, n] : counts) {
    EXPECT_GT(n, 1570) << c;
    EXPECT_LT(n, 1990) << c;
  }
}

TEST(ServiceNumbers, ParseNonNegative) {
  EXPECT_EQ(detail::parse_non_negative("0"), 0u);
  EXPECT_EQ(detail::parse_non_negative("007"), 7u);
  EXPECT_EQ(detail::parse_non_negative("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(detail::parse_non_negative("18446744073709551616"), UINT64_MAX);
  EXPECT_FALSE(detail::parse_non_negative(""));
  EXPECT_FALSE(detail::parse_non_negative("-0"));
  EXPECT_FALSE(detail::parse_non_negative("1e3"));
  EXPECT_FALSE(detail::parse_non_negative(" 1"));
}

}  // namespace
}  // namespace tokenguard::testing
