// Reading a token store document (SPEC 8 with the record of SPEC 2): both
// shapes, errors that name their position, per-token field errors that fail
// closed, unknown fields kept, nulls, the number ranges, the store size limit
// and the settings object.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "tokenguard/json.hpp"

namespace tokenguard {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

parsed_store parse_ok(std::string_view json, const limits& lim = limits{}) {
  auto parsed = parse_store_json(json, lim);
  EXPECT_TRUE(parsed.ok()) << parsed.message() << "\n" << json;
  return parsed ? std::move(parsed).value() : parsed_store{};
}

std::string parse_error(std::string_view json, const limits& lim = limits{}) {
  auto parsed = parse_store_json(json, lim);
  EXPECT_FALSE(parsed.ok()) << json;
  return parsed ? std::string() : parsed.message();
}

/// The load_error of the only token of `[ {token_members} ]`.
std::string field_error(std::string_view token_members) {
  const parsed_store s = parse_ok("[{" + std::string(token_members) + "}]");
  if (s.tokens.size() != 1) return "<no token>";
  return s.tokens[0].load_error;
}

// ------------------------------------------------------------------- shapes

constexpr std::string_view seed_token =
    R"({"authorKey":"JIRAUSER1010","userKey":"JIRAUSER1011","userDisplayName":"Jira Administrator",)"
    R"("label":"Token name","user":"admin","token":"ip9ul19f8jenb92tji8lo34qt7tb1meo",)"
    R"("id":"AXEQ==","limitTo":"[post].*/a<br>.*/b","ip":"192.0.2.0/24",)"
    R"("validUntil":1630476718964,"dateCreated":1622700718964,"counter":100,"usageLimit":7,)"
    R"("lastUsed":1622700800000,"lastIp":"192.0.2.7"})";

void expect_seed_token(const token_record& r) {
  EXPECT_EQ(r.label, "Token name");
  EXPECT_EQ(r.user, "admin");
  ASSERT_TRUE(r.token.has_value());
  EXPECT_EQ(*r.token, "ip9ul19f8jenb92tji8lo34qt7tb1meo");
  EXPECT_FALSE(r.token_sha256.has_value());
  EXPECT_EQ(r.id, "AXEQ==");
  EXPECT_EQ(r.limit_to, "[post].*/a<br>.*/b");
  EXPECT_EQ(r.ip, "192.0.2.0/24");
  EXPECT_EQ(r.valid_until, 1630476718964);
  EXPECT_EQ(r.date_created, 1622700718964);
  EXPECT_EQ(r.counter, 100U);
  EXPECT_EQ(r.usage_limit, 7U);
  EXPECT_EQ(r.author_key, "JIRAUSER1010");
  EXPECT_EQ(r.user_key, "JIRAUSER1011");
  EXPECT_EQ(r.user_display_name, "Jira Administrator");
  EXPECT_EQ(r.last_used, 1622700800000);
  EXPECT_EQ(r.last_ip, "192.0.2.7");
  EXPECT_EQ(r.extra_members, "");
  EXPECT_EQ(r.load_error, "");
}

TEST(JsonLoaderShapes, TokenToolsGetObject) {
  const parsed_store s = parse_ok(
      R"({"total":2,"pages":1,"maxResults":1000,"startAt":0,"tokens":[)" + std::string(seed_token) +
      R"(,{"label":"two","token":"second-secret"}],"status":"ok"})");
  ASSERT_EQ(s.tokens.size(), 2U);
  expect_seed_token(s.tokens[0]);
  EXPECT_EQ(s.tokens[1].label, "two");
  EXPECT_EQ(s.tokens[1].valid_until, 0);
  EXPECT_EQ(s.tokens[1].counter, 0U);
}

TEST(JsonLoaderShapes, BareArray) {
  const parsed_store s = parse_ok("[" + std::string(seed_token) + "]");
  ASSERT_EQ(s.tokens.size(), 1U);
  expect_seed_token(s.tokens[0]);
}

TEST(JsonLoaderShapes, EmptyStores) {
  EXPECT_TRUE(parse_ok("[]").tokens.empty());
  EXPECT_TRUE(parse_ok(R"({"tokens":[]})").tokens.empty());
  EXPECT_TRUE(parse_ok(" \n\t[ ]\r\n").tokens.empty());
}

TEST(JsonLoaderShapes, ExampleStoreLoads) {
  // The shipped example: six tokens, no field errors.
  std::FILE* f = std::fopen(TOKENGUARD_SOURCE_DIR "/examples/tokens.json", "rb");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  const parsed_store s = parse_ok(text);
  ASSERT_EQ(s.tokens.size(), 6U);
  for (const token_record& r : s.tokens) EXPECT_EQ(r.load_error, "") << r.label;
  EXPECT_EQ(s.tokens[5].label, "Secure token");
  EXPECT_FALSE(s.tokens[5].token.has_value());
  EXPECT_TRUE(s.tokens[5].token_sha256.has_value());
}

TEST(JsonLoaderShapes, PaddedTextParsesInPlaceWithTheSameResults) {
  for (const std::string& doc :
       {std::string(
            R"({"tokens":[{"label":"a","token":"s-1","limitTo":"[get].*"},{"label":"b"}]})"),
        std::string(R"([{"label":"x","user":"u","ip":"10.0.0.0/8"}])"),
        std::string("{\"tokens\":[1]}"), std::string("{\"tokens\":[{\"label\":\"a\",}]}"),
        std::string("[{\"label\":\"a\"}"), std::string(), std::string("{\"tokens\":{}}")}) {
    SCOPED_TRACE(doc);
    const auto copied = parse_store_json(doc);
    const simdjson::padded_string padded(doc);
    std::string with_room(doc.size() + simdjson::SIMDJSON_PADDING, '\0');
    with_room.resize(doc.size());
    std::copy(doc.begin(), doc.end(), with_room.begin());
    // A std::string without the room is copied first (simdjson would read past it).
    const std::string tight(doc.data(), doc.size());
    for (const auto& in_place : {parse_padded_store_json(padded),
                                 parse_padded_store_json(simdjson::padded_string_view(with_room)),
                                 parse_padded_store_json(simdjson::padded_string_view(tight))}) {
      ASSERT_EQ(in_place.ok(), copied.ok());
      if (!copied.ok()) {
        EXPECT_EQ(in_place.message(), copied.message());
        continue;
      }
      ASSERT_EQ(in_place.value().tokens.size(), copied.value().tokens.size());
      for (std::size_t i = 0; i < copied.value().tokens.size(); ++i) {
        EXPECT_EQ(in_place.value().tokens[i].label, copied.value().tokens[i].label);
        EXPECT_EQ(in_place.value().tokens[i].limit_to, copied.value().tokens[i].limit_to);
        EXPECT_EQ(in_place.value().tokens[i].load_error, copied.value().tokens[i].load_error);
      }
    }
  }
  // The size limit holds on this path too.
  limits small;
  small.max_store_bytes = 4;
  const simdjson::padded_string big(std::string("[   ]"));
  const auto refused = parse_padded_store_json(big, small);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("max_store_bytes"), std::string::npos);
}

