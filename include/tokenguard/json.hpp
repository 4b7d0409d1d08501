#ifndef TOKENGUARD_JSON_HPP
#define TOKENGUARD_JSON_HPP

/// Loading a token store from JSON (SPEC 8) with simdjson: the object that
/// `tokenTools/get` returns, or a bare array of tokens. A document that is not
/// JSON or has the wrong shape is refused whole, with its position; a token
/// whose own fields are wrong is kept with a load_error so that it fails
/// closed while the others load.

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tokenguard/detail/json_text.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/token.hpp"

namespace tokenguard {

/// Store-wide switches (SPEC 9), persisted under "settings" in an owned store.
struct store_settings {
  bool secure_mode = false;
  bool collect_usage_details = false;
  bool add_audit_record = false;
};

/// A parsed store: its tokens as `Record`s and its settings.
template <class Record>
struct basic_parsed_store {
  std::vector<Record> tokens;
  store_settings settings;
};
using parsed_store = basic_parsed_store<token_record>;

namespace detail {

/// Reads one token object into a record; field problems go to load_error.
/// `Record` is token_record (every field owned, unknown members kept) or
/// token_view (the fields a snapshot needs, as views into the parsed
/// document); both see the same checks, so both find the same load_error.
template <class Record>
void read_token(simdjson::dom::object object, Record& r) {
  constexpr bool owned = std::is_same_v<Record, token_record>;
  auto note = [&r](const std::string& what) {
    if (r.load_error.empty()) r.load_error = what;
  };
  // A string field; `out` is null for a field that this Record leaves out,
  // whose type is still checked.
  auto read_string = [&](simdjson::dom::element v, std::string_view key, auto* out) {
    if (v.is_null()) return;
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) {
      note(std::string(key) + " must be a string");
      return;
    }
    if (out != nullptr) *out = s;
  };
  auto read_optional_string = [&](simdjson::dom::element v, std::string_view key, auto& out) {
    if (v.is_null()) return;
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) {
      note(std::string(key) + " must be a string");
      return;
    }
    out.emplace(s);
  };
  auto read_time = [&](simdjson::dom::element v, std::string_view key, std::int64_t* out) {
    if (v.is_null()) return;
    std::int64_t n = 0;
    if (v.get_int64().get(n) != simdjson::SUCCESS || !(v.is_int64() || v.is_uint64()) || n < 0) {
      note(std::string(key) + " must be a non-negative integer (milliseconds since the epoch)");
      return;
    }
    if (out != nullptr) *out = n;
  };
  auto read_count = [&](simdjson::dom::element v, std::string_view key, std::uint64_t& out) {
    if (v.is_null()) return;
    std::uint64_t n = 0;
    if (v.get_uint64().get(n) != simdjson::SUCCESS) {
      note(std::string(key) + " must be a non-negative integer");
      return;
    }
    out = n;
  };
  // The fields only an owned record keeps (audit and display details): null
  // for a view, so that they are checked but not kept.
  auto kept = [&](auto member) {
    using field = std::remove_reference_t<decltype(std::declval<token_record&>().*member)>;
    if constexpr (owned) {
      return &(r.*member);
    } else {
      return static_cast<field*>(nullptr);
    }
  };

  bool has_label = false;
  for (auto field : object) {
    const std::string_view key = field.key;
    const simdjson::dom::element v = field.value;
    if (key == "label") {
      has_label = true;
      read_string(v, key, &r.label);
    } else if (key == "user") {
      read_string(v, key, &r.user);
    } else if (key == "token") {
      read_optional_string(v, key, r.token);
    } else if (key == "tokenSha256") {
      read_optional_string(v, key, r.token_sha256);
    } else if (key == "id") {
      read_string(v, key, &r.id);
    } else if (key == "limitTo") {
      read_string(v, key, &r.limit_to);
    } else if (key == "ip") {
      read_string(v, key, &r.ip);
    } else if (key == "validUntil") {
      read_time(v, key, &r.valid_until);
    } else if (key == "dateCreated") {
      read_time(v, key, kept(&token_record::date_created));
    } else if (key == "counter") {
      read_count(v, key, r.counter);
    } else if (key == "usageLimit") {
      read_count(v, key, r.usage_limit);
    } else if (key == "authorKey") {
      read_string(v, key, kept(&token_record::author_key));
    } else if (key == "userKey") {
      read_string(v, key, kept(&token_record::user_key));
    } else if (key == "userDisplayName") {
      read_string(v, key, kept(&token_record::user_display_name));
    } else if (key == "lastUsed") {
      read_time(v, key, kept(&token_record::last_used));
    } else if (key == "lastIp") {
      read_string(v, key, kept(&token_record::last_ip));
    } else if constexpr (owned) {
      if (!r.extra_members.empty()) r.extra_members.push_back(',');
      append_json_string(r.extra_members, key);
      r.extra_members.push_back(':');
      r.extra_members += simdjson::minify(v);
    }
  }
  if (!has_label) note("label is missing");
}

/// simdjson refuses numbers it cannot represent (an integer outside int64 and
/// uint64, a float that overflows a double) although RFC 8259 allows them, so
/// the locator finds no error there. This finds the first such number, so that
/// the refusal still names a position. npos when there is none.
[[nodiscard]] inline std::size_t find_unrepresentable_number(std::string_view json) noexcept {
  std::size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    bool integer = true;
    for (; i < json.size(); ++i) {
      const char d = json[i];
      if (d == '.' || d == 'e' || d == 'E') {
        integer = false;
      } else if (d != '-' && d != '+' && (d < '0' || d > '9')) {
        break;
      }
    }
    const char* first = json.data() + start;
    const char* last = json.data() + i;
    if (integer) {
      std::int64_t s = 0;
      std::uint64_t u = 0;
      const bool fits = c == '-' ? std::from_chars(first, last, s).ec == std::errc()
                                 : std::from_chars(first, last, u).ec == std::errc();
      if (!fits) return start;
    } else {
      long double value = 0;
      const auto [end, ec] = std::from_chars(first, last, value);
      if (ec == std::errc::result_out_of_range ||
          (ec == std::errc() && std::isinf(static_cast<double>(value)))) {
        return start;
      }
    }
  }
  return std::string_view::npos;
}

