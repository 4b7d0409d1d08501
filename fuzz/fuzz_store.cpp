// Fuzz target: the store loader (SPEC 8), parse_store_json + store::compile,
// and the gateway's one-pass load_store_json against them.
//
// Input: a store document, raw bytes (JSON, or not).
// Invariants:
// - neither call throws; a refused document has a non-empty message;
// - every token is either loaded or listed as a problem with its own label;
// - a token that loaded is findable by its secret's digest (token or
//   tokenSha256), and the entry found is that token's, with its label, user
//   and id; the digest of a token with a problem finds nothing at all (fail
//   closed: a secret shared with a broken token is ambiguous, SPEC 8);
// - no problem message and no strict-mode error mentions a secret. Checked by
//   a counterfactual: compile again with every secret changed (each byte
//   XOR 1, digests re-derived so that equal secrets stay equal); a message
//   that contained a secret must still contain it, i.e. the text came from
//   elsewhere (a label, a regex), not from the secret;
// - load_store_json (views into the parsed document, no records) refuses
//   what the two steps refuse with the same message, and otherwise builds the
//   same snapshot: the same problems in the same order, the same entries
//   (record, strings, expiry, limit, rule set and address list) and the same
//   usage counts, in both modes;
// - the chunked parse of a store of one token a line (with chunks of a size
//   taken from the input's length, so that inputs split in many places)
//   accepts only what parse_store_json accepts, and reads the same fields;
//   read as a file in one part in small pieces, it gives the same answer and
//   tokens; read as a file cut in two parts parsed on two threads, it accepts
//   only what parse_store_json accepts, with the same tokens.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "string_reader.hpp"
#include "tokenguard/detail/line_framed_store.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/load.hpp"
#include "tokenguard/store.hpp"

namespace {

namespace detail = tokenguard::detail;
using tokenguard::fuzz::show;

/// Tokens of a chunked parse are those of the whole parse, which accepts the text.
void expect_whole_parse(std::string_view json, const detail::line_framed_tokens& framed,
                        const tokenguard::result<tokenguard::parsed_store>& parsed,
                        const std::string& how) {
  TOKENGUARD_FUZZ_CHECK(parsed.ok(), show(json) + ": " + how + ", but the whole parse says " +
                                         show(parsed.ok() ? "" : parsed.message()));
  const auto& records = parsed.value().tokens;
  TOKENGUARD_FUZZ_CHECK(framed.tokens.size() == records.size(),
                        show(json) + ": " + how + " " + std::to_string(framed.tokens.size()) +
                            " tokens, the whole parse " + std::to_string(records.size()));
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const auto& v = framed.tokens[i];
    const bool same = v.label == r.label && v.user == r.user && v.id == r.id &&
                      v.limit_to == r.limit_to && v.ip == r.ip && v.token == r.token &&
                      v.token_sha256 == r.token_sha256 && v.valid_until == r.valid_until &&
                      v.counter == r.counter && v.usage_limit == r.usage_limit &&
                      v.load_error == r.load_error;
    TOKENGUARD_FUZZ_CHECK(same,
                          show(json) + ": " + how + ", token " + std::to_string(i) + " differs");
  }
  const auto& settings = parsed.value().settings;
  TOKENGUARD_FUZZ_CHECK(
      framed.settings.secure_mode == settings.secure_mode &&
          framed.settings.collect_usage_details == settings.collect_usage_details &&
          framed.settings.add_audit_record == settings.add_audit_record,
      show(json) + ": " + how + ", the settings differ");
}

/// The chunked parse agrees with the records: nothing where they refuse,
/// else the same tokens.
void check_line_framed(std::string_view json, const tokenguard::limits& lim,
                       const tokenguard::result<tokenguard::parsed_store>& parsed) {
  const std::size_t chunk = 1 + json.size() % 97;
  const auto framed = [&] {
    try {
      return detail::parse_line_framed_store(json, lim, chunk);
    } catch (...) {
      tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "parse_line_framed_store threw",
                                         show(json));
    }
  }();
  // The same parse read as a file in one part (never cut in two), in pieces
  // of a size taken from the input too: the same answer, the same tokens.
  const std::size_t piece = 1 + json.size() % 13;
  const auto read =
      detail::parse_line_framed_file(tokenguard::fuzz::string_reader(json, piece), json.size(), lim,
                                     std::numeric_limits<std::size_t>::max(), chunk, 64);
  TOKENGUARD_FUZZ_CHECK(read.has_value() == framed.has_value(),
                        show(json) + ": read in pieces and in memory disagree");
  if (!framed) return;
  TOKENGUARD_FUZZ_CHECK(read->tokens.size() == framed->tokens.size(),
                        show(json) + ": read in pieces, another count of tokens");
  for (std::size_t i = 0; i < framed->tokens.size(); ++i) {
    const auto& a = framed->tokens[i];
    const auto& b = read->tokens[i];
    TOKENGUARD_FUZZ_CHECK(a.label == b.label && a.token == b.token && a.limit_to == b.limit_to &&
                              a.id == b.id && a.ip == b.ip && a.counter == b.counter,
                          show(json) + ": read in pieces, token " + std::to_string(i) + " differs");
  }
  expect_whole_parse(json, *framed, parsed, "framed");
}

