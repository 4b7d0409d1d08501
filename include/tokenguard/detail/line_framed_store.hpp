#ifndef TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP
#define TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP

/// Parsing a large store a few hundred kilobytes at a time. The whole
/// document's DOM of a million-token store is about 1 GB (the tape and a copy
/// of every string), and faulting it in was a third of the parse. A store
/// that our writer wrote (detail/store_json_writer.hpp) has one token a line
/// between a header line and a closing `]` line, and no JSON string can hold
/// a raw newline, so the token lines can be parsed in chunks with one reused
/// parser. Only the strings a snapshot needs are kept, and each distinct
/// limitTo text once.
///
/// This is a fast path, not a second parser: for any text not laid out so,
/// and for any chunk that does not parse exactly as the whole document
/// would, it answers nullopt and the caller parses the whole document, which
/// gives the same tokens or the error with its position.

#include <simdjson.h>

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenguard/detail/stable_strings.hpp"
#include "tokenguard/detail/text_hash.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/token.hpp"

namespace tokenguard::detail {

/// Tokens whose strings live in `strings` (which never move, even when this
/// is moved).
struct line_framed_tokens {
  std::vector<token_view> tokens;
  store_settings settings;
  stable_strings strings;
};

namespace line_framing {

[[nodiscard]] inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

/// JSON's whitespace: a blank or a line break.
[[nodiscard]] inline bool is_json_space(char c) noexcept { return is_blank(c) || c == '\n'; }

[[nodiscard]] inline std::string_view trim_blank_end(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Whether the first line opens the tokens array of the root: `[` (a bare
/// array), or an object whose only `"tokens"` key is the last member of the
/// line, as the writer puts it (`{"total":1,...,"tokens":[`). No bracket or
/// backslash may come between, so every quote opens or closes a string and
/// every member is the root's.
[[nodiscard]] inline bool opens_tokens(std::string_view header) noexcept {
  header = trim_blank_end(header);
  if (header == "[") return true;
  constexpr std::string_view tail = "\"tokens\":[";
  if (header.size() < 1 + tail.size() || header.front() != '{' || !header.ends_with(tail)) {
    return false;
  }
  const std::string_view members = header.substr(1, header.size() - 1 - tail.size());
  if (members.find_first_of("[]{}\\") != std::string_view::npos) return false;
  if (members.find("\"tokens\"") != std::string_view::npos) return false;
  return std::count(members.begin(), members.end(), '"') % 2 == 0;
}

}  // namespace line_framing

/// The tokens of `json` when it is laid out one token a line, parsed in
/// chunks of about `chunk_bytes`; nullopt otherwise (see above), and for a
/// store over max_store_bytes.
[[nodiscard]] inline std::optional<line_framed_tokens> parse_line_framed_store(
    std::string_view json, const limits& lim, std::size_t chunk_bytes = std::size_t{256} << 10) {
  using line_framing::is_json_space;
  if (json.size() > lim.max_store_bytes) return std::nullopt;  // the whole parse says why
  const std::size_t header_end = json.find('\n');
  if (header_end == std::string_view::npos) return std::nullopt;
  const std::string_view header = json.substr(0, header_end);
  if (!line_framing::opens_tokens(header)) return std::nullopt;

  line_framed_tokens out;
  // A hint only: tokens of a real store take well over 128 bytes each.
  out.tokens.reserve(std::min(lim.max_tokens, json.size() / 128));
  boost::unordered_flat_map<std::string_view, std::string_view, text_hash> limit_texts;
  simdjson::dom::parser parser;
  // Each chunk is parsed as `{"":[` chunk `]}`: its tokens sit as deep as in
  // the document, so that simdjson's depth limit answers alike.
  constexpr std::string_view open = R"({"":[)";
  constexpr std::string_view close = "]}";
  std::vector<char> buffer;

  std::size_t at = header_end + 1;
  std::size_t closing = std::string_view::npos;  // the tokens array's `]`
  while (closing == std::string_view::npos) {
    // Whole lines up to about chunk_bytes; the chunk ends before the line
    // that starts with `]`, or after a line that ends with a comma (the one
    // between two tokens).
    const std::size_t start = at;
    bool last = false;
    bool ends_with_comma = false;  // the last line read
    while (true) {
      // Past blank lines to the next text: the array's `]`, or a token line.
      std::size_t first = at;
      std::size_t line_of_first = at;
      for (; first < json.size() && is_json_space(json[first]); ++first) {
        if (json[first] == '\n') line_of_first = first + 1;
      }
      if (first == json.size()) return std::nullopt;  // no closing line
      if (json[first] == ']') {
        closing = first;
        last = true;
        break;
      }
      at = line_of_first;  // the blank lines are read once, not once a line
      if (at - start >= chunk_bytes && ends_with_comma) break;
      const std::size_t newline = json.find('\n', at);
      if (newline == std::string_view::npos) return std::nullopt;
      // Not empty: it holds json[first], which is text.
      const std::string_view line = line_framing::trim_blank_end(json.substr(at, newline - at));
      ends_with_comma = line.back() == ',';
      at = newline + 1;
    }
    std::string_view body = json.substr(start, (last ? closing : at) - start);
    while (!body.empty() && is_json_space(body.back())) body.remove_suffix(1);
    if (!last) {
      // Chunks are joined by the comma between two tokens.
      if (body.empty() || body.back() != ',') return std::nullopt;
      body.remove_suffix(1);
    }
    if (body.empty()) {
      if (start == header_end + 1 && last) break;  // no tokens at all
      return std::nullopt;
    }
    const std::size_t size = open.size() + body.size() + close.size();
    if (buffer.size() < size + simdjson::SIMDJSON_PADDING) {
      buffer.resize(size + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buffer.data(), open.data(), open.size());
    std::memcpy(buffer.data() + open.size(), body.data(), body.size());
    std::memcpy(buffer.data() + open.size() + body.size(), close.data(), close.size());
    simdjson::dom::element root;
    simdjson::dom::array items;
    if (parser.parse(buffer.data(), size, false).get(root) != simdjson::SUCCESS ||
        root.at_key("").get_array().get(items) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    for (const simdjson::dom::element item : items) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
      if (out.tokens.size() == lim.max_tokens) return std::nullopt;  // the whole parse refuses
      token_view& t = out.tokens.emplace_back();
      read_token(object, t);
      t.label = out.strings.keep(t.label);
      t.user = out.strings.keep(t.user);
      if (t.token) t.token = out.strings.keep(*t.token);
      if (t.token_sha256) t.token_sha256 = out.strings.keep(*t.token_sha256);
      t.id = out.strings.keep(t.id);
      t.ip = out.strings.keep(t.ip);
      if (!t.limit_to.empty()) {
        auto found = limit_texts.find(t.limit_to);
        if (found == limit_texts.end()) {
          const std::string_view kept = out.strings.keep(t.limit_to);
          found = limit_texts.emplace(kept, kept).first;
        }
        t.limit_to = found->second;
      }
    }
  }

  // The rest of the document, with an empty tokens array in its place: its
  // settings, and whether it is JSON of the right shape at all.
  const std::size_t head = header_end + 1;
  simdjson::padded_string outline(head + json.size() - closing);
  std::memcpy(outline.data(), json.data(), head);
  std::memcpy(outline.data() + head, json.data() + closing, json.size() - closing);
  auto rest = parse_store_document<token_view>(parser, outline, lim);
  if (!rest || !rest.value().tokens.empty()) return std::nullopt;
  out.settings = rest.value().settings;
  return out;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP
