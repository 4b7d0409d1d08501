// Fuzz target: the whole decision (SPEC 7), differential. authorizer::decide
// is compared with a reference decision written here from the SPEC: a linear
// scan of the tokens with a constant-time compare instead of the digest
// table, and for limitTo the plain Boost path: each regex's Java text is
// translated (detail::translate_java_regex) and compiled here as a
// boost::wregex, and matched with boost::regex_match over code points, with
// no narrow/ASCII fast path, no prefilter and no budget. The fast paths must
// agree with it.
//
// Input (text, one field a line, the last field is the rest):
//   options \n method \n url \n authorization \n peer \n x-forwarded-for \n body \n tokens...
// options: first byte % 3 picks the auth mode (basic, bearer, both); a 'T'
//   anywhere trusts 10.0.0.0/8 and 2001:db8::/32 as proxies.
// authorization: "B<i>:<user>" is Basic user:<secret of token i>, "R<i>" is
//   Bearer <secret of token i>, "X<i>" is Bearer with that secret's last byte
//   changed; anything else is the header as written.
// tokens: up to 4 lines "user TAB ip TAB validUntil TAB usageLimit TAB limitTo";
//   limitTo lines are separated by <br> or a backslash-n, as SPEC 3 allows.
// Each token i gets label "t<i>", id "id-<i>" and a secret "secret-<i>-k3y".
//
// Invariants:
// - the store's problems are exactly the tokens whose limitTo or ip does not
//   compile (or whose other fields are out of range);
// - decide twice (usage counts carry) gives the reference's reason each time,
//   and on allow the reference's identity, and the label once the token is known;
// - limitTo: where the reference gives a definite answer (pass or mismatch),
//   decide gives the same, or denies with rule_too_complex (its budget ran
//   out, which is a deny); where the reference gave up, decide may answer;
// - per line: every limitTo line of every token, compiled alone, evaluated on
//   the request, agrees with the reference line by line (same rule).
// Figures (lines compared, reference gave up, budget denials, the slowest
// decide() call) are printed at exit, for the campaign report.

#include <algorithm>
#include <boost/regex.hpp>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tokenguard/authorizer.hpp"
#include "tokenguard/credentials.hpp"
#include "tokenguard/detail/base64.hpp"
#include "tokenguard/detail/canonical_url.hpp"
#include "tokenguard/detail/form_query.hpp"
#include "tokenguard/detail/java_regex.hpp"
#include "tokenguard/detail/json_body.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/store.hpp"

namespace {

namespace tg = tokenguard;
namespace detail = tokenguard::detail;
using tg::reason;
using tg::fuzz::show;

constexpr std::int64_t now_ms = 1'700'000'000'000;
constexpr std::size_t max_tokens = 4;

/// Figures for the campaign report.
struct figures {
  std::uint64_t inputs = 0, decisions = 0, lines_compared = 0, reference_gave_up = 0,
                engine_gave_up_where_reference_answered = 0, reference_compile_failed = 0;
  double slowest_decision_ms = 0;
  ~figures() {
    if (inputs == 0) return;
    std::fprintf(stderr,
                 "fuzz_decision figures: inputs %llu, decisions %llu, limitTo lines compared %llu, "
                 "reference gave up %llu, engine gave up where the reference answered %llu, "
                 "reference could not compile %llu, slowest decision %.3f ms\n",
                 static_cast<unsigned long long>(inputs),
                 static_cast<unsigned long long>(decisions),
                 static_cast<unsigned long long>(lines_compared),
                 static_cast<unsigned long long>(reference_gave_up),
                 static_cast<unsigned long long>(engine_gave_up_where_reference_answered),
                 static_cast<unsigned long long>(reference_compile_failed), slowest_decision_ms);
  }
};
figures stats;
/// TOKENGUARD_FUZZ_VERBOSE=1 prints each decision (for checking what a seed reaches).
const bool verbose = std::getenv("TOKENGUARD_FUZZ_VERBOSE") != nullptr;

std::string secret_of(std::size_t i) { return "secret-" + std::to_string(i) + "-k3y"; }

const char* name(detail::match_result r) {
  switch (r) {
    case detail::match_result::match:
      return "match";
    case detail::match_result::no_match:
      return "no_match";
    case detail::match_result::gave_up:
      return "gave_up";
  }
  return "?";
}

template <class Int>
Int parse_number(std::string_view text) {
  Int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return value;
}

/// The plain Boost path: Java text -> translation -> boost::wregex, match over code points.
class reference_regexes {
 public:
  detail::match_result match(const std::string& java, std::string_view utf8_text) {
    auto it = cache_.find(java);
    if (it == cache_.end()) {
      std::optional<boost::wregex> compiled;
      detail::java_regex_translation translation;
      std::string why;
      if (detail::translate_java_regex(java, translation, why)) {
        try {
          compiled.emplace(translation.pattern, detail::java_regex_flags);
        } catch (...) {
          ++stats.reference_compile_failed;
        }
      }
      it = cache_.emplace(java, std::move(compiled)).first;
    }
    if (!it->second) return detail::match_result::gave_up;
    std::wstring wide;
    if (!tg::fuzz::utf8_to_wide(utf8_text, wide)) return detail::match_result::no_match;
    try {
      return boost::regex_match(wide, *it->second) ? detail::match_result::match
                                                   : detail::match_result::no_match;
    } catch (...) {
      return detail::match_result::gave_up;  // error_complexity, error_stack
    }
  }

