// Loading a store as a gateway does (load_store_json): the snapshot, the
// problems, the usage counts and the errors are those of parse_store_json
// followed by store::compile, and the snapshot outlives the document it was
// read from. fuzz/fuzz_store.cpp checks the same equivalence on generated
// documents.

#include "tokenguard/load.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/authorizer.hpp"
#include "tokenguard/detail/load_file.hpp"
#include "tokenguard/detail/store_json_writer.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/store.hpp"

namespace tokenguard {
namespace {

/// Tokens of every kind the compiler tells apart: plain, secure (tokenSha256
/// only), restricted by rules and addresses, with field errors, with bad
/// rules, with a secret or an id that another token holds, with a digest
/// that is not its secret's, with unknown members and escapes.
constexpr std::string_view mixed_store = R"({
  "settings": {"secureMode": false, "addAuditRecord": true},
  "tokens": [
    {"label": "plain", "user": "alice", "token": "s-plain", "id": "t1", "counter": 3},
    {"label": "secure", "tokenSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "id": "t2"},
    {"label": "rules", "token": "s-rules", "id": "t3", "limitTo": "[get].*/rest/api/2/issue/.*<br>[post].*/comment.*",
     "ip": "192.0.2.0/24, 2001:db8::/32", "validUntil": 4102444800000, "usageLimit": 9, "counter": 4},
    {"label": "same rules", "token": "s-rules-2", "limitTo": "[get].*/rest/api/2/issue/.*<br>[post].*/comment.*"},
    {"label": "bad field", "token": "s-bad-field", "counter": "many"},
    {"label": "bad rule", "token": "s-bad-rule", "limitTo": "[get](unclosed"},
    {"label": "bad ip", "token": "s-bad-ip", "ip": "300.1.1.1"},
    {"label": "shared a", "token": "s-shared"},
    {"label": "shared b", "token": "s-shared"},
    {"label": "id a", "token": "s-id-a", "id": "dup"},
    {"label": "id b", "token": "s-id-b", "id": "dup"},
    {"label": "wrong digest", "token": "s-digest", "tokenSha256": "0000000000000000000000000000000000000000000000000000000000000000"},
    {"label": "", "token": "s-no-label"},
    {"label": "no secret"},
    {"label": "escaped \u00e9\n", "user": "b\"ob", "token": "s-\u00e9", "future": {"kept": [1, 2]}, "lastIp": "192.0.2.9"}
  ]
})";

struct both {
  local_usage two_step_usage;
  local_usage gateway_usage;
  std::shared_ptr<const store> two_step;
  loaded_store gateway;
};

std::unique_ptr<both> load_both(std::string_view json, bool strict = false) {
  auto out = std::make_unique<both>();
  auto parsed = parse_store_json(json);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  auto compiled = store::compile(parsed.value().tokens, out->two_step_usage, limits{}, strict);
  EXPECT_TRUE(compiled.ok()) << compiled.message();
  out->two_step = compiled.value();
  const simdjson::padded_string padded(json);
  auto loaded = load_padded_store_json(padded, out->gateway_usage, limits{}, strict);
  EXPECT_TRUE(loaded.ok()) << loaded.message();
  if (loaded) out->gateway = std::move(loaded).value();
  return out;
}

/// The gateway's snapshot of `b` is the two-step one: entries, problems, counts.
void expect_same_snapshot(const both& b) {
  ASSERT_NE(b.gateway.snapshot, nullptr);
  const store& a = *b.two_step;
  const store& g = *b.gateway.snapshot;
  EXPECT_EQ(g.size(), a.size());
  EXPECT_EQ(g.distinct_rule_sets(), a.distinct_rule_sets());
  ASSERT_EQ(g.problems().size(), a.problems().size());
  for (std::size_t i = 0; i < a.problems().size(); ++i) {
    EXPECT_EQ(g.problems()[i].index, a.problems()[i].index);
    EXPECT_EQ(g.problems()[i].label, a.problems()[i].label);
    EXPECT_EQ(g.problems()[i].message, a.problems()[i].message);
  }
  for (const store::entry& e : a.entries()) {
    const store::entry* f = g.find(e.digest);
    ASSERT_NE(f, nullptr) << a.label(e);
    EXPECT_EQ(f->record, e.record);
    EXPECT_EQ(g.label(*f), a.label(e));
    EXPECT_EQ(g.user(*f), a.user(e));
    EXPECT_EQ(g.id(*f), a.id(e));
    EXPECT_EQ(f->valid_until, e.valid_until);
    EXPECT_EQ(f->usage_limit, e.usage_limit);
    EXPECT_EQ(f->rules, e.rules);
    EXPECT_EQ(f->ips, e.ips);
    EXPECT_EQ(b.gateway_usage.read(f->slot).count, b.two_step_usage.read(e.slot).count);
  }
}

TEST(GatewayLoad, BuildsTheSnapshotThatParsingAndCompilingBuild) {
  const auto b = load_both(mixed_store);
  expect_same_snapshot(*b);
  const store& g = *b->gateway.snapshot;
  EXPECT_EQ(b->gateway.tokens, 15U);
  EXPECT_TRUE(b->gateway.settings.add_audit_record);
  EXPECT_FALSE(b->gateway.settings.secure_mode);
  EXPECT_EQ(g.size(), 5U);  // plain, secure, rules, same rules, escaped
  EXPECT_EQ(g.distinct_rule_sets(), 1U);
  // Escapes are decoded as the records decode them.
  const store::entry* escaped = g.find(detail::sha256("s-\xC3\xA9"));
  ASSERT_NE(escaped, nullptr);
  EXPECT_EQ(g.label(*escaped), "escaped \xC3\xA9\n");
  EXPECT_EQ(g.user(*escaped), "b\"ob");
}

// The same tokens as the store file our writer writes (one token a line),
// which the gateway parses in chunks (detail/line_framed_store.hpp).
TEST(GatewayLoad, AStoreFileOfOneTokenALineBuildsTheSameSnapshot) {
  auto parsed = parse_store_json(mixed_store);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const std::string file = detail::store_file_json(parsed.value().tokens, parsed.value().settings);
  ASSERT_TRUE(detail::parse_line_framed_store(file, limits{}).has_value());
  const auto b = load_both(file);
  expect_same_snapshot(*b);
  EXPECT_EQ(b->gateway.tokens, 15U);
  EXPECT_TRUE(b->gateway.settings.add_audit_record);
  // The records hold what was read: the bad field's counter is written as 0.
  EXPECT_EQ(b->gateway.snapshot->size(), 6U);
  EXPECT_EQ(b->gateway.snapshot->problems().size(), 9U);
}

TEST(GatewayLoad, RefusesWhatParsingOrCompilingRefusesWithTheSameMessage) {
  limits small;
  small.max_tokens = 2;
  small.max_store_bytes = 4096;
  const std::string big(5000, ' ');
  for (const std::string& json :
       {std::string(R"({"tokens": [{"label": "a",}]})"), std::string(R"({"tokens": 7})"),
        std::string(R"({"settings": {"secureMode": 1}, "tokens": []})"), std::string("[1]"),
        std::string(R"([{"label":"a"},{"label":"b"},{"label":"c"}])"),
        std::string(R"([{"label":"a","counter":18446744073709551616}])"), "[" + big + "]"}) {
    auto parsed = parse_store_json(json, small);
    ASSERT_FALSE(parsed.ok()) << json;
    local_usage usage;
    auto loaded = load_store_json(json, usage, small);
    ASSERT_FALSE(loaded.ok()) << json;
    EXPECT_EQ(loaded.message(), parsed.message());
    auto in_place = load_padded_store_json(simdjson::padded_string(json), usage, small);
    ASSERT_FALSE(in_place.ok()) << json;
    EXPECT_EQ(in_place.message(), parsed.message());
  }
  // A strict load refuses a store with a problem as store::compile does.
  local_usage usage;
  auto parsed = parse_store_json(mixed_store);
  ASSERT_TRUE(parsed.ok());
  auto compiled = store::compile(parsed.value().tokens, usage, limits{}, /*strict=*/true);
  ASSERT_FALSE(compiled.ok());
  local_usage gateway_usage;
  auto loaded = load_store_json(mixed_store, gateway_usage, limits{}, /*strict=*/true);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.message(), compiled.message());
}

