// The chunked parse of a store laid out one token a line
// (detail/line_framed_store.hpp): for every text it accepts, the tokens and
// settings are those of the whole document's parse, whatever the chunk size;
// every other layout, and every text that is not valid, is left to the whole
// parse (nullopt). load_test.cpp checks the snapshots that result.

#include "tokenguard/detail/line_framed_store.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstddef>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../fuzz/string_reader.hpp"
#include "tokenguard/detail/store_json_writer.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/load.hpp"

namespace tokenguard {
namespace {

/// The writer's layout, with tokens of every kind the reader tells apart.
std::string written_store() {
  auto parsed = parse_store_json(R"([
    {"label": "plain", "user": "alice", "token": "s-plain", "id": "t1", "counter": 3},
    {"label": "secure", "tokenSha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
    {"label": "rules", "token": "s-rules", "limitTo": "[get].*/a.*<br>[post].*/b.*", "ip": "192.0.2.0/24",
     "validUntil": 4102444800000, "usageLimit": 9, "counter": 4},
    {"label": "same rules", "token": "s-rules-2", "limitTo": "[get].*/a.*<br>[post].*/b.*"},
    {"label": "escaped \u00e9\n\"", "user": "b\"ob", "token": "s-\u00e9", "future": {"kept": [1, [2]]}},
    {"label": "used", "token": "s-used", "lastUsed": 1700000000000, "lastIp": "192.0.2.9"}
  ])");
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  store_settings settings;
  settings.add_audit_record = true;
  return detail::store_file_json(parsed.value().tokens, settings);
}

/// `header`, then `tokens` on lines of their own, then the closing `]}`.
std::string in_object(std::string_view header, const std::string& tokens) {
  return std::string(header) + "\n" + tokens + "\n]}";
}

void expect_same_tokens(const std::vector<detail::token_view>& got,
                        const std::vector<detail::token_view>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].label, want[i].label);
    EXPECT_EQ(got[i].user, want[i].user);
    EXPECT_EQ(got[i].token, want[i].token);
    EXPECT_EQ(got[i].token_sha256, want[i].token_sha256);
    EXPECT_EQ(got[i].id, want[i].id);
    EXPECT_EQ(got[i].limit_to, want[i].limit_to);
    EXPECT_EQ(got[i].ip, want[i].ip);
    EXPECT_EQ(got[i].valid_until, want[i].valid_until);
    EXPECT_EQ(got[i].counter, want[i].counter);
    EXPECT_EQ(got[i].usage_limit, want[i].usage_limit);
    EXPECT_EQ(got[i].load_error, want[i].load_error);
  }
}

/// As `two_threads_from`: no file is that large, so none is cut in two.
constexpr std::size_t never_cut = std::numeric_limits<std::size_t>::max();

/// The chunked parse of `json` read as a file in one part, from its start to
/// its end, `block` bytes asked for at a time and at most `piece` given.
/// `size`: the file's size as the parse is told it (json.size() unless
/// given; a file may grow after its size was taken).
std::optional<detail::line_framed_tokens> in_one_part(std::string_view json, const limits& lim,
                                                      std::size_t chunk, std::size_t block,
                                                      std::size_t piece,
                                                      std::size_t size = std::string::npos) {
  return detail::parse_line_framed_file(fuzz::string_reader(json, piece),
                                        size == std::string::npos ? json.size() : size, lim,
                                        never_cut, chunk, block);
}

/// The chunked parse of `json` read as a file, cut in two parts on two
/// threads wherever it can be (two_threads_from 0). `fail_from`: a read at
/// or past this offset fails. `threads` collects the threads that read.
std::optional<detail::line_framed_tokens> split(std::string_view json, const limits& lim,
                                                std::size_t chunk, std::size_t block,
                                                std::size_t fail_from = std::string::npos,
                                                std::set<std::thread::id>* threads = nullptr) {
  const fuzz::string_reader text(json);
  std::mutex mutex;
  const auto read_at = [&](char* into, std::size_t n, std::size_t offset) -> std::ptrdiff_t {
    if (threads != nullptr) {
      const std::lock_guard<std::mutex> lock(mutex);
      threads->insert(std::this_thread::get_id());
    }
    if (offset >= fail_from) return -1;
    return text(into, n, offset);
  };
  return detail::parse_line_framed_file(read_at, json.size(), lim, 0, chunk, block);
}

