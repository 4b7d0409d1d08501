#ifndef TOKENGUARD_BENCH_BASELINES_HPP
#define TOKENGUARD_BENCH_BASELINES_HPP

/// What a gateway engineer would otherwise use for the rules step, behind the
/// same decision code: std::regex one per line (the one place in the project
/// where std::regex is allowed), Boost.Regex one per line with no fast path,
/// RE2::Set anchored at both ends, and a Hyperscan database.
///
/// baseline_authorizer<Engine> does what authorizer::decide does, step by
/// step, with the library's public pieces (canonical URL, credentials,
/// store::find by SHA-256, user, expiry, client address, usage), and asks the
/// engine only at the limitTo step. The set engines get one set per distinct
/// group of lines that a method selects, so a request runs one set scan.

#include <hs/hs.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <array>
#include <bit>
#include <boost/regex.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "support.hpp"
#include "tokenguard/address.hpp"
#include "tokenguard/credentials.hpp"
#include "tokenguard/detail/canonical_url.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/reason.hpp"
#include "tokenguard/request.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/usage.hpp"

namespace tgbench {

using tokenguard::rules_outcome;

/// 0..8: the standard methods in tokenguard's bit order; 9: any other method.
inline constexpr int method_classes = 10;

[[nodiscard]] inline int method_class(std::uint16_t bit) noexcept {
  return bit == 0 ? 9 : std::countr_zero(bit);
}

[[nodiscard]] inline bool line_applies(const rule_line& l, int cls) noexcept {
  return l.methods == 0 || (cls < 9 && (l.methods & (1U << cls)) != 0);
}

/// Lines a method class selects, deduplicated: groups[group_of[cls]] (or -1: none).
struct method_groups {
  std::array<int, method_classes> group_of{};
  std::vector<std::vector<std::size_t>> groups;

  explicit method_groups(const rule_set_spec& s) {
    std::map<std::vector<std::size_t>, int> seen;
    for (int cls = 0; cls < method_classes; ++cls) {
      std::vector<std::size_t> lines;
      for (std::size_t i = 0; i < s.lines.size(); ++i) {
        if (line_applies(s.lines[i], cls)) lines.push_back(i);
      }
      if (lines.empty()) {
        group_of[static_cast<std::size_t>(cls)] = -1;
        continue;
      }
      auto [it, fresh] = seen.try_emplace(lines, static_cast<int>(groups.size()));
      if (fresh) groups.push_back(lines);
      group_of[static_cast<std::size_t>(cls)] = it->second;
    }
  }
};

/// (a) std::regex, ECMAScript, one per line, regex_match on the subject URL.
class std_regex_engine {
 public:
  static constexpr std::string_view name = "std_regex";

  explicit std_regex_engine(const std::vector<rule_set_spec>& sets) {
    sets_.reserve(sets.size());
    for (const rule_set_spec& s : sets) {
      std::vector<compiled> lines;
      for (const rule_line& l : s.lines) lines.push_back({l.methods, std::regex(l.regex)});
      sets_.push_back(std::move(lines));
    }
  }

  [[nodiscard]] rules_outcome evaluate(std::uint32_t set, std::uint16_t method_bit,
                                       std::string_view url) const noexcept {
    const int cls = method_class(method_bit);
    bool gave_up = false;
    for (const compiled& c : sets_[set]) {
      if (c.methods != 0 && (cls == 9 || (c.methods & (1U << cls)) == 0)) continue;
      try {
        if (std::regex_match(url.begin(), url.end(), c.re)) return rules_outcome::pass;
      } catch (...) {
        gave_up = true;
      }
    }
    return gave_up ? rules_outcome::too_complex : rules_outcome::mismatch;
  }

 private:
  struct compiled {
    std::uint16_t methods;
    std::regex re;
  };
  std::vector<std::vector<compiled>> sets_;
};

/// (b) Boost.Regex one per line, as SPEC 3 defines matching (perl | no_mod_s
/// | no_mod_m, regex_match), with no prefilter and no shape-specific path.
class boost_engine {
 public:
  static constexpr std::string_view name = "boost";

  explicit boost_engine(const std::vector<rule_set_spec>& sets) {
    const auto flags = boost::regex_constants::perl | boost::regex_constants::no_mod_s |
                       boost::regex_constants::no_mod_m;
    sets_.reserve(sets.size());
    for (const rule_set_spec& s : sets) {
      std::vector<compiled> lines;
      for (const rule_line& l : s.lines) lines.push_back({l.methods, boost::regex(l.regex, flags)});
      sets_.push_back(std::move(lines));
    }
  }

  [[nodiscard]] rules_outcome evaluate(std::uint32_t set, std::uint16_t method_bit,
                                       std::string_view url) const noexcept {
    // Boost fills a match_results even when nobody reads it: one per thread
    // keeps the baseline from paying an allocation per line.
    thread_local boost::match_results<const char*> results;
    const int cls = method_class(method_bit);
    bool gave_up = false;
    for (const compiled& c : sets_[set]) {
      if (c.methods != 0 && (cls == 9 || (c.methods & (1U << cls)) == 0)) continue;
      try {
        if (boost::regex_match(url.data(), url.data() + url.size(), results, c.re)) {
          return rules_outcome::pass;
        }
      } catch (...) {
        gave_up = true;
      }
    }
    return gave_up ? rules_outcome::too_complex : rules_outcome::mismatch;
  }

