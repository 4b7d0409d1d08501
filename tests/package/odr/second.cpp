// The second translation unit: loads a store and decides (see first.cpp).
#include "second.hpp"

#include "all_headers.hpp"

tokenguard::result<std::shared_ptr<const tokenguard::store>> compile_in_second(
    tokenguard::usage_store& usage) {
  auto parsed = tokenguard::parse_store_json(R"([{
    "label": "odr", "user": "ops", "token": "odr-secret-0123456789", "validUntil": 2000,
    "ip": "10.0.0.0/8", "limitTo": "[post].*/issue/OPS-[0-9]+/comment"}])");
  if (!parsed) return tokenguard::error{parsed.message()};
  return tokenguard::store::compile(parsed.value().tokens, usage, tokenguard::limits{},
                                    /*strict=*/true);
}

tokenguard::decision decide_in_second(const tokenguard::authorizer& auth,
                                      const tokenguard::request& req, std::int64_t now_ms) {
  return auth.decide(req, now_ms);
}