/// The chunked parse of `json`, from memory, as a file read in one part and
/// as a file cut in two, must agree with the whole parse.
void expect_framed_as_whole(const std::string& json, const limits& lim = limits{}) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  auto whole = detail::parse_store_document<detail::token_view>(parser, padded, lim);
  ASSERT_TRUE(whole.ok()) << whole.message();
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{100}, std::size_t{1} << 20}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    const auto framed = detail::parse_line_framed_store(json, lim, chunk);
    ASSERT_TRUE(framed.has_value()) << json;
    expect_same_tokens(framed->tokens, whole.value().tokens);
    EXPECT_EQ(framed->settings.secure_mode, whole.value().settings.secure_mode);
    EXPECT_EQ(framed->settings.add_audit_record, whole.value().settings.add_audit_record);
    EXPECT_EQ(framed->settings.collect_usage_details, whole.value().settings.collect_usage_details);
    for (const std::size_t block : {std::size_t{3}, std::size_t{64} << 10}) {
      SCOPED_TRACE("read in blocks of " + std::to_string(block));
      const auto read = in_one_part(json, lim, chunk, block, block);
      ASSERT_TRUE(read.has_value());
      expect_same_tokens(read->tokens, whole.value().tokens);
      EXPECT_EQ(read->settings.add_audit_record, whole.value().settings.add_audit_record);
      EXPECT_EQ(read->settings.secure_mode, whole.value().settings.secure_mode);
      // Cut in two, it parses as the whole, or (an object over lines cut at
      // one of its commas) is left to the whole parse.
      const auto cut = split(json, lim, chunk, block);
      if (cut.has_value()) {
        expect_same_tokens(cut->tokens, whole.value().tokens);
        EXPECT_EQ(cut->settings.add_audit_record, whole.value().settings.add_audit_record);
        EXPECT_EQ(cut->settings.secure_mode, whole.value().settings.secure_mode);
      }
    }
  }
}

TEST(LineFramedStore, TheWritersLayoutParsesInChunksAsAWhole) {
  const std::string json = written_store();
  expect_framed_as_whole(json);
  const auto framed = detail::parse_line_framed_store(json, limits{}, 1);
  ASSERT_TRUE(framed.has_value());
  EXPECT_TRUE(framed->settings.add_audit_record);
  // One copy of a limitTo text that two tokens hold.
  EXPECT_EQ(framed->tokens[2].limit_to.data(), framed->tokens[3].limit_to.data());
}

TEST(LineFramedStore, OtherOneTokenALineLayoutsAgreeToo) {
  const std::string a = R"({"label":"a","token":"s-a","counter":"x"})";
  const std::string b = R"({"label":"b","token":"s-b"})";
  expect_framed_as_whole("[\n" + a + ",\n" + b + "\n]\n");  // a bare array
  expect_framed_as_whole("[\n]");                           // no tokens
  expect_framed_as_whole(in_object(R"({"tokens":[)", ""));
  expect_framed_as_whole("[\r\n" + a + ",\r\n" + b + "\r\n]\r\n");               // CRLF
  expect_framed_as_whole("[ \n\n  " + a + " ,\n\n" + b + "\n\n  ]");             // blank lines
  expect_framed_as_whole("[\n" + a + "," + b + ",\n" + a + "\n]");               // two on a line
  expect_framed_as_whole(in_object(R"({"total":2,"tokens":[)", a + ",\n" + b));  // no settings
  // Another "tokens" after the array: the first one counts, as in the whole parse.
  expect_framed_as_whole(std::string(R"({"tokens":[)") + "\n" + a + "\n" +
                         R"(],"settings":{"secureMode":true},"tokens":[]})");
}

// Blank lines are read once: each line used to look ahead over every blank
// line after it, quadratic in their number (this took hours).
TEST(LineFramedStore, AMillionBlankLinesAreReadOnce) {
  const std::string a = R"({"label":"a","token":"s-a"})";
  const std::string blank(1000000, '\n');
  expect_framed_as_whole("[\n" + a + "," + blank + a + blank + "]");
  EXPECT_FALSE(detail::parse_line_framed_store("[\n" + a + blank, limits{}).has_value());
}