/// The same file read in two parts on two threads, cut wherever it can be:
/// when it answers, the whole parse accepts the text and reads the same
/// tokens (where the cut falls inside an object written over lines, the
/// parts refuse, and the text is left to the whole parse).
void check_cut_in_two(std::string_view json, const tokenguard::limits& lim,
                      const tokenguard::result<tokenguard::parsed_store>& parsed) {
  const auto cut =
      detail::parse_line_framed_file(tokenguard::fuzz::string_reader(json), json.size(), lim, 0,
                                     1 + json.size() % 89, 1 + json.size() % 61);
  if (cut) expect_whole_parse(json, *cut, parsed, "cut in two");
}

/// The digest a token is known by: its secret's, else its tokenSha256 (SPEC 8).
std::optional<detail::sha256_digest> digest_of(const tokenguard::token_record& r) {
  if (r.token && !r.token->empty()) return detail::sha256(*r.token);
  if (r.token_sha256) return detail::parse_hex_digest(*r.token_sha256);
  return std::nullopt;
}

std::string flip(std::string_view secret) {
  std::string out(secret);
  for (char& c : out) c = static_cast<char>(c ^ 0x01);
  return out;
}

/// The same records with every secret flipped and digests that named a secret re-derived.
std::vector<tokenguard::token_record> counterfactual(
    const std::vector<tokenguard::token_record>& records) {
  std::map<detail::sha256_digest, detail::sha256_digest> renamed;
  for (const auto& r : records) {
    if (r.token) renamed[detail::sha256(*r.token)] = detail::sha256(flip(*r.token));
  }
  std::vector<tokenguard::token_record> out = records;
  for (auto& r : out) {
    if (r.token_sha256) {
      if (const auto d = detail::parse_hex_digest(*r.token_sha256); d && renamed.count(*d) != 0) {
        r.token_sha256 = detail::to_hex(renamed[*d]);
      }
    }
    if (r.token) r.token = flip(*r.token);
  }
  return out;
}

std::map<std::size_t, std::string> problems_by_index(const tokenguard::store& s) {
  std::map<std::size_t, std::string> out;
  for (const auto& p : s.problems()) out[p.index] = p.message;
  return out;
}

void check_no_secret(const std::vector<tokenguard::token_record>& records, std::string_view message,
                     std::string_view counterfactual_message, std::string_view what) {
  for (const auto& r : records) {
    if (!r.token || r.token->empty()) continue;
    const std::string& secret = *r.token;
    if (message.find(secret) == std::string_view::npos) continue;
    TOKENGUARD_FUZZ_CHECK(counterfactual_message.find(secret) != std::string_view::npos,
                          std::string(what) + " " + show(message) + " contains the secret " +
                              show(secret) + " of token " + show(r.label) +
                              "; with the secret changed it reads " + show(counterfactual_message));
  }
}

