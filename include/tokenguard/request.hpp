#ifndef TOKENGUARD_REQUEST_HPP
#define TOKENGUARD_REQUEST_HPP

/// What a gateway hands the authorizer about one HTTP request (SPEC 4). All
/// views: the authorizer copies nothing and keeps nothing after deciding.

#include <string_view>

#include "tokenguard/address.hpp"

namespace tokenguard {

struct request {
  std::string_view method;
  /// Absolute (`https://host/path?query`) or origin-form (`/path?query`).
  std::string_view url;
  /// The direct peer of the connection.
  ip_address peer;
  /// X-Forwarded-For as received (several headers joined with ", "); empty
  /// when absent. Only read when the peer is a trusted proxy.
  std::string_view forwarded_for;
  /// The Authorization header value; empty when absent.
  std::string_view authorization;
  /// Only read by JsonData clauses.
  std::string_view body;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_REQUEST_HPP