TEST(LineFramedStore, EveryOtherTextIsLeftToTheWholeParse) {
  const std::string a = R"({"label":"a","token":"s-a"})";
  limits two;
  two.max_tokens = 2;
  const std::vector<std::string> texts = {
      "[" + a + "]",                                                  // one line
      "[\n" + a + "\n]",                                              // framed: the control
      "{\n\"tokens\": [\n" + a + "\n]}",                              // header is not the writer's
      in_object(R"({"settings":{"secureMode":true},"tokens":[)", a),  // a bracket before
      in_object(R"({"note":"\"tokens\":[","tokens":[)", a),           // a backslash before
      in_object(R"({"tokens":[],"tokens":[)", a),                     // an earlier "tokens"
      in_object(R"({"x":"a","tokens":[)", a),                         // framed: members before
      "[\n" + a + ",\n]",                                             // a trailing comma
      "[\n" + a + "\n" + a + "\n]",                                   // a missing comma
      "[\n7,\n" + a + "\n]",                                          // not a token object
      "[\n" + a + ",\n" + a + "\n",                                   // no closing line
      "[\n{\"label\":\"a\",\"x\":[\n1\n]}\n]",                        // an object over lines
      "[\n{\"label\":\"a\",\"token\":\"s\x01\"}\n]",                  // not JSON inside
      "[\n" + a + "\n] x",                                            // not JSON after
      "[\n" + a + ",\n" + a + ",\n" + a + "\n]",                      // over max_tokens
  };
  for (std::size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(texts[i]);
    const bool framed = detail::parse_line_framed_store(texts[i], two, 1).has_value();
    EXPECT_EQ(framed, i == 1 || i == 6);
    for (const std::size_t piece : {std::size_t{1}, std::size_t{5}, std::size_t{4096}}) {
      EXPECT_EQ(in_one_part(texts[i], two, 1, 4096, piece).has_value(), framed) << piece;
      EXPECT_EQ(split(texts[i], two, 1, piece).has_value(), framed) << piece;
    }
  }
}

// A file is read in pieces of any size, even a byte at a time; a read error,
// or a file longer than max_store_bytes (one that grew after its size was
// taken: it is read to its end, whatever its size said), leaves the text to
// the whole parse.
TEST(LineFramedStore, AFileReadInPiecesParsesAsTheText) {
  const std::string json = written_store();
  const auto whole = detail::parse_line_framed_store(json, limits{});
  ASSERT_TRUE(whole.has_value());
  for (const std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{97}}) {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{300}}) {
      SCOPED_TRACE(std::to_string(piece) + " " + std::to_string(chunk));
      const auto read = in_one_part(json, limits{}, chunk, 64, piece);
      ASSERT_TRUE(read.has_value());
      expect_same_tokens(read->tokens, whole->tokens);
    }
  }
  // The third read fails: the parse stops there and refuses; the same reads
  // without the error parse the text.
  const fuzz::string_reader in_tens(json, 10);
  std::size_t calls = 0;
  const auto failing = [&](char* into, std::size_t n, std::size_t offset) -> std::ptrdiff_t {
    if (++calls == 3) return -1;
    return in_tens(into, n, offset);
  };
  EXPECT_FALSE(detail::parse_line_framed_file(failing, json.size(), limits{}, never_cut, 1, 10));
  EXPECT_EQ(calls, 3U);
  EXPECT_TRUE(detail::parse_line_framed_file(in_tens, json.size(), limits{}, never_cut, 1, 10));
  // A store on one line is not read to its end to find the header's.
  const std::string one_line = "[" + std::string(1 << 20, ' ') + "]\n";
  const fuzz::string_reader whole_line(one_line);
  std::size_t asked = 0;
  const auto counting = [&](char* into, std::size_t n, std::size_t offset) -> std::ptrdiff_t {
    asked += n;
    return whole_line(into, n, offset);
  };
  EXPECT_FALSE(
      detail::parse_line_framed_file(counting, one_line.size(), limits{}, never_cut, 1, 4096));
  EXPECT_LT(asked, std::size_t{256} << 10);
  // Nor in memory: both answer alike.
  const std::string long_header = "{\"x\":\"" + std::string(1 << 20, 'x') + "\",\"tokens\":[\n]}";
  EXPECT_FALSE(detail::parse_line_framed_store(long_header, limits{}).has_value());
  EXPECT_FALSE(in_one_part(long_header, limits{}, 1, 4096, 4096).has_value());
  limits small;
  small.max_store_bytes = json.size() - 1;
  EXPECT_FALSE(in_one_part(json, small, 1, 64, 64).has_value());
  // Told a size of 100 (under the limit), the file holds more.
  EXPECT_FALSE(in_one_part(json, small, 1, 64, 64, 100).has_value()) << "it grew past the limit";
  small.max_store_bytes = json.size();
  EXPECT_TRUE(in_one_part(json, small, 1, 64, 64, 100).has_value());
}

/// `count` tokens of the writer's layout, with the settings after them.
std::string many_tokens(std::size_t count) {
  std::string json = R"({"total":)" + std::to_string(count) + R"(,"tokens":[)" + "\n";
  for (std::size_t i = 0; i < count; ++i) {
    json += R"({"label":"t)" + std::to_string(i) + R"(","token":"s-)" + std::to_string(i) +
            R"(","limitTo":"[get].*/)" + std::to_string(i % 3) + R"(.*"})" +
            (i + 1 < count ? ",\n" : "\n");
  }
  return json + R"(],"settings":{"secureMode":false,"addAuditRecord":true}})";
}