/// load_store_json on the same text: the same refusal or the same snapshot as
/// parsing into records and compiling them.
void check_gateway_load(
    std::string_view json, const tokenguard::limits& lim, bool strict,
    const tokenguard::result<tokenguard::parsed_store>& parsed,
    const tokenguard::result<std::shared_ptr<const tokenguard::store>>& two_step,
    const tokenguard::usage_store& two_step_usage) {
  tokenguard::local_usage usage;
  const simdjson::padded_string padded(json);
  const auto loaded = [&] {
    try {
      return tokenguard::load_padded_store_json(padded, usage, lim, strict);
    } catch (...) {
      tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "load_store_json threw", show(json));
    }
  }();
  const std::string mode = strict ? " (strict)" : "";
  const std::string expected =
      !parsed ? parsed.message() : (!two_step ? two_step.message() : std::string());
  if (!expected.empty() || !loaded) {
    TOKENGUARD_FUZZ_CHECK(!loaded && loaded.message() == expected,
                          show(json) + mode + ": the two steps say " + show(expected) +
                              ", load_store_json " + show(loaded ? "" : loaded.message()));
    return;
  }
  const tokenguard::store& a = *two_step.value();
  const tokenguard::store& b = *loaded.value().snapshot;
  TOKENGUARD_FUZZ_CHECK(loaded.value().tokens == parsed.value().tokens.size() &&
                            a.size() == b.size() && a.problems().size() == b.problems().size() &&
                            a.distinct_rule_sets() == b.distinct_rule_sets(),
                        show(json) + mode + ": load_store_json loaded " + std::to_string(b.size()) +
                            " tokens of " + std::to_string(loaded.value().tokens) +
                            ", the two steps " + std::to_string(a.size()));
  for (std::size_t i = 0; i < a.problems().size(); ++i) {
    const auto& p = a.problems()[i];
    const auto& q = b.problems()[i];
    TOKENGUARD_FUZZ_CHECK(p.index == q.index && p.label == q.label && p.message == q.message,
                          show(json) + mode + ": problem " + std::to_string(i) + " " +
                              show(p.message) + " vs " + show(q.message));
  }
  for (const auto& e : a.entries()) {
    const tokenguard::store::entry* f = b.find(e.digest);
    TOKENGUARD_FUZZ_CHECK(f != nullptr && f->record == e.record && b.label(*f) == a.label(e) &&
                              b.user(*f) == a.user(e) && b.id(*f) == a.id(e) &&
                              f->valid_until == e.valid_until && f->usage_limit == e.usage_limit &&
                              (f->rules == e.rules) && (f->ips == e.ips) &&
                              usage.read(f->slot).count == two_step_usage.read(e.slot).count,
                          show(json) + mode + ": token " + std::to_string(e.record) + " " +
                              show(a.label(e)) + " differs in the one-pass load");
    if (e.rules != tokenguard::store::none) {
      TOKENGUARD_FUZZ_CHECK(b.rules(*f)->lines().size() == a.rules(e)->lines().size(),
                            show(json) + mode + ": token " + std::to_string(e.record) +
                                " has another rule set in the one-pass load");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  tokenguard::limits lim;
  lim.max_tokens = 64;  // keeps one input cheap; the check is the same
  auto parsed = [&] {
    try {
      return tokenguard::parse_store_json(json, lim);
    } catch (...) {
      tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "parse_store_json threw", show(json));
    }
  }();
  check_line_framed(json, lim, parsed);
  check_cut_in_two(json, lim, parsed);
  if (!parsed) {
    TOKENGUARD_FUZZ_CHECK(!parsed.message().empty(), show(json));
    const tokenguard::local_usage no_usage;
    check_gateway_load(json, lim, false, parsed, tokenguard::error{""}, no_usage);
    return 0;
  }
  const std::vector<tokenguard::token_record>& records = parsed.value().tokens;
  const auto altered = counterfactual(records);

  auto compile = [&](const std::vector<tokenguard::token_record>& rs, bool strict,
                     tokenguard::usage_store& usage) {
    try {
      return tokenguard::store::compile(rs, usage, lim, strict);
    } catch (...) {
      tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "store::compile threw", show(json));
    }
  };
  tokenguard::local_usage usage;
  const auto compiled = compile(records, false, usage);
  check_gateway_load(json, lim, false, parsed, compiled, usage);
  if (!compiled) {
    TOKENGUARD_FUZZ_CHECK(!compiled.message().empty(), show(json));
    return 0;
  }
  const tokenguard::store& s = *compiled.value();
  const auto problems = problems_by_index(s);
  TOKENGUARD_FUZZ_CHECK(
      s.size() + problems.size() == records.size() && problems.size() == s.problems().size(),
      show(json) + ": " + std::to_string(s.size()) + " loaded, " + std::to_string(problems.size()) +
          " problems, " + std::to_string(records.size()) + " records");
  for (const auto& p : s.problems()) {
    TOKENGUARD_FUZZ_CHECK(
        p.index < records.size() && p.label == records[p.index].label && !p.message.empty(),
        show(json) + ": problem " + std::to_string(p.index) + " " + show(p.label));
  }

  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const auto digest = digest_of(r);
    const bool loaded = problems.count(i) == 0;
    const tokenguard::store::entry* e = digest ? s.find(*digest) : nullptr;
    if (loaded) {
      TOKENGUARD_FUZZ_CHECK(digest && e != nullptr && e->record == i && s.label(*e) == r.label &&
                                s.user(*e) == r.user && s.id(*e) == r.id,
                            show(json) + ": token " + std::to_string(i) + " " + show(r.label) +
                                " loaded but its digest does not find it");
    } else {
      // Fail closed: a secret held by a token with a problem opens nothing, even when another
      // token holds it too (both are then ambiguous).
      TOKENGUARD_FUZZ_CHECK(e == nullptr, show(json) + ": token " + std::to_string(i) + " " +
                                              show(r.label) +
                                              " has a problem but its digest finds token " +
                                              std::to_string(e == nullptr ? 0 : e->record));
    }
  }

  // Secrets never appear in what is reported.
  tokenguard::local_usage altered_usage;
  const auto altered_compiled = compile(altered, false, altered_usage);
  TOKENGUARD_FUZZ_CHECK(altered_compiled.ok(), show(json));
  const auto altered_problems = problems_by_index(*altered_compiled.value());
  for (const auto& [index, message] : problems) {
    const auto it = altered_problems.find(index);
    check_no_secret(records, message, it == altered_problems.end() ? "" : it->second,
                    "problem of token " + std::to_string(index));
  }
  tokenguard::local_usage strict_usage;
  const auto strict = compile(records, true, strict_usage);
  check_gateway_load(json, lim, true, parsed, strict, strict_usage);
  if (!strict) {
    tokenguard::local_usage altered_strict_usage;
    const auto altered_strict = compile(altered, true, altered_strict_usage);
    check_no_secret(records, strict.message(), altered_strict ? "" : altered_strict.message(),
                    "strict error");
  } else {
    TOKENGUARD_FUZZ_CHECK(problems.empty(), show(json) + ": strict compile accepted problems");
  }
  return 0;
}
