#ifndef TOKENGUARD_AUTHORIZER_HPP
#define TOKENGUARD_AUTHORIZER_HPP

/// The request path: decide(request) -> decision, in the order of SPEC 7.
/// noexcept, no heap allocation in steady state (per-thread scratch buffers
/// grow on a thread's first requests and are reused), no lock. The compiled
/// store is swapped atomically; usage counts live outside it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "tokenguard/address.hpp"
#include "tokenguard/credentials.hpp"
#include "tokenguard/decision.hpp"
#include "tokenguard/detail/canonical_url.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/detail/snapshot_cell.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/reason.hpp"
#include "tokenguard/request.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/usage.hpp"

namespace tokenguard {

/// Fleet seam: a shared revocation list (for example in Redis) answers here.
/// A revoked token is refused as `unknown_token`.
class revocation_check {
 public:
  virtual ~revocation_check() = default;
  [[nodiscard]] virtual bool is_revoked(std::string_view token_id) const noexcept = 0;
};

struct authorizer_options {
  auth_mode mode = auth_mode::basic;
  std::vector<ip_network> trusted_proxies;
  limits lim;
  /// Record the last use time and client address of each token (SPEC 9).
  bool collect_usage_details = false;
  std::shared_ptr<const revocation_check> revocations;
};

[[nodiscard]] inline std::int64_t system_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace detail {

/// The canonical URL of the request being decided, per thread.
struct url_scratch {
  std::vector<char> bytes;
  static url_scratch& for_this_thread() noexcept {
    thread_local url_scratch scratch;
    return scratch;
  }
};

}  // namespace detail

class authorizer {
 public:
  explicit authorizer(authorizer_options options = {},
                      std::shared_ptr<usage_store> usage = std::make_shared<local_usage>())
      : options_(std::move(options)),
        resolver_(options_.trusted_proxies),
        usage_(std::move(usage)),
        collect_usage_details_(options_.collect_usage_details) {
    if (options_.lim.max_url_bytes > hard_max_url_bytes) {
      options_.lim.max_url_bytes = hard_max_url_bytes;
    }
  }

  /// Publishes a new snapshot. Requests in flight finish on the old one.
  /// From a thread that is inside decide() (a revocation list or a usage
  /// store calling back) it throws std::logic_error and changes nothing.
  void replace_store(std::shared_ptr<const store> next) { cell_.replace(std::move(next)); }
  [[nodiscard]] std::shared_ptr<const store> current_store() const { return cell_.share(); }

  [[nodiscard]] usage_store& usage() const noexcept { return *usage_; }
  [[nodiscard]] const authorizer_options& options() const noexcept { return options_; }
  void set_collect_usage_details(bool on) noexcept { collect_usage_details_.store(on); }

  [[nodiscard]] decision decide(const request& req) const noexcept {
    return decide(req, system_now_ms());
  }

  [[nodiscard]] decision decide(const request& req, std::int64_t now_ms) const noexcept {
    decision out;
    decide_into(req, now_ms, out);
    return out;
  }

 private:
  static void deny(decision& d, reason why) noexcept { d.reason_ = why; }