/// `json` written to a file, then loaded as the CLI and the server load a
/// file (detail::load_opened_store).
result<loaded_store> load_from_file(std::string_view json, usage_store& usage,
                                    const limits& lim = limits{}, bool strict = false) {
  char pattern[] = "/tmp/tokenguard-load-XXXXXX";
  EXPECT_NE(::mkdtemp(pattern), nullptr);
  const std::string path = std::string(pattern) + "/store.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(json.data(), static_cast<std::streamsize>(json.size()));
  }
  auto opened = detail::open_file_if_exists(path, lim.max_store_bytes);
  std::optional<result<loaded_store>> loaded;
  if (!opened) {
    loaded.emplace(error{opened.message()});
  } else {
    loaded.emplace(detail::load_opened_store(*opened.value(), path, usage, lim, strict));
  }
  std::remove(path.c_str());
  ::rmdir(pattern);
  return *std::move(loaded);
}

// A file of one token a line is read a block at a time and parsed in chunks;
// any other file is read whole. Both give the snapshot of the text.
TEST(GatewayLoad, AStoreFileLoadsAsItsText) {
  auto parsed = parse_store_json(mixed_store);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  const std::string framed =
      detail::store_file_json(parsed.value().tokens, parsed.value().settings);
  for (const std::string_view json : {std::string_view(framed), mixed_store}) {
    const auto b = load_both(json);
    local_usage usage;
    auto loaded = load_from_file(json, usage);
    ASSERT_TRUE(loaded.ok()) << loaded.message();
    const store& g = *loaded.value().snapshot;
    EXPECT_EQ(loaded.value().tokens, 15U);
    EXPECT_TRUE(loaded.value().settings.add_audit_record);
    EXPECT_EQ(g.size(), b->two_step->size());
    EXPECT_EQ(g.distinct_rule_sets(), b->two_step->distinct_rule_sets());
    ASSERT_EQ(g.problems().size(), b->two_step->problems().size());
    for (std::size_t i = 0; i < g.problems().size(); ++i) {
      EXPECT_EQ(g.problems()[i].message, b->two_step->problems()[i].message);
    }
    for (const store::entry& e : b->two_step->entries()) {
      const store::entry* f = g.find(e.digest);
      ASSERT_NE(f, nullptr) << b->two_step->label(e);
      EXPECT_EQ(g.label(*f), b->two_step->label(e));
      EXPECT_EQ(f->rules, e.rules);
      EXPECT_EQ(usage.read(f->slot).count, b->two_step_usage.read(e.slot).count);
    }
  }
}