TEST(JsonLoaderShapes, WrongShapeNamesThePosition) {
  EXPECT_TRUE(contains(parse_error("42"), "$")) << parse_error("42");
  EXPECT_TRUE(contains(parse_error(R"("tokens")"), "$"));
  EXPECT_TRUE(contains(parse_error("null"), "$"));
  std::string error = parse_error(R"({"total":0})");
  EXPECT_TRUE(contains(error, "$")) << error;
  EXPECT_TRUE(contains(error, "tokens")) << error;
  error = parse_error(R"({"tokens":{"label":"a"}})");
  EXPECT_TRUE(contains(error, "$.tokens")) << error;
  error = parse_error(R"({"tokens":null})");
  EXPECT_TRUE(contains(error, "$.tokens")) << error;
  error = parse_error(R"({"tokens":[{"label":"a"},{"label":"b"},{"label":"c"},"d"]})");
  EXPECT_TRUE(contains(error, "$.tokens[3]")) << error;
  error = parse_error(R"([{"label":"a"},[]])");
  EXPECT_TRUE(contains(error, "$[1]")) << error;
  error = parse_error(R"([null])");
  EXPECT_TRUE(contains(error, "$[0]")) << error;
}

// -------------------------------------------------------------- invalid JSON

TEST(JsonLoaderInvalid, NamesLineAndColumn) {
  const std::string doc = "{\n  \"tokens\": [\n    {\"label\": \"a\",}\n  ]\n}";
  const std::string error = parse_error(doc);
  EXPECT_TRUE(contains(error, "line 3, column 19")) << error;
  EXPECT_TRUE(contains(error, "not valid JSON")) << error;
}