// A large file is cut in two at a line between two tokens, and the parts
// are parsed on two threads: the tokens are those of the whole, in order.
// (Named for the ThreadSanitizer build's filter.)
TEST(ConcurrentLoad, AFileCutInTwoParsesAsTheWhole) {
  const std::string json = many_tokens(2000);
  const auto whole = detail::parse_line_framed_store(json, limits{});
  ASSERT_TRUE(whole.has_value());
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
    for (const std::size_t block : {std::size_t{7}, std::size_t{4096}}) {
      SCOPED_TRACE(std::to_string(chunk) + " " + std::to_string(block));
      std::set<std::thread::id> threads;
      const auto cut = split(json, limits{}, chunk, block, std::string::npos, &threads);
      ASSERT_TRUE(cut.has_value());
      expect_same_tokens(cut->tokens, whole->tokens);
      EXPECT_TRUE(cut->settings.add_audit_record);
      if (std::thread::hardware_concurrency() > 1) {
        EXPECT_EQ(threads.size(), 2U);
      }
    }
  }
  // Under the size at which a file is cut, one thread reads it.
  const fuzz::string_reader text(json);
  std::set<std::thread::id> threads;
  std::size_t calls = 0;
  const auto read_at = [&](char* into, std::size_t n, std::size_t offset) -> std::ptrdiff_t {
    ++calls;
    threads.insert(std::this_thread::get_id());
    return text(into, n, offset);
  };
  const auto one =
      detail::parse_line_framed_file(read_at, json.size(), limits{}, json.size() + 1, 4096, 4096);
  ASSERT_TRUE(one.has_value());
  expect_same_tokens(one->tokens, whole->tokens);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_GT(calls, 2U);
}

// What the parts cannot answer for alone is left to the whole parse: tokens
// over max_tokens in all though under it in each part, a read error in
// either part, an array that closes before the cut, a trailing comma.
TEST(LineFramedStore, AFileCutInTwoRefusesWhatTheWholeRefuses) {
  const std::string json = many_tokens(100);
  limits lim;
  lim.max_tokens = 100;
  EXPECT_TRUE(split(json, lim, 1, 64).has_value());
  lim.max_tokens = 99;
  EXPECT_FALSE(split(json, lim, 1, 64).has_value());
  EXPECT_FALSE(split(json, limits{}, 1, 64, json.size() / 4).has_value()) << "the head";
  EXPECT_FALSE(split(json, limits{}, 1, 64, json.size() - 10).has_value()) << "the tail";
  // The array closes early; what follows has lines that end with commas.
  std::string closes = "[\n" + std::string(R"({"label":"a","token":"s-a"})") + "\n]\n";
  const std::string trailer_line = R"(     ,    )";
  for (int i = 0; i < 50; ++i) closes += trailer_line + "\n";
  EXPECT_FALSE(detail::parse_line_framed_store(closes, limits{}).has_value());
  EXPECT_FALSE(split(closes, limits{}, 1, 64).has_value());
  const std::string trailing = json.substr(0, json.rfind("\n]")) + ",\n]}";
  EXPECT_FALSE(detail::parse_line_framed_store(trailing, limits{}).has_value());
  EXPECT_FALSE(split(trailing, limits{}, 1, 64).has_value());
}

// Over max_store_bytes the whole parse refuses, with the message.
TEST(LineFramedStore, AStoreOverTheSizeLimitIsLeftToTheWholeParse) {
  const std::string json = "[\n" + std::string(R"({"label":"a","token":"s-a"})") + "\n]";
  limits lim;
  lim.max_store_bytes = json.size();
  EXPECT_TRUE(detail::parse_line_framed_store(json, lim).has_value());
  lim.max_store_bytes = json.size() - 1;
  EXPECT_FALSE(detail::parse_line_framed_store(json, lim).has_value());
}

// simdjson refuses nesting deeper than its limit: a chunk holds its tokens as
// deep as the document does (or deeper, for a bare array), so the chunked
// parse never accepts what the whole parse refuses.
TEST(LineFramedStore, NestingAtTheDepthLimitLoadsAsTheWholeParseDoes) {
  for (const std::string_view open : {std::string_view(R"({"tokens":[)"), std::string_view("[")}) {
    for (std::size_t depth = 1018; depth <= 1026; ++depth) {
      SCOPED_TRACE(std::string(open) + " " + std::to_string(depth));
      const std::string nested = std::string(depth, '[') + std::string(depth, ']');
      const std::string json = std::string(open) + "\n" + R"({"label":"a","token":"s","x":)" +
                               nested + "}\n]" + (open == "[" ? "" : "}");
      auto parsed = parse_store_json(json);
      local_usage usage;
      auto loaded = load_store_json(json, usage);
      ASSERT_EQ(loaded.ok(), parsed.ok());
      if (!parsed.ok()) {
        EXPECT_EQ(loaded.message(), parsed.message());
      }
    }
  }
}

}  // namespace
}  // namespace tokenguard