// What the text's load refuses, the file's load refuses with the same
// message, whether the file is refused on its first line or halfway through
// its token lines (the chunked parse then leaves it to the whole parse).
TEST(GatewayLoad, AStoreFileIsRefusedWithTheTextsMessage) {
  const std::string a = R"({"label":"a","token":"s-a"})";
  const std::string lines(200000, '\n');
  for (const std::string& json :
       {std::string(R"({"tokens": [{"label": "a",}]})"), std::string("[\n" + a + ",\n7\n]"),
        "[\n" + a + "," + lines + a + ",\n{\"label\":\n]", "[\n" + a + ",\n" + a + "\n"}) {
    local_usage text_usage;
    auto text = load_store_json(json, text_usage);
    ASSERT_FALSE(text.ok()) << json.substr(0, 80);
    local_usage usage;
    auto file = load_from_file(json, usage);
    ASSERT_FALSE(file.ok()) << json.substr(0, 80);
    EXPECT_EQ(file.message(), text.message());
  }
  local_usage usage;
  auto strict = load_from_file(mixed_store, usage, limits{}, /*strict=*/true);
  ASSERT_FALSE(strict.ok());
  local_usage text_usage;
  EXPECT_EQ(strict.message(), load_store_json(mixed_store, text_usage, limits{}, true).message());
  limits small;
  small.max_store_bytes = 10;
  auto big = load_from_file(mixed_store, usage, small);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.message().find("over the limit of 10 (max_store_bytes)"), std::string::npos)
      << big.message();
}

TEST(GatewayLoad, TheSnapshotOutlivesTheDocument) {
  local_usage usage;
  std::shared_ptr<const store> snapshot;
  {
    // The text, and the parser whose strings the views pointed into, are gone
    // before the snapshot is read (ASan would see a use after free).
    auto text = std::make_unique<simdjson::padded_string>(mixed_store);
    auto loaded = load_padded_store_json(*text, usage);
    ASSERT_TRUE(loaded.ok()) << loaded.message();
    snapshot = loaded.value().snapshot;
  }
  const store::entry* e = snapshot->find(detail::sha256("s-rules"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(snapshot->label(*e), "rules");
  EXPECT_EQ(snapshot->id(*e), "t3");
  ASSERT_NE(snapshot->rules(*e), nullptr);
  EXPECT_EQ(snapshot->rules(*e)->lines().size(), 2U);
  ASSERT_NE(snapshot->ips(*e), nullptr);
  EXPECT_EQ(snapshot->problems().front().label, "bad field");
}

TEST(GatewayLoad, AViewWithoutPaddingIsCopiedFirst) {
  // A std::string whose capacity ends at its text: simdjson must not read past it.
  const std::string exact(mixed_store);
  local_usage usage;
  auto loaded = load_padded_store_json(
      simdjson::padded_string_view(exact.data(), exact.size(), exact.size()), usage);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  EXPECT_EQ(loaded.value().snapshot->size(), 5U);
}

}  // namespace
}  // namespace tokenguard