TEST(JsonLoaderInvalid, EveryKindOfBrokenDocumentHasAPosition) {
  const std::string_view docs[] = {
      "",                        // nothing
      "   ",                     // only white space
      "[{\"label\":\"a\"}",      // truncated
      "[{\"label\":\"a\"}] x",   // trailing data
      "[{label:\"a\"}]",         // unquoted key
      "[{\"label\":'a'}]",       // single quotes
      "[{\"label\":\"a\"},]",    // trailing comma
      "[{\"label\":\"a\\q\"}]",  // bad escape
      "[{\"label\":\"\xff\"}]",  // not UTF-8
      "[{\"label\":\"a\nb\"}]",  // raw control character in a string
      "[{\"counter\":01}]",      // leading zero
      "\xef\xbb\xbf[]",          // a byte order mark is not JSON
  };
  for (const std::string_view doc : docs) {
    const std::string error = parse_error(doc);
    EXPECT_TRUE(contains(error, "line ")) << "'" << doc << "': " << error;
    EXPECT_TRUE(contains(error, "column ")) << "'" << doc << "': " << error;
  }
}

TEST(JsonLoaderInvalid, NumbersBeyondTheParserAreRefusedWithAPositionOrPerToken) {
  // RFC 8259 allows numbers of any size. One that the loader cannot represent
  // either makes only its token fail (a field out of range), or refuses the
  // store whole; refused whole, the error must name the position (SPEC 8).
  const std::string_view docs[] = {
      "[{\"label\":\"a\",\n \"counter\":18446744073709551616}]",
      "[{\"label\":\"a\",\n \"validUntil\":1e400}]",
      "[{\"label\":\"a\",\n \"someExtension\":-9223372036854775809}]",
      "[{\"label\":\"a\",\n \"someExtension\":[1.7976931348623159e308]}]",
  };
  for (const std::string_view doc : docs) {
    auto parsed = parse_store_json(doc);
    if (parsed) {
      ASSERT_EQ(parsed.value().tokens.size(), 1U) << doc;
      EXPECT_NE(parsed.value().tokens[0].load_error, "") << doc;
    } else {
      EXPECT_TRUE(contains(parsed.message(), "line 2")) << doc << ": " << parsed.message();
      EXPECT_TRUE(contains(parsed.message(), "column")) << doc << ": " << parsed.message();
    }
  }
}

// ------------------------------------------------------ per-token field errors

TEST(JsonLoaderFields, WrongTypesGiveAPerTokenLoadError) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"("label":5)", "label"},
      {R"("label":["a"])", "label"},
      {R"("user":5)", "user"},
      {R"("token":5)", "token"},
      {R"("tokenSha256":[])", "tokenSha256"},
      {R"("id":{})", "id"},
      {R"("limitTo":1)", "limitTo"},
      {R"("ip":false)", "ip"},
      {R"("validUntil":"1630476718964")", "validUntil"},
      {R"("validUntil":1.5)", "validUntil"},
      {R"("validUntil":-1)", "validUntil"},
      {R"("validUntil":true)", "validUntil"},
      {R"("validUntil":9223372036854775808)", "validUntil"},
      {R"("dateCreated":"x")", "dateCreated"},
      {R"("dateCreated":-1)", "dateCreated"},
      {R"("counter":-1)", "counter"},
      {R"("counter":1.5)", "counter"},
      {R"("counter":"7")", "counter"},
      {R"("usageLimit":"3")", "usageLimit"},
      {R"("usageLimit":-3)", "usageLimit"},
      {R"("usageLimit":2.5)", "usageLimit"},
      {R"("authorKey":1)", "authorKey"},
      {R"("userKey":true)", "userKey"},
      {R"("userDisplayName":[])", "userDisplayName"},
      {R"("lastUsed":-1)", "lastUsed"},
      {R"("lastIp":4)", "lastIp"},
  };
  for (const auto& [member, field] : cases) {
    const std::string doc =
        R"([{"label":"good","token":"good-secret"},{"label":"bad","token":"bad-secret",)" +
        std::string(member) + R"(},{"label":"also good","token":"third"}])";
    const parsed_store s = parse_ok(doc);
    ASSERT_EQ(s.tokens.size(), 3U) << member;
    EXPECT_EQ(s.tokens[0].load_error, "") << member;
    EXPECT_TRUE(contains(s.tokens[1].load_error, field))
        << member << ": " << s.tokens[1].load_error;
    EXPECT_EQ(s.tokens[2].load_error, "") << member;
  }
}