 private:
  struct compiled {
    std::uint16_t methods;
    boost::regex re;
  };
  std::vector<std::vector<compiled>> sets_;
};

/// (c) RE2::Set, anchored at both ends: one set per method group.
class re2_set_engine {
 public:
  static constexpr std::string_view name = "re2_set";

  explicit re2_set_engine(const std::vector<rule_set_spec>& sets) {
    RE2::Options options;
    options.set_log_errors(false);
    sets_.reserve(sets.size());
    for (const rule_set_spec& s : sets) {
      const method_groups g(s);
      per_rule_set r;
      r.group_of = g.group_of;
      for (const auto& lines : g.groups) {
        auto set = std::make_unique<RE2::Set>(options, RE2::ANCHOR_BOTH);
        for (const std::size_t i : lines) {
          std::string error;
          if (set->Add(s.lines[i].regex, &error) < 0) {
            throw std::runtime_error("RE2 refuses " + s.lines[i].regex + ": " + error);
          }
        }
        if (!set->Compile()) throw std::runtime_error("RE2::Set::Compile failed");
        r.sets.push_back(std::move(set));
      }
      sets_.push_back(std::move(r));
    }
  }

  [[nodiscard]] rules_outcome evaluate(std::uint32_t set, std::uint16_t method_bit,
                                       std::string_view url) const noexcept {
    const per_rule_set& r = sets_[set];
    const int group = r.group_of[static_cast<std::size_t>(method_class(method_bit))];
    if (group < 0) return rules_outcome::mismatch;
    return r.sets[static_cast<std::size_t>(group)]->Match(re2::StringPiece(url.data(), url.size()),
                                                          nullptr)
               ? rules_outcome::pass
               : rules_outcome::mismatch;
  }

 private:
  struct per_rule_set {
    std::array<int, method_classes> group_of{};
    std::vector<std::unique_ptr<RE2::Set>> sets;
  };
  std::vector<per_rule_set> sets_;
};

/// (d) Hyperscan block-mode databases, one per method group, each pattern
/// `^(?:regex)$` with HS_FLAG_SINGLEMATCH; the scan stops at the first match.
class hyperscan_engine {
 public:
  static constexpr std::string_view name = "hyperscan";

  explicit hyperscan_engine(const std::vector<rule_set_spec>& sets) {
    sets_.reserve(sets.size());
    for (const rule_set_spec& s : sets) {
      const method_groups g(s);
      per_rule_set r;
      r.group_of = g.group_of;
      for (const auto& lines : g.groups) {
        std::vector<std::string> patterns;
        for (const std::size_t i : lines) patterns.push_back("^(?:" + s.lines[i].regex + ")$");
        std::vector<const char*> expressions;
        std::vector<unsigned> flags(lines.size(), HS_FLAG_SINGLEMATCH);
        std::vector<unsigned> ids;
        for (std::size_t i = 0; i < patterns.size(); ++i) {
          expressions.push_back(patterns[i].c_str());
          ids.push_back(static_cast<unsigned>(i));
        }
        hs_database_t* db = nullptr;
        hs_compile_error_t* error = nullptr;
        if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                             static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &db,
                             &error) != HS_SUCCESS) {
          const std::string message = error != nullptr ? error->message : "unknown error";
          hs_free_compile_error(error);
          throw std::runtime_error("Hyperscan refuses a rule set: " + message);
        }
        if (hs_alloc_scratch(db, &scratch_) != HS_SUCCESS) {
          hs_free_database(db);
          throw std::runtime_error("hs_alloc_scratch failed");
        }
        r.databases.push_back(db);
      }
      sets_.push_back(std::move(r));
    }
  }

  hyperscan_engine(const hyperscan_engine&) = delete;
  hyperscan_engine& operator=(const hyperscan_engine&) = delete;

  ~hyperscan_engine() {
    for (per_rule_set& r : sets_) {
      for (hs_database_t* db : r.databases) hs_free_database(db);
    }
    if (scratch_ != nullptr) hs_free_scratch(scratch_);
  }

  /// One scratch region for every database: the suite decides on one thread.
  [[nodiscard]] rules_outcome evaluate(std::uint32_t set, std::uint16_t method_bit,
                                       std::string_view url) const noexcept {
    const per_rule_set& r = sets_[set];
    const int group = r.group_of[static_cast<std::size_t>(method_class(method_bit))];
    if (group < 0) return rules_outcome::mismatch;
    const hs_error_t e =
        hs_scan(r.databases[static_cast<std::size_t>(group)], url.data(),
                static_cast<unsigned>(url.size()), 0, scratch_, &stop_at_first, nullptr);
    if (e == HS_SCAN_TERMINATED) return rules_outcome::pass;
    return e == HS_SUCCESS ? rules_outcome::mismatch : rules_outcome::too_complex;
  }

 private:
  static int stop_at_first(unsigned, unsigned long long, unsigned long long, unsigned,
                           void*) noexcept {
    return 1;
  }

  struct per_rule_set {
    std::array<int, method_classes> group_of{};
    std::vector<hs_database_t*> databases;
  };
  std::vector<per_rule_set> sets_;
  hs_scratch_t* scratch_ = nullptr;
};