  /// Fills `out` in place: a decision is a few hundred bytes, not worth copying.
  void decide_into(const request& req, std::int64_t now_ms, decision& out) const noexcept {
    // 1. The request itself (SPEC 4).
    if (!detail::is_http_token(req.method) || req.url.size() > options_.lim.max_url_bytes) {
      return deny(out, reason::malformed_request);
    }
    // 2. Credentials (SPEC 5), parsed now but answered after the URL: the
    // token's lookup starts its rule set's cache misses, which the URL's
    // canonicalisation then hides. The reasons keep SPEC 7's order.
    char credential_bytes[max_authorization_bytes];
    credentials cred;
    const credentials_status parsed =
        parse_authorization(req.authorization, options_.mode, credential_bytes, cred);
    const auto snapshot = cell_.acquire();
    const store* current = snapshot.get();
    const store::entry* token = nullptr;
    const rule_set::hot_memory* rules = nullptr;
    std::uint16_t method_bit = 0;  // the rules' view of the method, for tokens with rules
    if (parsed == credentials_status::ok && current != nullptr) {
      token = current->find(detail::sha256(cred.secret));
      // In a large store each of these is a cache miss: start them together.
      if (token != nullptr) {
        rules = current->rule_hot(*token);
        if (rules != nullptr) method_bit = detail::method_bit(req.method);
        current->prefetch(*token, method_bit);
        usage_->prefetch(token->slot);
      }
    }

    detail::url_scratch& scratch = detail::url_scratch::for_this_thread();
    if (scratch.bytes.size() < req.url.size() + 1) {
      try {
        scratch.bytes.resize(options_.lim.max_url_bytes + 1);
      } catch (...) {
        return deny(out, reason::malformed_request);  // out of memory on a thread's first use
      }
    }
    detail::canonical_url url;
    if (!detail::canonicalize_url(req.url, scratch.bytes.data(), scratch.bytes.size(), url)) {
      return deny(out, reason::malformed_request);
    }

    switch (parsed) {
      case credentials_status::ok:
        break;
      case credentials_status::missing:
        return deny(out, reason::missing_credentials);
      case credentials_status::malformed:
        return deny(out, reason::malformed_credentials);
      case credentials_status::scheme_not_enabled:
        return deny(out, reason::scheme_not_enabled);
    }

    // 3. The token, by the digest of its secret.
    if (token == nullptr) return deny(out, reason::unknown_token);
    const std::string_view id = current->id(*token);
    if (options_.revocations && options_.revocations->is_revoked(id)) {
      return deny(out, reason::unknown_token);
    }
    out.token_known_ = true;
    out.slot_ = token->slot;
    decision::copy(out.label_, out.label_size_, current->label(*token));
    decision::copy(out.id_, out.id_size_, id);

    // 4. Who is acting.
    const std::string_view bound_user = current->user(*token);
    std::string_view identity;
    if (!bound_user.empty()) {
      if (cred.scheme == auth_scheme::basic && !detail::iequals_ascii(cred.user, bound_user)) {
        return deny(out, reason::user_mismatch);
      }
      identity = bound_user;
    } else if (cred.scheme == auth_scheme::bearer) {
      return deny(out, reason::user_required);
    } else if (cred.user.empty() || cred.user.size() > max_user_bytes) {
      return deny(out, reason::malformed_credentials);
    } else {
      identity = cred.user;
    }

    // 5. Expiry: valid while now < validUntil.
    if (token->valid_until != 0 && now_ms >= token->valid_until) return deny(out, reason::expired);

    // 6. Client address.
    out.client_ = resolver_.resolve(req.peer, req.forwarded_for);
    if (const ip_allow_list* ips = current->ips(*token); ips != nullptr) {
      if (!out.client_ || !ips->contains(*out.client_)) return deny(out, reason::ip_not_allowed);
    }

    // 7. limitTo.
    if (rules != nullptr) {
      const detail::rule_subject subject{req.method, method_bit, url.subject,
                                         url.query,  req.body,   options_.lim.max_body_bytes};
      // A canonical URL is printable ASCII (canonical_url.hpp refuses any other byte and
      // decodes escapes only to unreserved characters): no line break, nothing to scan for.
      constexpr detail::text_facts canonical_url_facts{.ascii = true, .line_break = false};
      detail::rule_context ctx(subject, options_.lim.match_budget_units, canonical_url_facts);
      switch (rule_set::evaluate(*rules, ctx)) {
        case rules_outcome::pass:
          break;
        case rules_outcome::mismatch:
          return deny(out, reason::limit_to_mismatch);
        case rules_outcome::too_complex:
          return deny(out, reason::rule_too_complex);
      }
    }

    // 8. Usage: the check and the increment are one atomic step.
    if (!usage_->try_consume(token->slot, token->usage_limit)) {
      return deny(out, reason::usage_exhausted);
    }
    if (collect_usage_details_.load(std::memory_order_relaxed) && out.client_) {
      usage_->record_use(token->slot, now_ms, *out.client_);
    }
    out.reason_ = reason::allowed;
    decision::copy(out.user_, out.user_size_, identity);
  }

  authorizer_options options_;
  client_address_resolver resolver_;
  std::shared_ptr<usage_store> usage_;
  std::atomic<bool> collect_usage_details_;
  detail::snapshot_cell<store> cell_;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_AUTHORIZER_HPP
