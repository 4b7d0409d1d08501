#ifndef TOKENGUARD_TOOLS_CLI_HPP
#define TOKENGUARD_TOOLS_CLI_HPP

// Shared pieces of the command-line tool: argument reading, files, and
// loading a store. This is the outer edge: errors become messages and exit
// codes here.

#include <simdjson.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/durable_file.hpp"
#include "tokenguard/detail/load_file.hpp"
#include "tokenguard/tokenguard.hpp"

namespace tokenguard::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_problems = 1;
inline constexpr int exit_unusable = 2;

/// Thrown for unusable arguments or files; main() prints it and exits 2.
struct usage_error {
  std::string message;
};

/// Walks argv with `--name value` and `--name=value` forms.
class args {
 public:
  args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) items_.emplace_back(argv[i]);
  }
  [[nodiscard]] bool done() const { return pos_ >= items_.size(); }
  /// The next option name (without its inline value).
  [[nodiscard]] std::string next_option() {
    std::string item = items_[pos_++];
    inline_value_.reset();
    if (item.rfind("--", 0) != 0) throw usage_error{"unexpected argument '" + item + "'"};
    if (const auto eq = item.find('='); eq != std::string::npos) {
      inline_value_ = item.substr(eq + 1);
      item.resize(eq);
    }
    current_ = item;
    return item;
  }
  [[nodiscard]] std::string value() {
    if (inline_value_) return *std::exchange(inline_value_, std::nullopt);
    if (pos_ >= items_.size()) throw usage_error{current_ + " needs a value"};
    return items_[pos_++];
  }
  void no_value() const {
    if (inline_value_) throw usage_error{current_ + " takes no value"};
  }

 private:
  std::vector<std::string> items_;
  std::size_t pos_ = 0;
  std::string current_;
  std::optional<std::string> inline_value_;
};

[[nodiscard]] inline std::int64_t parse_int64(std::string_view option, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw usage_error{std::string(option) + " expects an integer, not '" + std::string(text) + "'"};
  }
  return value;
}

[[nodiscard]] inline auth_mode parse_mode_option(std::string_view text) {
  const auto mode = parse_auth_mode(text);
  if (!mode) {
    throw usage_error{"--auth-mode expects basic, bearer or both, not '" + std::string(text) + "'"};
  }
  return *mode;
}

[[nodiscard]] inline ip_network parse_proxy_option(std::string_view text) {
  auto network = ip_network::parse(text);
  if (!network) throw usage_error{"--trusted-proxy: " + network.message()};
  return network.value();
}

/// Opens a store file (detail::open_file_if_exists, as the service opens
/// its own), refusing one over `max_bytes` before reading it.
[[nodiscard]] inline detail::opened_file open_store_file(const std::string& path,
                                                         std::size_t max_bytes) {
  auto opened = detail::open_file_if_exists(path, max_bytes);
  if (!opened) throw usage_error{opened.message()};
  if (!opened.value()) {
    throw usage_error{"cannot open '" + path + "': " + detail::errno_text(ENOENT)};
  }
  return std::move(*std::move(opened).value());
}

/// Loads a store file as a gateway does (detail::load_opened_store: a store
/// of one token a line is read a block at a time); an unusable file is a
/// usage_error.
[[nodiscard]] inline loaded_store load_store_file(const std::string& path, usage_store& usage,
                                                  const limits& lim, bool strict) {
  const detail::opened_file file = open_store_file(path, lim.max_store_bytes);
  auto loaded = detail::load_opened_store(file, path, usage, lim, strict);
  if (!loaded) throw usage_error{path + ": " + loaded.message()};
  return std::move(loaded).value();
}

[[nodiscard]] inline std::string describe(const token_problem& p) {
  return "token " + std::to_string(p.index) + " " + detail::json_string(p.label) + ": " + p.message;
}

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_CLI_HPP