/// A decision as the baselines answer it: the same inline strings that
/// tokenguard::decision carries, so both sides copy the same bytes.
struct bench_decision {
  tokenguard::reason why = tokenguard::reason::malformed_request;
  std::uint8_t user_size = 0, label_size = 0, id_size = 0;
  char user[tokenguard::max_user_bytes];
  char label[tokenguard::max_label_bytes];
  char id[tokenguard::max_label_bytes];
};

/// authorizer::decide with the rules step asked of `Engine`. `set_of_rules`
/// maps the store's rule-set index to the generated rule set it was compiled from.
template <class Engine>
class baseline_authorizer {
 public:
  baseline_authorizer(std::shared_ptr<const tokenguard::store> snapshot,
                      tokenguard::usage_store& usage,
                      const std::vector<std::uint32_t>& set_of_rules, const Engine& engine)
      : snapshot_(std::move(snapshot)),
        usage_(usage),
        set_of_rules_(set_of_rules),
        engine_(engine) {}

  void decide(const tokenguard::request& req, std::int64_t now,
              bench_decision& out) const noexcept {
    out.why = decide_reason(req, now, out);
  }

 private:
  static void copy(char* to, std::uint8_t& size, std::string_view from) noexcept {
    size = static_cast<std::uint8_t>(std::min<std::size_t>(from.size(), 255));
    std::copy_n(from.data(), size, to);
  }

  tokenguard::reason decide_reason(const tokenguard::request& req, std::int64_t now,
                                   bench_decision& out) const noexcept {
    using tokenguard::reason;
    namespace detail = tokenguard::detail;
    thread_local std::vector<char> scratch(lim_.max_url_bytes + 1);

    if (!detail::is_http_token(req.method) || req.url.size() > lim_.max_url_bytes) {
      return reason::malformed_request;
    }
    detail::canonical_url url;
    if (!detail::canonicalize_url(req.url, scratch.data(), scratch.size(), url)) {
      return reason::malformed_request;
    }

    char credential_bytes[tokenguard::max_authorization_bytes];
    tokenguard::credentials cred;
    switch (tokenguard::parse_authorization(req.authorization, tokenguard::auth_mode::basic,
                                            credential_bytes, cred)) {
      case tokenguard::credentials_status::ok:
        break;
      case tokenguard::credentials_status::missing:
        return reason::missing_credentials;
      case tokenguard::credentials_status::malformed:
        return reason::malformed_credentials;
      case tokenguard::credentials_status::scheme_not_enabled:
        return reason::scheme_not_enabled;
    }

    const tokenguard::store& current = *snapshot_;
    const tokenguard::store::entry* token = current.find(detail::sha256(cred.secret));
    if (token == nullptr) return reason::unknown_token;
    copy(out.label, out.label_size, current.label(*token));
    copy(out.id, out.id_size, current.id(*token));

    const std::string_view bound_user = current.user(*token);
    std::string_view identity;
    if (!bound_user.empty()) {
      if (cred.scheme == tokenguard::auth_scheme::basic &&
          !detail::iequals_ascii(cred.user, bound_user)) {
        return reason::user_mismatch;
      }
      identity = bound_user;
    } else if (cred.scheme == tokenguard::auth_scheme::bearer) {
      return reason::user_required;
    } else if (cred.user.empty() || cred.user.size() > tokenguard::max_user_bytes) {
      return reason::malformed_credentials;
    } else {
      identity = cred.user;
    }

    if (token->valid_until != 0 && now >= token->valid_until) return reason::expired;

    const auto client = resolver_.resolve(req.peer, req.forwarded_for);
    if (const tokenguard::ip_allow_list* ips = current.ips(*token); ips != nullptr) {
      if (!client || !ips->contains(*client)) return reason::ip_not_allowed;
    }

    if (token->rules != tokenguard::store::none) {
      switch (engine_.evaluate(set_of_rules_[token->rules], detail::method_bit(req.method),
                               url.subject)) {
        case rules_outcome::pass:
          break;
        case rules_outcome::mismatch:
          return reason::limit_to_mismatch;
        case rules_outcome::too_complex:
          return reason::rule_too_complex;
      }
    }

    if (!usage_.try_consume(token->slot, token->usage_limit)) return reason::usage_exhausted;
    copy(out.user, out.user_size, identity);
    return reason::allowed;
  }

  std::shared_ptr<const tokenguard::store> snapshot_;
  tokenguard::usage_store& usage_;
  const std::vector<std::uint32_t>& set_of_rules_;
  const Engine& engine_;
  tokenguard::client_address_resolver resolver_;
  tokenguard::limits lim_;
};

}  // namespace tgbench

#endif  // TOKENGUARD_BENCH_BASELINES_HPP
