// Fuzz target: the limitTo compiler (SPEC 3), tokenguard::rule_set::compile,
// and rule evaluation on a request derived from the input.
//
// Input (text, one field a line, the last field is the rest):
//   method \n url \n query \n body \n limitTo...
// The url is canonicalised as the authorizer would (SPEC 4); a malformed one
// is only compiled against, not evaluated.
// Invariants:
// - compile never throws (load-time code returns result<T>), and is
//   deterministic: compiling twice gives the same lines, or the same error;
// - an error names the line ("line N: ...") or the limit it broke;
// - a compiled set keeps within max_limit_to_lines, and no line is empty;
// - evaluate is deterministic: twice on the same request gives the same
//   outcome, also from a fresh context (the matching budget counts engine
//   steps, not time);
// - a text's folded bigrams (the line screen's, AVX2 where the processor has
//   it) are the fold of its bigrams computed byte by byte.
// The slowest evaluate() is printed at exit, for the campaign report.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "tokenguard/detail/bigrams.hpp"
#include "tokenguard/detail/canonical_url.hpp"
#include "tokenguard/rules.hpp"

namespace {

using tokenguard::fuzz::show;

/// The slowest evaluate() seen, printed at exit for the campaign report.
struct figures {
  std::uint64_t evaluations = 0;
  double slowest_evaluation_ms = 0;
  ~figures() {
    if (evaluations == 0) return;
    std::fprintf(stderr, "fuzz_rules figures: evaluations %llu, slowest evaluation %.3f ms\n",
                 static_cast<unsigned long long>(evaluations), slowest_evaluation_ms);
  }
};
figures stats;

const char* name(tokenguard::rules_outcome o) {
  switch (o) {
    case tokenguard::rules_outcome::pass:
      return "pass";
    case tokenguard::rules_outcome::mismatch:
      return "mismatch";
    case tokenguard::rules_outcome::too_complex:
      return "too_complex";
  }
  return "?";
}

tokenguard::result<tokenguard::rule_set> compile_or_die(std::string_view limit_to,
                                                        const tokenguard::limits& lim) {
  try {
    return tokenguard::rule_set::compile(limit_to, lim);
  } catch (const std::exception& e) {
    tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "rule_set::compile threw",
                                       "limitTo " + show(limit_to) + ": " + e.what());
  } catch (...) {
    tokenguard::fuzz::invariant_failed(__FILE__, __LINE__, "rule_set::compile threw",
                                       "limitTo " + show(limit_to));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto fields = tokenguard::fuzz::split_fields(input, 4);
  const std::string method(fields[0]);
  const std::string url(fields[1]);
  const std::string query(fields[2]);
  const std::string body(fields[3]);
  const std::string limit_to(fields[4]);

  for (const std::string_view text : {std::string_view(url), std::string_view(body)}) {
    namespace d = tokenguard::detail;
    TOKENGUARD_FUZZ_CHECK(d::folded_text_bigrams(text) == d::fold(d::text_bigrams(text)),
                          "folded bigrams of " + show(text));
  }

  tokenguard::limits lim;
  lim.max_body_bytes = 4096;
  const auto first = compile_or_die(limit_to, lim);
  const auto second = compile_or_die(limit_to, lim);
  TOKENGUARD_FUZZ_CHECK(first.ok() == second.ok(), "limitTo " + show(limit_to));
  if (!first) {
    const std::string& why = first.message();
    TOKENGUARD_FUZZ_CHECK(why == second.message(), "limitTo " + show(limit_to) + ": " + show(why) +
                                                       " then " + show(second.message()));
    TOKENGUARD_FUZZ_CHECK(
        why.starts_with("line ") || why.find("(max_") != std::string::npos,
        "limitTo " + show(limit_to) + ": error names no line or limit: " + show(why));
    return 0;
  }
  const tokenguard::rule_set& rules = first.value();
  TOKENGUARD_FUZZ_CHECK(rules.lines().size() == second.value().lines().size() &&
                            rules.lines().size() <= lim.max_limit_to_lines,
                        "limitTo " + show(limit_to));
  std::size_t previous_number = 0;
  for (const auto& line : rules.lines()) {
    TOKENGUARD_FUZZ_CHECK(!line.text.empty() && line.number > previous_number,
                          "limitTo " + show(limit_to) + ": line " + std::to_string(line.number) +
                              " " + show(line.text));
    previous_number = line.number;
  }

  // A request derived from the input, canonicalised as decide() does.
  if (!tokenguard::detail::is_http_token(method)) return 0;
  const std::unique_ptr<char[]> buffer(new char[url.size() + 1]);
  tokenguard::detail::canonical_url canonical;
  if (!tokenguard::detail::canonicalize_url(url, buffer.get(), url.size() + 1, canonical)) {
    return 0;
  }
  const tokenguard::detail::rule_subject subject{method,
                                                 tokenguard::detail::method_bit(method),
                                                 canonical.subject,
                                                 query,
                                                 body,
                                                 lim.max_body_bytes};
  constexpr std::int64_t budget_units = tokenguard::detail::default_match_budget_units;
  tokenguard::detail::rule_context ctx(subject, budget_units);
  const auto started = std::chrono::steady_clock::now();
  const auto once = rules.evaluate(ctx);
  ++stats.evaluations;
  stats.slowest_evaluation_ms =
      std::max(stats.slowest_evaluation_ms,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                   .count());
  const std::int64_t spent_once = budget_units - ctx.budget().remaining;
  // Again on the same context, whose parsed query and body are now cached, so
  // that the second evaluation may cost less, never more. The budget is per
  // decision, so it starts over (a first evaluation that spent most of it
  // would otherwise make the second give up).
  ctx.budget() = tokenguard::detail::match_budget{budget_units};
  const auto twice = rules.evaluate(ctx);
  const std::int64_t spent_twice = budget_units - ctx.budget().remaining;
  // On fresh contexts, with this set and with the same text compiled again:
  // the same outcome for the same charge, whatever this thread evaluated
  // before (the engine's per-thread state must not leak into a decision).
  tokenguard::detail::rule_context fresh(subject, budget_units);
  const auto fresh_once = rules.evaluate(fresh);
  const std::int64_t spent_fresh = budget_units - fresh.budget().remaining;
  const tokenguard::rule_set& other_set = second.value();
  tokenguard::detail::rule_context other_ctx(subject, budget_units);
  const auto other = other_set.evaluate(other_ctx);
  const std::int64_t spent_other = budget_units - other_ctx.budget().remaining;
  const std::string request = "limitTo " + show(limit_to) + " on " + show(method) + " " +
                              show(canonical.subject) + " query " + show(query) + " body " +
                              show(body);
  TOKENGUARD_FUZZ_CHECK(spent_fresh == spent_once && spent_other == spent_once,
                        request + ": charged " + std::to_string(spent_once) + ", fresh " +
                            std::to_string(spent_fresh) + ", recompiled " +
                            std::to_string(spent_other) + " budget units");
  TOKENGUARD_FUZZ_CHECK(spent_twice <= spent_once,
                        request + ": charged " + std::to_string(spent_once) + " then " +
                            std::to_string(spent_twice) + " with the cached facts");
  // A first evaluation that gave up may finish the second time, on the cached facts.
  const bool twice_agrees =
      twice == once || (once == tokenguard::rules_outcome::too_complex && spent_twice < spent_once);
  TOKENGUARD_FUZZ_CHECK(twice_agrees && once == fresh_once && once == other,
                        request + ": " + name(once) + ", " + name(twice) + ", fresh " +
                            name(fresh_once) + ", recompiled " + name(other));
  return 0;
}