TEST(JsonLoaderFields, MissingLabelIsALoadError) {
  EXPECT_TRUE(contains(field_error(R"("token":"s")"), "label"));
  EXPECT_EQ(field_error(R"("label":"x")"), "");
}

TEST(JsonLoaderFields, NullMeansAbsent) {
  const parsed_store s = parse_ok(
      R"([{"label":"n","user":null,"token":null,"tokenSha256":null,"id":null,"limitTo":null,)"
      R"("ip":null,"validUntil":null,"dateCreated":null,"counter":null,"usageLimit":null,)"
      R"("authorKey":null,"userKey":null,"userDisplayName":null,"lastUsed":null,"lastIp":null}])");
  ASSERT_EQ(s.tokens.size(), 1U);
  const token_record& r = s.tokens[0];
  EXPECT_EQ(r.load_error, "");
  EXPECT_EQ(r.label, "n");
  EXPECT_EQ(r.user, "");
  EXPECT_FALSE(r.token.has_value());
  EXPECT_FALSE(r.token_sha256.has_value());
  EXPECT_EQ(r.limit_to, "");
  EXPECT_EQ(r.ip, "");
  EXPECT_EQ(r.valid_until, 0);  // null = never expires
  EXPECT_EQ(r.counter, 0U);
  EXPECT_EQ(r.usage_limit, 0U);
  EXPECT_EQ(r.extra_members, "");  // known fields are not "unknown" when null
}

TEST(JsonLoaderFields, UnknownFieldsAreKeptMinifiedInOrder) {
  const parsed_store s = parse_ok(
      "[{\"label\":\"x\", \"future\" : { \"a\" : [ 1 , 2.50 , \"s\\\"q\" ] } ,"
      " \"flag\":true, \"nothing\":null, \"n\":-0.5e3, \"caf\\u00e9\":\"\\u00e9\"}]");
  ASSERT_EQ(s.tokens.size(), 1U);
  const token_record& r = s.tokens[0];
  EXPECT_EQ(r.load_error, "");
  // Every member comes back as valid JSON; numbers and strings keep their meaning.
  const std::string wrapped = "{" + r.extra_members + "}";
  simdjson::dom::parser parser;
  simdjson::dom::element back;
  ASSERT_EQ(parser.parse(simdjson::padded_string(wrapped)).get(back), simdjson::SUCCESS) << wrapped;
  EXPECT_EQ(std::string(simdjson::minify(back)), wrapped);
  EXPECT_TRUE(r.extra_members.starts_with(R"("future":{"a":[1,2.5)") ||
              r.extra_members.starts_with(R"("future":{"a":[1,2.50)"))
      << r.extra_members;
  EXPECT_TRUE(contains(r.extra_members, R"("flag":true)")) << r.extra_members;
  EXPECT_TRUE(contains(r.extra_members, R"("nothing":null)")) << r.extra_members;
  EXPECT_TRUE(contains(r.extra_members, "\"caf\xC3\xA9\":\"\xC3\xA9\"")) << r.extra_members;
  EXPECT_LT(r.extra_members.find("future"), r.extra_members.find("flag"));
  EXPECT_LT(r.extra_members.find("flag"), r.extra_members.find("nothing"));
  double n = 0;
  ASSERT_EQ(back["n"].get_double().get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, -500.0);
}

TEST(JsonLoaderFields, StringsAreUnescaped) {
  const parsed_store s = parse_ok(
      R"([{"label":"caf\u00e9 \"q\" \\","limitTo":"[get]/a\n/b\\n/c","token":"\ud83d\ude00"}])");
  ASSERT_EQ(s.tokens.size(), 1U);
  EXPECT_EQ(s.tokens[0].label, "caf\xC3\xA9 \"q\" \\");
  EXPECT_EQ(s.tokens[0].limit_to, "[get]/a\n/b\\n/c");  // a real newline, then backslash + n
  EXPECT_EQ(*s.tokens[0].token, "\xF0\x9F\x98\x80");
}

