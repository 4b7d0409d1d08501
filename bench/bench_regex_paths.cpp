// The three ways a rule regex reaches a decision (regex.hpp), side by side on
// the seed's rules and on a rule the prefilter cannot decide alone:
//   prefilter  - the glob decides (no engine run), or rejects early;
//   narrow     - Boost over the bytes (exact for ASCII text);
//   reference  - Boost over code points, no fast path (what SPEC 3 defines).
// And what a decision costs when the matching budget runs out (issue 6).

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "tokenguard/detail/regex.hpp"
#include "tokenguard/rules.hpp"

namespace {

using tokenguard::rule_set;
using tokenguard::detail::compiled_regex;
using tokenguard::detail::match_budget;
using tokenguard::detail::method_bit;
using tokenguard::detail::rule_context;
using tokenguard::detail::rule_subject;

/// 80 bytes, as in bench/support.hpp.
std::string url_of(std::string_view path) {
  std::string url = "https://jira.example.com" + std::string(path);
  while (url.size() < 80) url += "/1";
  return url;
}

const std::string kAllow = url_of("/rest/api/2/issue/KANBAN-100/comment");
const std::string kDeny = url_of("/rest/api/2/issue/KANBAN-101/comment");

constexpr const char* kSeedRule = ".*/rest/api/2/issue/KANBAN-100/comment.*";
/// Not a glob: the prefilter only checks what it must contain, the engine decides.
constexpr const char* kEngineRule = ".*/rest/api/2/issue/(?:KANBAN|SCRUM)-\\d+/comment\\b.*";

void run_regex(benchmark::State& state, const char* java, bool fast, const std::string& url) {
  auto re = compiled_regex::compile(java, /*need_wide=*/false, fast);
  if (!re.ok()) {
    state.SkipWithError(re.message().c_str());
    return;
  }
  for (auto _ : state) {
    match_budget budget;
    benchmark::DoNotOptimize(re.value().match(url, budget));
  }
}

void BM_Regex_SeedRule_Prefilter_Allow(benchmark::State& s) {
  run_regex(s, kSeedRule, true, kAllow);
}
void BM_Regex_SeedRule_Prefilter_Deny(benchmark::State& s) { run_regex(s, kSeedRule, true, kDeny); }
void BM_Regex_SeedRule_Reference_Allow(benchmark::State& s) {
  run_regex(s, kSeedRule, false, kAllow);
}
void BM_Regex_SeedRule_Reference_Deny(benchmark::State& s) {
  run_regex(s, kSeedRule, false, kDeny);
}
void BM_Regex_EngineRule_Narrow_Allow(benchmark::State& s) {
  run_regex(s, kEngineRule, true, kAllow);
}
void BM_Regex_EngineRule_Prefilter_Deny(benchmark::State& s) {
  run_regex(s, kEngineRule, true, url_of("/rest/api/2/project/KANBAN"));
}
void BM_Regex_EngineRule_Reference_Allow(benchmark::State& s) {
  run_regex(s, kEngineRule, false, kAllow);
}

/// The seed's kind of limitTo: 4 lines, 2 for POST, the matching one last.
constexpr const char* kSeedLimitTo =
    "[get].*/rest/api/2/search.*\n"
    "[post].*/rest/api/2/issue/SCRUM-[1-2]{1}/comment.*\n"
    "[get,put].*/rest/api/2/issue/KANBAN-100.*\n"
    "[post].*/rest/api/2/issue/KANBAN-100/comment.*";

void run_rules(benchmark::State& state, const char* limit_to, const std::string& url) {
  auto rules = rule_set::compile(limit_to);
  if (!rules.ok()) {
    state.SkipWithError(rules.message().c_str());
    return;
  }
  const rule_subject subject{"POST", method_bit("POST"), url, "", "", std::size_t{1} << 20};
  for (auto _ : state) {
    rule_context ctx(subject);
    benchmark::DoNotOptimize(rules.value().evaluate(ctx));
  }
}

void BM_Rules_Seed4Lines_Allow(benchmark::State& s) { run_rules(s, kSeedLimitTo, kAllow); }
void BM_Rules_Seed4Lines_Deny(benchmark::State& s) { run_rules(s, kSeedLimitTo, kDeny); }

/// The worst the budget lets through: six overlapping stars over an 8 KiB path.
void BM_Rules_BudgetExhausted_8KiB(benchmark::State& s) {
  const std::string url = "/" + std::string(8000, 'a') + "!91";
  auto rules = rule_set::compile("/[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[0-9]1");
  const rule_subject subject{"GET", method_bit("GET"), url, "", "", std::size_t{1} << 20};
  for (auto _ : s) {
    rule_context ctx(subject);
    benchmark::DoNotOptimize(rules.value().evaluate(ctx));
  }
}

BENCHMARK(BM_Regex_SeedRule_Prefilter_Allow);
BENCHMARK(BM_Regex_SeedRule_Prefilter_Deny);
BENCHMARK(BM_Regex_SeedRule_Reference_Allow);
BENCHMARK(BM_Regex_SeedRule_Reference_Deny);
BENCHMARK(BM_Regex_EngineRule_Narrow_Allow);
BENCHMARK(BM_Regex_EngineRule_Prefilter_Deny);
BENCHMARK(BM_Regex_EngineRule_Reference_Allow);
BENCHMARK(BM_Rules_Seed4Lines_Allow);
BENCHMARK(BM_Rules_Seed4Lines_Deny);
BENCHMARK(BM_Rules_BudgetExhausted_8KiB)->Unit(benchmark::kMillisecond);

}  // namespace
