#ifndef TOKENGUARD_TOOLS_TOKENS_HPP
#define TOKENGUARD_TOOLS_TOKENS_HPP

// `tokenguard tokens list|create|delete`, `tokenguard settings` and
// `tokenguard secure`: the management API (SPEC 9) on a store file, through
// token_service::handle as an administrator, so that the CLI and the server
// give the same answers. The service's JSON answer goes to stdout; an error
// answer's message goes to stderr with exit status 1.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "tokenguard/service.hpp"

namespace tokenguard::cli {

inline constexpr std::string_view tokens_help =
    R"(usage: tokenguard tokens list   --store FILE [--start-at N] [--max-results M]
       tokenguard tokens create --store FILE --label TEXT [--user NAME] [--days N]
                                [--limit-to TEXT] [--ip LIST] [--usage-limit N] [--token SECRET]
       tokenguard tokens create --store FILE --json BODY
       tokenguard tokens delete --store FILE (--id ID | --token SECRET)

The management API (tokenTools/get, set, delete) on a store file, as an administrator.
Each command prints the API's JSON answer on standard output.

  list     one page of tokens in dateCreated, id order (default: the first 1000)
  create   a new token; the answer holds its secret (in a secure store, the only time
           it is shown). Creates the store file when it does not exist.
             --label TEXT       the token's name (required, 1..255 bytes)
             --user NAME        the only user who may use it (default: any user, Basic only)
             --days N           expires N days from now, 0..36500 (default 0: never)
             --limit-to TEXT    limitTo rules, lines separated by a newline, \n or <br>
             --ip LIST          allowed client addresses and networks (default: any)
             --usage-limit N    deny after N allowed uses (default 0: unlimited)
             --token SECRET     a chosen secret, 16..256 printable ASCII characters
                                (default: 32 random characters of [a-z0-9])
             --json BODY        the tokenTools/set body itself, instead of the options
  delete   one token, by --id or by its secret (--token)

  --author NAME   the administrator's user name, recorded as the token's authorKey
                  (default: empty, as for tokens an administrator generates)

Exit status: 0 on success, 1 when the API refuses (the message is on standard error),
2 when the arguments or the store file are unusable.
)";

inline constexpr std::string_view settings_help =
    R"(usage: tokenguard settings --store FILE [--collect-usage-details true|false]
                          [--add-audit-record true|false] [--secure-mode true]

Without a change, prints the store's settings; otherwise changes them (tokenTools/set)
and prints the new ones. Creates the store file when it does not exist and a change
is asked for.

  --collect-usage-details B  record each token's last use time and address (lastUsed, lastIp)
  --add-audit-record B       send one audit record per request that presents a known token
  --secure-mode true         keep only SHA-256 digests of the secrets from now on;
                             this cannot be undone

Exit status: 0 on success, 1 when the API refuses, 2 when the arguments or the file are unusable.
)";

inline constexpr std::string_view secure_help =
    R"(usage: tokenguard secure --store FILE

Turns a plaintext store into a secure one: every secret is replaced by its SHA-256
(tokenSha256) and the store's secureMode setting is set, so that new tokens are stored
the same way. The file is rewritten durably. This cannot be undone: keep the secrets
elsewhere first if you still need them. Running it on a secure store changes nothing.

Exit status: 0 on success, 1 when the API refuses, 2 when the arguments or the file are unusable.
)";

namespace tokens_impl {

[[nodiscard]] inline std::unique_ptr<token_service> open_service(const std::string& path,
                                                                 authorizer& auth,
                                                                 bool create_if_missing) {
  if (path.empty()) throw usage_error{"--store FILE is required"};
  service_options options;
  options.create_if_missing = create_if_missing;
  auto service = token_service::open(path, auth, std::move(options));
  if (!service) throw usage_error{service.message()};
  for (const token_problem& p : service.value()->problems()) {
    std::cerr << "tokenguard: warning: " << path << ": " << describe(p)
              << " (this token cannot authenticate)\n";
  }
  return std::move(service).value();
}

/// Prints the answer: JSON on stdout, or the error's message on stderr.
[[nodiscard]] inline int report(std::string_view command, const service_response& r) {
  if (r.status == 200) {
    std::cout << r.body << "\n";
    std::cout.flush();
    return exit_ok;
  }
  std::string message = r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view text;
  if (parser.parse(simdjson::padded_string(r.body)).get(root) == simdjson::SUCCESS &&
      root["message"].get_string().get(text) == simdjson::SUCCESS) {
    message = std::string(text);
  }
  std::cerr << "tokenguard: " << command << ": " << message << " (HTTP " << r.status << ")\n";
  return exit_problems;
}

[[nodiscard]] inline bool parse_bool_option(std::string_view option, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw usage_error{std::string(option) + " expects true or false, not '" + std::string(text) +
                    "'"};
}

[[nodiscard]] inline std::uint64_t parse_count_option(std::string_view option,
                                                      std::string_view text) {
  const auto n = detail::parse_non_negative(text);
  if (!n || *n == UINT64_MAX) {
    throw usage_error{std::string(option) + " expects a non-negative integer, not '" +
                      std::string(text) + "'"};
  }
  return *n;
}

inline void add_member(std::string& body, std::string_view name, std::string_view json_value) {
  body += body.size() == 1 ? "" : ",";
  detail::append_json_string(body, name);
  body.push_back(':');
  body += json_value;
}

}  // namespace tokens_impl