/// The refusal of a store text over max_store_bytes; nullopt within it.
[[nodiscard]] inline std::optional<error> oversized_store(std::size_t bytes, const limits& lim) {
  if (bytes <= lim.max_store_bytes) return std::nullopt;
  return error{"the store is " + std::to_string(bytes) + " bytes, over the limit of " +
               std::to_string(lim.max_store_bytes) + " (max_store_bytes)"};
}

/// Parses a store document into `Record`s (token_record, or token_view
/// whose strings point into `parser`'s document). The text needs
/// simdjson::SIMDJSON_PADDING readable bytes past its end; a view with less
/// room is copied first.
template <class Record>
[[nodiscard]] result<basic_parsed_store<Record>> parse_store_document(
    simdjson::dom::parser& parser, simdjson::padded_string_view padded, const limits& lim) {
  const std::string_view json = padded;
  if (auto refused = oversized_store(json.size(), lim)) return *std::move(refused);
  // simdjson trusts a padded view's capacity and reads past the text: a view
  // without the padding (a std::string that was not read with room) is copied.
  if (padded.padding() < simdjson::SIMDJSON_PADDING) {
    const simdjson::padded_string copy(json);
    return parse_store_document<Record>(parser, copy, lim);
  }
  simdjson::dom::element root;
  if (const auto code = parser.parse(padded).get(root); code != simdjson::SUCCESS) {
    std::string what;
    json_locator locator(json);
    const std::size_t at = locator.locate(what);
    if (at == std::string_view::npos) {
      if (const std::size_t number = find_unrepresentable_number(json);
          number != std::string_view::npos) {
        return error{"the store holds a number at " + describe_offset(json, number) +
                     " that cannot be represented (an integer beyond 64 bits, or a number "
                     "beyond the range of a double)"};
      }
      return error{std::string("the store is not valid JSON: ") + simdjson::error_message(code)};
    }
    return error{"the store is not valid JSON at " + describe_offset(json, at) + ": " + what};
  }

  basic_parsed_store<Record> out;
  simdjson::dom::array tokens;
  std::string base = "$";
  if (root.is_array()) {
    tokens = root.get_array().value_unsafe();
  } else if (root.is_object()) {
    const simdjson::dom::object top = root.get_object().value_unsafe();
    simdjson::dom::element list;
    if (top.at_key("tokens").get(list) != simdjson::SUCCESS) {
      return error{"$: the store object has no \"tokens\" array"};
    }
    if (!list.is_array()) return error{"$.tokens: expected an array"};
    tokens = list.get_array().value_unsafe();
    base = "$.tokens";
    simdjson::dom::element settings;
    if (top.at_key("settings").get(settings) == simdjson::SUCCESS && !settings.is_null()) {
      simdjson::dom::object settings_object;
      if (settings.get_object().get(settings_object) != simdjson::SUCCESS) {
        return error{"$.settings: expected an object"};
      }
      for (auto field : settings_object) {
        bool* target = nullptr;
        if (field.key == "secureMode") target = &out.settings.secure_mode;
        if (field.key == "collectUsageDetails") target = &out.settings.collect_usage_details;
        if (field.key == "addAuditRecord") target = &out.settings.add_audit_record;
        if (target == nullptr) continue;  // settings of later versions
        if (field.value.get_bool().get(*target) != simdjson::SUCCESS) {
          return error{"$.settings." + std::string(field.key) + ": expected true or false"};
        }
      }
    }
  } else {
    return error{"$: expected an object with a \"tokens\" array, or an array of tokens"};
  }

  if (tokens.size() > lim.max_tokens) {
    return error{base + ": " + std::to_string(tokens.size()) + " tokens, over the limit of " +
                 std::to_string(lim.max_tokens) + " (max_tokens)"};
  }
  out.tokens.reserve(tokens.size());
  std::size_t index = 0;
  for (simdjson::dom::element item : tokens) {
    if (!item.is_object()) {
      return error{base + "[" + std::to_string(index) + "]: expected a token object"};
    }
    read_token(item.get_object().value_unsafe(), out.tokens.emplace_back());
    ++index;
  }
  return out;
}

}  // namespace detail

/// Parses a store document held with simdjson::SIMDJSON_PADDING readable
/// bytes past its end (a simdjson::padded_string, or a std::string read after
/// reserve(size + SIMDJSON_PADDING)), in place: parse_store_json without its
/// copy of the text, a quarter of the parse for a large store. A view with
/// less room is copied first.
[[nodiscard]] inline result<parsed_store> parse_padded_store_json(
    simdjson::padded_string_view padded, const limits& lim = limits{}) {
  simdjson::dom::parser parser;
  return detail::parse_store_document<token_record>(parser, padded, lim);
}

/// Parses a store document. Errors say where: a line and column for text that
/// is not JSON, a path such as `$.tokens[3]` for a wrong shape.
[[nodiscard]] inline result<parsed_store> parse_store_json(std::string_view json,
                                                           const limits& lim = limits{}) {
  if (auto refused = detail::oversized_store(json.size(), lim)) {  // before the copy
    return *std::move(refused);
  }
  const simdjson::padded_string padded(json);
  return parse_padded_store_json(padded, lim);
}

}  // namespace tokenguard

#endif  // TOKENGUARD_JSON_HPP
