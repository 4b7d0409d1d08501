#ifndef TOKENGUARD_TOOLS_CHECK_HPP
#define TOKENGUARD_TOOLS_CHECK_HPP

// `tokenguard check` and `tokenguard validate` (SPEC 11).

#include <simdjson.h>

#include <fstream>
#include <iostream>
#include <istream>
#include <string>

#include "cli.hpp"

namespace tokenguard::cli {

inline constexpr std::string_view check_help =
    R"(usage: tokenguard check --store FILE [--now MS] [--auth-mode basic|bearer|both]
                       [--trusted-proxy CIDR]... [--requests FILE|-] [--strict]

Reads requests as JSON Lines (from --requests, default standard input), one a line:
  {"method":"GET","url":"https://jira.example.com/rest/api/2/issue/X-1","ip":"192.0.2.7",
   "authorization":"Basic ...","xff":"...","body":"..."}
(method, url and ip required), and writes one decision a line, in the same order:
  {"allow":true,"reason":"allowed","user":"admin","label":"Token name"}
A line that is not a valid request gives {"allow":false,"reason":"bad_input","error":"..."}.
Usage counters carry from line to line; the store file is never written.

  --store FILE          the token store (tokenTools/get JSON, or an array of tokens)
  --now MS              the clock, in milliseconds since the epoch (default: system clock)
  --auth-mode MODE      accepted schemes: basic (default), bearer or both
  --trusted-proxy CIDR  a proxy whose X-Forwarded-For is believed (repeatable)
  --requests FILE|-     where to read requests (default -)
  --strict              refuse the whole store when any token has a problem

Exit status: 0 when every line was answered, 2 when the store or the arguments are unusable.
)";

inline constexpr std::string_view validate_help =
    R"(usage: tokenguard validate --store FILE

Compiles every token of the store (rules, addresses, secrets, sizes) and lists each
problem with the token's position and label, one a line on standard output.

Exit status: 0 when there is no problem, 1 when there is any (including a file that is
not a valid store), 2 when the arguments are unusable or the file cannot be read.
)";

/// One request line -> one output line. `error` is set for bad input.
inline bool read_request_line(simdjson::dom::parser& parser, std::string_view line, request& req,
                              std::string& error) {
  simdjson::dom::element root;
  const simdjson::padded_string padded(line);
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    std::string what;
    detail::json_locator locator(line);
    const std::size_t at = locator.locate(what);
    error = at == std::string_view::npos
                ? "not a JSON object"
                : "not JSON at column " + std::to_string(at + 1) + ": " + what;
    return false;
  }
  if (!root.is_object()) {
    error = "a request must be a JSON object";
    return false;
  }
  const simdjson::dom::object object = root.get_object().value_unsafe();
  auto field = [&](std::string_view name, bool required, std::string_view& out) {
    simdjson::dom::element value;
    if (object.at_key(name).get(value) != simdjson::SUCCESS || (!required && value.is_null())) {
      if (required) error = "missing field \"" + std::string(name) + "\"";
      return !required;
    }
    if (value.get_string().get(out) != simdjson::SUCCESS) {
      error = "field \"" + std::string(name) + "\" must be a string";
      return false;
    }
    return true;
  };
  std::string_view ip;
  if (!field("method", true, req.method) || !field("url", true, req.url) ||
      !field("ip", true, ip) || !field("authorization", false, req.authorization) ||
      !field("xff", false, req.forwarded_for) || !field("body", false, req.body)) {
    return false;
  }
  const auto peer = ip_address::parse(ip);
  if (!peer) {
    error = "field \"ip\" is not an IP address: " + detail::json_string(ip);
    return false;
  }
  req.peer = *peer;
  return true;
}

inline int run_check(args& a) {
  std::string store_path;
  std::string requests_path = "-";
  std::optional<std::int64_t> now;
  bool strict = false;
  authorizer_options options;
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--store") {
      store_path = a.value();
    } else if (name == "--now") {
      now = parse_int64(name, a.value());
    } else if (name == "--auth-mode") {
      options.mode = parse_mode_option(a.value());
    } else if (name == "--trusted-proxy") {
      options.trusted_proxies.push_back(parse_proxy_option(a.value()));
    } else if (name == "--requests") {
      requests_path = a.value();
    } else if (name == "--strict") {
      a.no_value();
      strict = true;
    } else if (name == "--help") {
      std::cout << check_help;
      return exit_ok;
    } else {
      throw usage_error{"check: unknown option " + name};
    }
  }
  if (store_path.empty()) throw usage_error{"check: --store FILE is required"};

  auto usage = std::make_shared<local_usage>();
  authorizer auth(options, usage);
  loaded_store loaded = load_store_file(store_path, *usage, options.lim, strict);
  for (const token_problem& p : loaded.snapshot->problems()) {
    std::cerr << "tokenguard: warning: " << store_path << ": " << describe(p)
              << " (this token cannot authenticate)\n";
  }
  auth.replace_store(loaded.snapshot);

  std::ifstream file;
  std::istream* in = &std::cin;
  if (requests_path != "-") {
    file.open(requests_path, std::ios::binary);
    if (!file) throw usage_error{"cannot open '" + requests_path + "'"};
    in = &file;
  }

  simdjson::dom::parser parser;
  std::string line;
  std::string out;
  std::size_t line_number = 0;
  while (std::getline(*in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (detail::trim(line).empty()) continue;
    out.clear();
    request req;
    std::string error;
    if (!read_request_line(parser, line, req, error)) {
      out += R"({"allow":false,"reason":"bad_input","error":)";
      detail::append_json_string(out, "line " + std::to_string(line_number) + ": " + error);
      out += "}\n";
    } else {
      const decision d = now ? auth.decide(req, *now) : auth.decide(req);
      out += d.allowed() ? R"({"allow":true,"reason":)" : R"({"allow":false,"reason":)";
      detail::append_json_string(out, to_string(d.why()));
      out += R"(,"user":)";
      detail::append_json_string(out, d.user());
      out += R"(,"label":)";
      detail::append_json_string(out, d.label());
      out += "}\n";
    }
    std::cout << out;
  }
  if (in->bad()) throw usage_error{"error reading '" + requests_path + "'"};
  std::cout.flush();
  return exit_ok;
}

inline int run_validate(args& a) {
  std::string store_path;
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--store") {
      store_path = a.value();
    } else if (name == "--help") {
      std::cout << validate_help;
      return exit_ok;
    } else {
      throw usage_error{"validate: unknown option " + name};
    }
  }
  if (store_path.empty()) throw usage_error{"validate: --store FILE is required"};
  const limits lim;
  const detail::opened_file file = open_store_file(store_path, lim.max_store_bytes);
  local_usage usage;
  auto loaded = detail::load_opened_store(file, store_path, usage, lim, false);
  if (!loaded) {
    std::cout << store_path << ": " << loaded.message() << "\n";
    return exit_problems;
  }
  const auto problems = loaded.value().snapshot->problems();
  for (const token_problem& p : problems) std::cout << describe(p) << "\n";
  std::cerr << store_path << ": " << loaded.value().tokens << " tokens, " << problems.size()
            << (problems.size() == 1 ? " problem\n" : " problems\n");
  return problems.empty() ? exit_ok : exit_problems;
}

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_CHECK_HPP