inline int run_tokens(args& a) {
  using namespace tokens_impl;
  if (a.done()) throw usage_error{"tokens: expected list, create or delete (see --help)"};
  // The sub-command is the first word; value() hands back the next item as is.
  const std::string sub = a.value();
  if (sub == "--help" || sub == "-h") {
    std::cout << tokens_help;
    return exit_ok;
  }
  if (sub != "list" && sub != "create" && sub != "delete") {
    throw usage_error{"tokens: unknown sub-command '" + sub + "' (list, create or delete)"};
  }
  std::string store_path;
  caller_identity caller{"", true};
  std::string query;
  std::string body = "{";
  std::optional<std::string> raw_json;
  bool has_field = false;
  auto add_string = [&](std::string_view name, std::string_view value) {
    add_member(body, name, detail::json_string(value));
    has_field = true;
  };
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--help") {
      std::cout << tokens_help;
      return exit_ok;
    } else if (name == "--store") {
      store_path = a.value();
    } else if (name == "--author") {
      caller.user = a.value();
    } else if (sub == "list" && (name == "--start-at" || name == "--max-results")) {
      const std::string value = a.value();
      (void)parse_count_option(name, value);
      query += query.empty() ? "?" : "&";
      query += (name == "--start-at" ? "startAt=" : "maxResults=") + value;
    } else if (sub == "create" && name == "--label") {
      add_string("label", a.value());
    } else if (sub == "create" && name == "--user") {
      add_string("userName", a.value());
    } else if (sub == "create" && name == "--limit-to") {
      add_string("limitTo", a.value());
    } else if (sub == "create" && name == "--ip") {
      add_string("ip", a.value());
    } else if (sub != "list" && name == "--token") {
      add_string("token", a.value());
    } else if (sub == "create" && name == "--days") {
      add_member(body, "daysUntilExpiry", std::to_string(parse_count_option(name, a.value())));
      has_field = true;
    } else if (sub == "create" && name == "--usage-limit") {
      add_member(body, "usageLimit", std::to_string(parse_count_option(name, a.value())));
      has_field = true;
    } else if (sub == "create" && name == "--json") {
      raw_json = a.value();
    } else if (sub == "delete" && name == "--id") {
      add_string("id", a.value());
    } else {
      throw usage_error{"tokens " + sub + ": unknown option " + name};
    }
  }
  body += "}";
  if (raw_json) {
    if (has_field) throw usage_error{"tokens create: --json replaces the other token options"};
    body = *raw_json;
  }

  authorizer auth;
  auto service = open_service(store_path, auth, /*create_if_missing=*/sub == "create");
  const std::string base(management_prefix);
  if (sub == "list")
    return report("tokens list", service->handle("GET", base + "get" + query, "", caller));
  if (sub == "create")
    return report("tokens create", service->handle("POST", base + "set", body, caller));
  return report("tokens delete", service->handle("DELETE", base + "delete", body, caller));
}

inline int run_settings(args& a) {
  using namespace tokens_impl;
  std::string store_path;
  std::string body = "{";
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--help") {
      std::cout << settings_help;
      return exit_ok;
    } else if (name == "--store") {
      store_path = a.value();
    } else if (name == "--collect-usage-details" || name == "--add-audit-record" ||
               name == "--secure-mode") {
      const bool on = parse_bool_option(name, a.value());
      add_member(body,
                 name == "--collect-usage-details" ? "collectUsageDetails"
                 : name == "--add-audit-record"    ? "addAuditRecord"
                                                   : "secureMode",
                 on ? "true" : "false");
    } else {
      throw usage_error{"settings: unknown option " + name};
    }
  }
  body += "}";
  const bool change = body != "{}";
  authorizer auth;
  auto service = open_service(store_path, auth, /*create_if_missing=*/change);
  if (!change) {
    std::string out = R"({"settings":)";
    detail::append_settings_json(out, service->settings());
    out += R"(,"status":"ok"})";
    std::cout << out << "\n";
    return exit_ok;
  }
  const caller_identity caller{"", true};
  return report("settings",
                service->handle("POST", std::string(management_prefix) + "set", body, caller));
}

inline int run_secure(args& a) {
  using namespace tokens_impl;
  std::string store_path;
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--help") {
      std::cout << secure_help;
      return exit_ok;
    } else if (name == "--store") {
      store_path = a.value();
    } else {
      throw usage_error{"secure: unknown option " + name};
    }
  }
  authorizer auth;
  auto service = open_service(store_path, auth, /*create_if_missing=*/false);
  const caller_identity caller{"", true};
  return report("secure", service->handle("POST", std::string(management_prefix) + "set",
                                          R"({"secureMode":true})", caller));
}

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_TOKENS_HPP
