// The tokenguard command-line tool: the outer edge where errors become
// messages on stderr and exit codes. Each command lives in its own header.

#include <exception>
#include <iostream>
#include <string_view>

#include "check.hpp"
#include "cli.hpp"
#include "serve.hpp"
#include "tokens.hpp"

namespace {

constexpr std::string_view main_help =
    R"(usage: tokenguard <command> [options]

Commands:
  check      decide JSON Lines requests against a token store
  validate   compile a token store and list every problem
  tokens     list, create and delete tokens of a store file (management API)
  settings   show or change a store's settings
  secure     turn a plaintext store into a secure one (digests only)
  serve      answer gateway auth sub-requests and serve the management API

Run 'tokenguard <command> --help' for a command's options.
  --version  print the version
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace tokenguard::cli;
  std::ios::sync_with_stdio(false);
  if (argc < 2) {
    std::cerr << main_help;
    return exit_unusable;
  }
  const std::string_view command = argv[1];
  try {
    args a(argc, argv, 2);
    if (command == "check") return run_check(a);
    if (command == "validate") return run_validate(a);
    if (command == "tokens") return run_tokens(a);
    if (command == "settings") return run_settings(a);
    if (command == "secure") return run_secure(a);
    if (command == "serve") return run_serve(a);
    if (command == "--version" || command == "version") {
      std::cout << "tokenguard " TOKENGUARD_VERSION_STRING "\n";
      return exit_ok;
    }
    if (command == "--help" || command == "help" || command == "-h") {
      std::cout << main_help;
      return exit_ok;
    }
    std::cerr << "tokenguard: unknown command '" << command << "'\n" << main_help;
    return exit_unusable;
  } catch (const usage_error& e) {
    std::cerr << "tokenguard: " << e.message << "\n";
    return exit_unusable;
  } catch (const std::exception& e) {
    std::cerr << "tokenguard: " << e.what() << "\n";
    return exit_unusable;
  }
}
