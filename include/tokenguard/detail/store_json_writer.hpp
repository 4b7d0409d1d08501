#ifndef TOKENGUARD_DETAIL_STORE_JSON_WRITER_HPP
#define TOKENGUARD_DETAIL_STORE_JSON_WRITER_HPP

/// Writing tokens and owned stores back to JSON, in the shape of
/// `tokenTools/get` (SPEC 9): the seed's fields in the seed's order, then the
/// extensions when they say something, then the members this version does not
/// know, unchanged. The inverse of json.hpp's loader.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tokenguard/detail/json_text.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/token.hpp"

namespace tokenguard::detail {

/// limitTo as `get` returns it: the lines (SPEC 3 splitting, trimmed, empty
/// ones dropped) joined with `<br>`. The same rules either way.
[[nodiscard]] inline std::string join_limit_to(std::string_view limit_to) {
  std::string out;
  split_limit_to(limit_to, [&out](std::size_t, std::string_view line) {
    if (line.empty()) return;
    if (!out.empty()) out += "<br>";
    out.append(line);
  });
  return out;
}

enum class usage_details_output : std::uint8_t {
  when_recorded,  ///< the file: lastUsed/lastIp only once a use was recorded
  always,         ///< `get` with collectUsageDetails on: always (0 and "" = never used)
  never,          ///< `get` with collectUsageDetails off
};

struct token_json_options {
  bool secure_mode = false;  ///< never write `token`; always write `tokenSha256`
  usage_details_output usage_details = usage_details_output::when_recorded;
  /// The create answer shows this secret once, whatever the mode.
  std::string_view shown_secret;
};

inline void append_member(std::string& out, std::string_view name, std::string_view value) {
  if (out.back() != '{') out.push_back(',');
  append_json_string(out, name);
  out.push_back(':');
  append_json_string(out, value);
}

template <class Int>
inline void append_member_number(std::string& out, std::string_view name, Int value) {
  if (out.back() != '{') out.push_back(',');
  append_json_string(out, name);
  out.push_back(':');
  out += std::to_string(value);
}

inline void append_token_json(std::string& out, const token_record& r,
                              const token_json_options& options = {}) {
  out.push_back('{');
  append_member(out, "authorKey", r.author_key);
  append_member(out, "userKey", r.user_key);
  append_member(out, "userDisplayName", r.user_display_name);
  append_member(out, "label", r.label);
  append_member(out, "user", r.user);
  if (!options.shown_secret.empty()) {
    append_member(out, "token", options.shown_secret);
  } else if (!options.secure_mode && r.token) {
    append_member(out, "token", *r.token);
  }
  if (r.token_sha256) {
    append_member(out, "tokenSha256", *r.token_sha256);
  } else if (options.secure_mode && r.token) {
    append_member(out, "tokenSha256", to_hex(sha256(*r.token)));
  }
  append_member(out, "id", r.id);
  append_member(out, "limitTo", join_limit_to(r.limit_to));
  append_member(out, "ip", r.ip);
  append_member_number(out, "validUntil", r.valid_until);
  append_member_number(out, "dateCreated", r.date_created);
  append_member_number(out, "counter", r.counter);
  if (r.usage_limit != 0) append_member_number(out, "usageLimit", r.usage_limit);
  const bool details =
      options.usage_details == usage_details_output::always ||
      (options.usage_details == usage_details_output::when_recorded && r.last_used != 0);
  if (details) {
    append_member_number(out, "lastUsed", r.last_used);
    append_member(out, "lastIp", r.last_ip);
  }
  if (!r.extra_members.empty()) {
    out.push_back(',');
    out += r.extra_members;
  }
  out.push_back('}');
}

inline void append_settings_json(std::string& out, const store_settings& s) {
  out += R"({"secureMode":)";
  out += s.secure_mode ? "true" : "false";
  out += R"(,"collectUsageDetails":)";
  out += s.collect_usage_details ? "true" : "false";
  out += R"(,"addAuditRecord":)";
  out += s.add_audit_record ? "true" : "false";
  out.push_back('}');
}

/// An owned store file: one `get` page holding every token, plus "settings".
/// One token a line, so that a diff of two versions reads well.
[[nodiscard]] inline std::string store_file_json(std::span<const token_record> tokens,
                                                 const store_settings& settings) {
  std::string out;
  out.reserve(256 + tokens.size() * 512);
  const std::size_t total = tokens.size();
  out += R"({"total":)" + std::to_string(total);
  out += R"(,"pages":)" + std::to_string(total == 0 ? 0 : 1);
  out += R"(,"maxResults":)" + std::to_string(total == 0 ? 1 : total);
  out += R"(,"startAt":0,"tokens":[)";
  token_json_options options;
  options.secure_mode = settings.secure_mode;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    out += i == 0 ? "\n" : ",\n";
    append_token_json(out, tokens[i], options);
  }
  out += total == 0 ? "]," : "\n],";
  out += R"("settings":)";
  append_settings_json(out, settings);
  out += R"(,"status":"ok"})";
  out.push_back('\n');
  return out;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_STORE_JSON_WRITER_HPP