// -------------------------------------------------------------------- numbers

TEST(JsonLoaderNumbers, CounterUpTo2To64Minus1) {
  const parsed_store s = parse_ok(
      R"([{"label":"max","counter":18446744073709551615,"usageLimit":18446744073709551615}])");
  ASSERT_EQ(s.tokens.size(), 1U);
  EXPECT_EQ(s.tokens[0].load_error, "");
  EXPECT_EQ(s.tokens[0].counter, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(s.tokens[0].usage_limit, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_ok(R"([{"label":"z","counter":0}])").tokens[0].counter, 0U);
}

TEST(JsonLoaderNumbers, TimesUpToInt64Max) {
  const parsed_store s = parse_ok(
      R"([{"label":"max","validUntil":9223372036854775807,"dateCreated":0,"lastUsed":1}])");
  ASSERT_EQ(s.tokens.size(), 1U);
  EXPECT_EQ(s.tokens[0].load_error, "");
  EXPECT_EQ(s.tokens[0].valid_until, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(s.tokens[0].date_created, 0);
  EXPECT_EQ(s.tokens[0].last_used, 1);
}

// --------------------------------------------------------------------- limits

TEST(JsonLoaderLimits, StoreSize) {
  EXPECT_EQ(limits{}.max_store_bytes, std::size_t{256} << 20);
  const std::string doc = R"([{"label":"a","token":"s"}])";
  limits lim;
  lim.max_store_bytes = doc.size();
  EXPECT_EQ(parse_ok(doc, lim).tokens.size(), 1U);
  lim.max_store_bytes = doc.size() - 1;
  const std::string error = parse_error(doc, lim);
  EXPECT_TRUE(contains(error, "max_store_bytes")) << error;
}

TEST(JsonLoaderLimits, TokenCount) {
  limits lim;
  lim.max_tokens = 2;
  EXPECT_EQ(parse_ok(R"([{"label":"a"},{"label":"b"}])", lim).tokens.size(), 2U);
  std::string error = parse_error(R"({"tokens":[{"label":"a"},{"label":"b"},{"label":"c"}]})", lim);
  EXPECT_TRUE(contains(error, "max_tokens")) << error;
  error = parse_error(R"([{"label":"a"},{"label":"b"},{"label":"c"}])", lim);
  EXPECT_TRUE(contains(error, "max_tokens")) << error;
}

// ------------------------------------------------------------------- settings

TEST(JsonLoaderSettings, ReadFromTheObjectShape) {
  parsed_store s = parse_ok(
      R"({"tokens":[],"settings":{"secureMode":true,"collectUsageDetails":true,"addAuditRecord":false}})");
  EXPECT_TRUE(s.settings.secure_mode);
  EXPECT_TRUE(s.settings.collect_usage_details);
  EXPECT_FALSE(s.settings.add_audit_record);
  s = parse_ok(R"({"tokens":[],"settings":{"addAuditRecord":true,"laterSetting":{"x":1}}})");
  EXPECT_FALSE(s.settings.secure_mode);
  EXPECT_FALSE(s.settings.collect_usage_details);
  EXPECT_TRUE(s.settings.add_audit_record);
}

TEST(JsonLoaderSettings, DefaultsWhenAbsentOrNull) {
  for (const std::string_view doc : {R"({"tokens":[]})", R"({"tokens":[],"settings":null})",
                                     R"({"tokens":[],"settings":{}})", "[]"}) {
    const parsed_store s = parse_ok(doc);
    EXPECT_FALSE(s.settings.secure_mode) << doc;
    EXPECT_FALSE(s.settings.collect_usage_details) << doc;
    EXPECT_FALSE(s.settings.add_audit_record) << doc;
  }
}

TEST(JsonLoaderSettings, WrongTypesRefuseTheStoreNamingThePath) {
  std::string error = parse_error(R"({"tokens":[],"settings":{"secureMode":"yes"}})");
  EXPECT_TRUE(contains(error, "$.settings.secureMode")) << error;
  error = parse_error(R"({"tokens":[],"settings":{"collectUsageDetails":1}})");
  EXPECT_TRUE(contains(error, "$.settings.collectUsageDetails")) << error;
  error = parse_error(R"({"tokens":[],"settings":[true]})");
  EXPECT_TRUE(contains(error, "$.settings")) << error;
}

}  // namespace
}  // namespace tokenguard
