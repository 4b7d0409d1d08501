// The gateway example of docs/embedding.md, word for word (tests/package/run.sh
// checks that the two agree), compiled and run by every consumer project.
#include <string>
#include <string_view>
#include <tokenguard/tokenguard.hpp>

/// A gateway's token filter: load or reload a store, then decide each request.
class token_filter {
 public:
  /// Returns "" once the new store is in service, else why it was refused (the old one stays).
  std::string load(std::string_view store_json) {
    auto loaded = tokenguard::load_store_json(store_json, auth_.usage());
    if (!loaded) return loaded.message();
    auth_.replace_store(loaded.value().snapshot);  // atomic; requests in flight keep the old one
    return "";
  }

  /// Any thread, per request: noexcept, no lock, no allocation.
  tokenguard::decision check(std::string_view method, std::string_view url, std::string_view peer,
                             std::string_view authorization) const noexcept {
    const auto address = tokenguard::ip_address::parse(peer);
    if (!address) return tokenguard::decision(tokenguard::reason::malformed_request);
    return auth_.decide({method, url, *address, /*forwarded_for=*/"", authorization, /*body=*/""});
  }

 private:
  tokenguard::authorizer auth_;  // Basic auth, no trusted proxies: see authorizer_options
};