 private:
  std::map<std::string, std::optional<boost::wregex>> cache_;
};

bool reference_method_allowed(const tg::rule_set::line& l, std::string_view method) {
  if (l.any_method) return true;
  for (std::size_t i = 0; i < detail::known_methods.size(); ++i) {
    if ((l.method_mask & (1U << i)) != 0 &&
        detail::iequals_ascii(method, detail::known_methods[i])) {
      return true;
    }
  }
  for (const std::string& m : l.other_methods) {
    if (detail::iequals_ascii(m, method)) return true;
  }
  return false;
}

/// One line of SPEC 3 matching, on the plain Boost path.
detail::match_result reference_line(const tg::rule_set::line& l, const detail::rule_subject& s,
                                    reference_regexes& regexes) {
  using detail::match_result;
  if (!reference_method_allowed(l, s.method)) return match_result::no_match;
  if (l.url) {
    const match_result r = regexes.match(l.url->source(), s.url);
    if (r != match_result::match) return r;
  }
  for (const auto& c : l.clauses) {
    match_result r = match_result::match;
    if (c.type == tg::rule_set::clause::kind::query_param) {
      if (!detail::query_decodes(s.query)) return match_result::no_match;
      std::vector<char> scratch(s.query.size() + 1);
      bool found = false;
      const bool walked =
          detail::for_each_query_param(s.query, scratch.data(), scratch.size(),
                                       [&](std::string_view name, std::string_view value) {
                                         if (name != c.name) return true;
                                         found = true;
                                         r = regexes.match(c.value.source(), value);
                                         return r == match_result::match;
                                       });
      if (r != match_result::match) return r;
      if (!walked || !found) return match_result::no_match;
    } else {
      detail::json_body body(s.body, s.max_body_bytes);
      std::string_view text;
      if (!body.text_at(*c.path, text)) return match_result::no_match;
      r = regexes.match(c.value.source(), std::string(text));
      if (r != match_result::match) return r;
    }
  }
  return match_result::match;
}

tg::rules_outcome reference_rules(const tg::rule_set& rules, const detail::rule_subject& s,
                                  reference_regexes& regexes) {
  if (rules.unrestricted()) return tg::rules_outcome::pass;
  bool gave_up = false;
  for (const auto& l : rules.lines()) {
    switch (reference_line(l, s, regexes)) {
      case detail::match_result::match:
        return tg::rules_outcome::pass;
      case detail::match_result::gave_up:
        gave_up = true;
        break;
      case detail::match_result::no_match:
        break;
    }
  }
  return gave_up ? tg::rules_outcome::too_complex : tg::rules_outcome::mismatch;
}

struct token_spec {
  tg::token_record record;
  bool loads = true;
  std::optional<tg::rule_set> rules;     ///< when limitTo compiles and restricts
  std::optional<tg::ip_allow_list> ips;  ///< when ip parses and restricts
};

std::string build_authorization(std::string_view dsl, std::size_t tokens) {
  if (dsl.size() >= 2 && dsl[1] >= '0' && dsl[1] < static_cast<char>('0' + max_tokens)) {
    const auto i = static_cast<std::size_t>(dsl[1] - '0');
    if (i < tokens || i == tokens) {  // tokens: one past the last is an unknown secret
      std::string secret = secret_of(i);
      if (dsl[0] == 'B' && dsl.size() >= 3 && dsl[2] == ':') {
        return "Basic " + detail::base64_encode(std::string(dsl.substr(3)) + ":" + secret);
      }
      if (dsl[0] == 'R') return "Bearer " + secret;
      if (dsl[0] == 'X') {
        secret.back() = static_cast<char>(secret.back() ^ 0x01);
        return "Bearer " + secret;
      }
    }
  }
  return std::string(dsl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ++stats.inputs;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto fields = tg::fuzz::split_fields(input, 7);
  const std::string_view options_field = fields[0];
  const std::string method(fields[1]);
  const std::string url(fields[2]);
  const std::string body(fields[6]);
  const std::string forwarded_for(fields[5]);

  tg::authorizer_options options;
  options.mode = options_field.empty()
                     ? tg::auth_mode::basic
                     : static_cast<tg::auth_mode>(static_cast<unsigned char>(options_field[0]) % 3);
  if (options_field.find('T') != std::string_view::npos) {
    options.trusted_proxies.push_back(tg::ip_network::parse("10.0.0.0/8").value());
    options.trusted_proxies.push_back(tg::ip_network::parse("2001:db8::/32").value());
  }
  // Small enough that the reference (plain Boost, no budget) stays fast on any
  // rule the screen admits; the engine's budget is exercised all the same.
  options.lim.max_body_bytes = 1024;
  options.lim.max_url_bytes = 1024;
  const tg::limits& lim = options.lim;

  // The tokens.
  std::vector<token_spec> tokens;
  {
    std::string_view rest = fields[7];
    while (!rest.empty() && tokens.size() < max_tokens) {
      const std::size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      const auto parts = [&] {
        std::vector<std::string_view> out;
        std::string_view l = line;
        for (int k = 0; k < 4; ++k) {
          const std::size_t tab = l.find('\t');
          out.push_back(l.substr(0, tab));
          l = tab == std::string_view::npos ? std::string_view() : l.substr(tab + 1);
        }
        out.push_back(l);
        return out;
      }();
      token_spec t;
      const std::size_t i = tokens.size();
      t.record.label = "t" + std::to_string(i);
      t.record.id = "id-" + std::to_string(i);
      t.record.token = secret_of(i);
      t.record.user = std::string(parts[0]);
      t.record.ip = std::string(parts[1]);
      t.record.valid_until = parse_number<std::int64_t>(parts[2]);
      t.record.usage_limit = parse_number<std::uint64_t>(parts[3]);
      t.record.limit_to = std::string(parts[4]);
      if (t.record.user.size() > tg::max_user_bytes || t.record.valid_until < 0) t.loads = false;
      if (!t.record.limit_to.empty()) {
        auto compiled = tg::rule_set::compile(t.record.limit_to, lim);
        if (!compiled) {
          t.loads = false;
        } else if (!compiled.value().unrestricted()) {
          t.rules.emplace(std::move(compiled).value());
        }
      }
      if (!t.record.ip.empty()) {
        auto parsed = tg::ip_allow_list::parse(t.record.ip);
        if (!parsed) {
          t.loads = false;
        } else if (!parsed.value().allows_any()) {
          t.ips.emplace(std::move(parsed).value());
        }
      }
      tokens.push_back(std::move(t));
    }
  }
  std::vector<tg::token_record> records;
  records.reserve(tokens.size());
  for (const auto& t : tokens) records.push_back(t.record);

  auto usage = std::make_shared<tg::local_usage>();
  tg::authorizer auth(options, usage);
  auto compiled = tg::store::compile(records, *usage, lim);
  TOKENGUARD_FUZZ_CHECK(compiled.ok(), compiled.ok() ? std::string() : compiled.message());
  {
    std::vector<bool> problem(tokens.size(), false);
    for (const auto& p : compiled.value()->problems()) problem[p.index] = true;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      TOKENGUARD_FUZZ_CHECK(problem[i] == !tokens[i].loads,
                            "token " + std::to_string(i) + " limitTo " +
                                show(tokens[i].record.limit_to) + " ip " +
                                show(tokens[i].record.ip) +
                                (problem[i] ? ": the store refused it" : ": the store loaded it"));
    }
  }
  auth.replace_store(compiled.value());

  const std::string authorization = build_authorization(fields[3], tokens.size());
  const auto peer = tg::ip_address::parse(fields[4]).value_or(*tg::ip_address::parse("192.0.2.1"));
  const tg::request req{method, url, peer, forwarded_for, authorization, body};
  // Failure messages are built only on failure: the fuzzer runs this millions of times.
  const auto where = [&] {
    return "method " + show(method) + " url " + show(url) + " authorization " +
           show(authorization) + " peer " + show(fields[4]) + " xff " + show(forwarded_for) +
           " body " + show(body);
  };

  // Reference, steps 1-6 (SPEC 7), and the rule subject.
  reference_regexes regexes;
  std::optional<reason> early;
  std::size_t token_index = 0;
  bool token_known = false;
  std::string identity;
  const std::unique_ptr<char[]> url_buffer(new char[url.size() + 1]);
  detail::canonical_url canonical;
  const bool request_ok =
      detail::is_http_token(method) && url.size() <= lim.max_url_bytes &&
      detail::canonicalize_url(url, url_buffer.get(), url.size() + 1, canonical);
  const detail::rule_subject subject{
      method, detail::method_bit(method), canonical.subject, canonical.query,
      body,   lim.max_body_bytes};
  if (!request_ok) {
    early = reason::malformed_request;
  } else {
    const std::unique_ptr<char[]> scratch(new char[tg::max_authorization_bytes]);
    tg::credentials cred;
    switch (tg::parse_authorization(authorization, options.mode, scratch.get(), cred)) {
      case tg::credentials_status::ok:
        break;
      case tg::credentials_status::missing:
        early = reason::missing_credentials;
        break;
      case tg::credentials_status::malformed:
        early = reason::malformed_credentials;
        break;
      case tg::credentials_status::scheme_not_enabled:
        early = reason::scheme_not_enabled;
        break;
    }
    if (!early) {
      std::optional<std::size_t> found;
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i].loads && tg::constant_time_equal(cred.secret, *tokens[i].record.token)) {
          found = i;
        }
      }
      if (!found) {
        early = reason::unknown_token;
      } else {
        token_index = *found;
        token_known = true;
        const token_spec& t = tokens[token_index];
        if (!t.record.user.empty()) {
          if (cred.scheme == tg::auth_scheme::basic &&
              !detail::iequals_ascii(cred.user, t.record.user)) {
            early = reason::user_mismatch;
          }
          identity = t.record.user;
        } else if (cred.scheme == tg::auth_scheme::bearer) {
          early = reason::user_required;
        } else if (cred.user.empty() || cred.user.size() > tg::max_user_bytes) {
          early = reason::malformed_credentials;
        } else {
          identity = std::string(cred.user);
        }
        if (!early && t.record.valid_until != 0 && now_ms >= t.record.valid_until) {
          early = reason::expired;
        }
        if (!early && t.ips) {
          const tg::client_address_resolver resolver(options.trusted_proxies);
          const auto client = resolver.resolve(peer, forwarded_for);
          if (!client || !t.ips->contains(*client)) early = reason::ip_not_allowed;
        }
      }
    }
  }

  // Step 7 on the plain Boost path, then the decisions.
  std::optional<tg::rules_outcome> expected_rules;
  if (!early) {
    const token_spec& t = tokens[token_index];
    expected_rules =
        t.rules ? reference_rules(*t.rules, subject, regexes) : tg::rules_outcome::pass;
  }
  std::uint64_t count = 0;
  for (int round = 0; round < 2; ++round) {
    ++stats.decisions;
    const auto started = std::chrono::steady_clock::now();
    const tg::decision d = auth.decide(req, now_ms);
    stats.slowest_decision_ms = std::max(
        stats.slowest_decision_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count());
    if (verbose) {
      std::fprintf(stderr, "  decision %d: %s (reference %s)\n", round + 1,
                   std::string(tg::to_string(d.why())).c_str(),
                   early ? std::string(tg::to_string(*early)).c_str() : "steps 1-6 pass");
    }
    const auto at = [&] {
      return where() + " (decision " + std::to_string(round + 1) + "): got " +
             std::string(tg::to_string(d.why()));
    };
    if (early) {
      TOKENGUARD_FUZZ_CHECK(d.why() == *early,
                            at() + ", reference " + std::string(tg::to_string(*early)));
      TOKENGUARD_FUZZ_CHECK(
          d.token_known() == token_known &&
              d.label() == (token_known ? tokens[token_index].record.label : ""),
          at() + ": token known " + std::to_string(d.token_known()) + " label " + show(d.label()));
      TOKENGUARD_FUZZ_CHECK(d.user().empty(), at() + ": user on a deny " + show(d.user()));
      continue;
    }
    tg::rules_outcome actual_rules = tg::rules_outcome::pass;
    switch (d.why()) {
      case reason::allowed:
      case reason::usage_exhausted:
        break;
      case reason::limit_to_mismatch:
        actual_rules = tg::rules_outcome::mismatch;
        break;
      case reason::rule_too_complex:
        actual_rules = tg::rules_outcome::too_complex;
        break;
      default:
        TOKENGUARD_FUZZ_CHECK(false, at() + ", the reference passed steps 1-6");
    }
    if (*expected_rules == tg::rules_outcome::too_complex) {
      ++stats.reference_gave_up;
    } else if (actual_rules == tg::rules_outcome::too_complex) {
      ++stats.engine_gave_up_where_reference_answered;
    } else {
      TOKENGUARD_FUZZ_CHECK(actual_rules == *expected_rules,
                            at() + ", the plain Boost path says " +
                                (*expected_rules == tg::rules_outcome::pass ? "pass" : "mismatch") +
                                " for limitTo " + show(tokens[token_index].record.limit_to) +
                                " on subject " + show(canonical.subject));
    }
    TOKENGUARD_FUZZ_CHECK(d.label() == tokens[token_index].record.label,
                          at() + ": label " + show(d.label()));
    if (actual_rules != tg::rules_outcome::pass) continue;
    const std::uint64_t limit = tokens[token_index].record.usage_limit;
    const reason expected = limit == 0 || count < limit ? reason::allowed : reason::usage_exhausted;
    TOKENGUARD_FUZZ_CHECK(d.why() == expected,
                          at() + ", reference " + std::string(tg::to_string(expected)));
    if (expected == reason::allowed) {
      ++count;
      TOKENGUARD_FUZZ_CHECK(d.user() == identity,
                            at() + ": user " + show(d.user()) + ", reference " + show(identity));
    }
  }

  // Every line of every token, alone, against the plain Boost path.
  if (request_ok) {
    for (const token_spec& t : tokens) {
      if (!t.rules) continue;
      for (const auto& l : t.rules->lines()) {
        const auto alone = tg::rule_set::compile(l.text, lim);
        TOKENGUARD_FUZZ_CHECK(alone.ok() && alone.value().lines().size() == 1,
                              "line " + show(l.text) + " does not compile alone");
        detail::rule_context ctx(subject);
        const tg::rules_outcome actual = alone.value().evaluate(ctx);
        const detail::match_result expected = reference_line(l, subject, regexes);
        ++stats.lines_compared;
        if (expected == detail::match_result::gave_up) {
          ++stats.reference_gave_up;
          continue;
        }
        if (actual == tg::rules_outcome::too_complex) {
          ++stats.engine_gave_up_where_reference_answered;
          continue;
        }
        const bool actual_match = actual == tg::rules_outcome::pass;
        TOKENGUARD_FUZZ_CHECK(
            actual_match == (expected == detail::match_result::match),
            "line " + show(l.text) + " on " + show(method) + " " + show(canonical.subject) +
                " query " + show(canonical.query) + " body " + show(body) + ": engine " +
                (actual_match ? "match" : "no_match") + ", plain Boost path " + name(expected));
      }
    }
  }
  return 0;
}
