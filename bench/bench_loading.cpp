// Loading a generated store file of 1e6 tokens (as a gateway does, read a
// block at a time and loaded, or read whole and then parsed with
// parse_store_json and compiled with store::compile as the management
// service does), and the memory a loaded token keeps resident.
//
// The store: tokens of the seed's shape (authorKey, userKey, label, user,
// secret, id, limitTo, ip, times, counter), 1 000 distinct 4-line rule sets,
// half of the tokens with an address list. It is about 515 MB, over the
// default max_store_bytes of 256 MiB, so these benchmarks raise that limit.

#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"
#include "tokenguard/detail/durable_file.hpp"
#include "tokenguard/tokenguard.hpp"

// Headers from before 2026-12-03 (bench/run.sh --rev; bench/CMakeLists.txt
// sets this to 0) read the gateway's file whole and then load the text.
#ifndef TOKENGUARD_BENCH_LOADS_FILES
#define TOKENGUARD_BENCH_LOADS_FILES 1
#endif
#if TOKENGUARD_BENCH_LOADS_FILES
#include "tokenguard/detail/load_file.hpp"
#endif

namespace tgbench {
namespace {

constexpr std::size_t load_tokens = 1'000'000;
constexpr int load_lines = 4;
constexpr int load_sets = 1000;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tokenguard_bench: %s\n", what.c_str());
  std::abort();
}

tokenguard::limits load_limits() {
  tokenguard::limits lim;
  lim.max_store_bytes = std::size_t{1} << 30;
  return lim;
}

/// Written once per run, where TOKENGUARD_BENCH_DIR says (default /tmp).
std::string store_file(bool secure) {
  static std::string written[2];
  std::string& path = written[secure ? 1 : 0];
  if (!path.empty()) return path;
  const char* dir = std::getenv("TOKENGUARD_BENCH_DIR");
  path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/tokenguard-bench-store-" +
         (secure ? "secure" : "plain") + ".json";
  const store_spec spec{load_tokens, load_lines, load_sets, secure};
  const std::string json = make_store_json(spec, make_rule_sets(load_lines, load_sets));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(json.data(), static_cast<std::streamsize>(json.size()));
  if (!out) fail("cannot write " + path);
  return path;
}

/// The reader the service and the CLI use: the text keeps simdjson's padding.
/// (A std::string before 2026-12-03, a simdjson::padded_string since; `auto`
/// so that bench/run.sh --rev still measures the older readers.)
auto read_file(const std::string& path, const tokenguard::limits& lim) {
  auto text = tokenguard::detail::read_file_if_exists(path, lim.max_store_bytes);
  if (!text || !text.value()) fail("cannot read " + path);
  return std::move(*text.value());
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

/// Wall-clock time, in seconds.
double wall_seconds() noexcept {
  return seconds(std::chrono::steady_clock::now().time_since_epoch());
}

/// CPU time of the whole process (every thread, user and system), in
/// seconds. A large store loads on two threads (detail/two_threads.hpp), so
/// the loading thread's own CPU time would leave half of the work out; on a
/// shared machine, other processes' load stretches the wall clock but not
/// this.
double process_cpu_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// A store file loaded as the CLI and the server load it. Since 2026-12-03
/// one call reads and loads the file (a file of one token a line a block at
/// a time, inside the parse), and `read_end` stays where it was; before, the
/// whole text was read first, and `read_end` is the end of that read; the
/// text then goes to `text`, to be freed outside the timed load, as it was.
std::shared_ptr<const tokenguard::store> gateway_load(
    const std::string& path, tokenguard::usage_store& usage, const tokenguard::limits& lim,
    [[maybe_unused]] double& read_end, std::size_t& size,
    [[maybe_unused]] std::shared_ptr<void>& text) {
#if TOKENGUARD_BENCH_LOADS_FILES
  auto opened = tokenguard::detail::open_file_if_exists(path, lim.max_store_bytes);
  if (!opened || !opened.value()) fail("cannot open " + path);
  size = opened.value()->size;
  auto loaded = tokenguard::detail::load_opened_store(*opened.value(), path, usage, lim, false);
#else
  auto json = read_file(path, lim);
  read_end = wall_seconds();
  size = json.size();
  auto loaded = tokenguard::load_padded_store_json(simdjson::padded_string_view(json), usage, lim);
  text = std::make_shared<decltype(json)>(std::move(json));
#endif
  if (!loaded) fail(path + ": " + loaded.message());
  return std::move(loaded.value().snapshot);
}

/// How a store file becomes a snapshot: as a gateway loads it (the CLI and
/// the server: gateway_load above), or through
/// token_records as the management service does (parse_padded_store_json,
/// then store::compile).
enum class load_path : std::uint8_t { gateway, records };

/// Tokens per second from the file to a compiled snapshot, rules included,
/// in wall-clock time; the CPU time of all threads is a counter too.
void bench_load(benchmark::State& state, bool secure, load_path how) {
  const std::string path = store_file(secure);
  const tokenguard::limits lim = load_limits();
  double read_s = 0, parse_s = 0, compile_s = 0, cpu_s = 0;
  std::size_t bytes = 0;
  long long peak = 0;
  for (auto _ : state) {
    // What the load needs at its peak (text, parsed document, tokens,
    // snapshot), beyond what the process held before it.
    trim_heap();
    const bool peak_known = reset_peak_resident();
    const long long resident_before = resident_bytes();
    const double cpu0 = process_cpu_seconds();
    const double t0 = wall_seconds();
    double t1 = t0;  // the end of the read, when the load does not read as it goes
    double t2 = t0;  // the end of the parse, when it is timed apart from the compile
    std::size_t size = 0;
    std::shared_ptr<void> text;
    tokenguard::local_usage usage;
    std::shared_ptr<const tokenguard::store> snapshot;
    if (how == load_path::gateway) {
      snapshot = gateway_load(path, usage, lim, t1, size, text);
      t2 = t1;
    } else {
      const auto json = read_file(path, lim);
      t1 = wall_seconds();
      size = json.size();
      auto parsed = tokenguard::parse_padded_store_json(simdjson::padded_string_view(json), lim);
      t2 = wall_seconds();
      if (!parsed) fail(path + ": " + parsed.message());
      auto compiled = tokenguard::store::compile(parsed.value().tokens, usage, lim);
      if (!compiled) fail(path + ": " + compiled.message());
      snapshot = std::move(compiled).value();
    }
    const double t3 = wall_seconds();
    const double cpu1 = process_cpu_seconds();
    if (snapshot->size() != load_tokens || snapshot->distinct_rule_sets() != load_sets) {
      fail(path + ": the generated store does not load whole");
    }
    if (peak_known) peak = std::max(peak, peak_resident_bytes() - resident_before);
    state.SetIterationTime(t3 - t0);
    read_s += t1 - t0;
    parse_s += t2 - t1;
    compile_s += t3 - t2;
    cpu_s += cpu1 - cpu0;
    bytes = size;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["tokens/s"] =
      static_cast<double>(load_tokens) * n / (read_s + parse_s + compile_s);
  state.counters["cpu_ms"] = 1e3 * cpu_s / n;
  state.counters["read_ms"] = 1e3 * read_s / n;
  state.counters["load_ms"] = 1e3 * (parse_s + compile_s) / n;
  if (how == load_path::records) {
    state.counters["parse_ms"] = 1e3 * parse_s / n;
    state.counters["compile_ms"] = 1e3 * compile_s / n;
  }
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
  if (peak > 0) state.counters["peak_MB"] = static_cast<double>(peak) / 1e6;
}

/// Resident bytes per loaded token beyond the shared rule sets: RSS (and
/// live heap) after compiling 1e6 tokens and freeing everything but the
/// snapshot and the usage table, minus what the 1 000 rule sets alone take.
/// The live heap counts operator new only: the token table, the rule arena
/// and the large usage chunks are mappings of their own
/// (detail/huge_pages.hpp), seen in the RSS alone.
void bench_memory(benchmark::State& state) {
  for (auto _ : state) {
    const auto sets = make_rule_sets(load_lines, load_sets);

    // The shared part: the distinct rule sets, compiled on their own.
    trim_heap();
    const long long rss0 = resident_bytes();
    const long long heap0 = live_heap_bytes();
    const double t0 = process_cpu_seconds();
    std::vector<tokenguard::rule_set> rules;
    rules.reserve(sets.size());
    for (const rule_set_spec& s : sets) {
      auto compiled = tokenguard::rule_set::compile(s.limit_to);
      if (!compiled) fail("rule set: " + compiled.message());
      rules.push_back(std::move(compiled).value());
    }
    const double t1 = process_cpu_seconds();
    trim_heap();
    const long long rules_rss = resident_bytes() - rss0;
    const long long rules_heap = live_heap_bytes() - heap0;
    rules.clear();
    rules.shrink_to_fit();

    // The store, with everything a loader leaves behind freed.
    trim_heap();
    const long long rss_before = resident_bytes();
    const long long heap_before = live_heap_bytes();
    auto usage = std::make_shared<tokenguard::local_usage>();
    std::shared_ptr<const tokenguard::store> snapshot;
    {
      auto records = make_records({load_tokens, load_lines, load_sets, false}, sets);
      auto compiled = tokenguard::store::compile(records, *usage);
      if (!compiled) fail("store: " + compiled.message());
      snapshot = compiled.value();
    }
    trim_heap();
    const long long store_rss = resident_bytes() - rss_before;
    const long long store_heap = live_heap_bytes() - heap_before;
    benchmark::DoNotOptimize(snapshot);

    const double n = static_cast<double>(load_tokens);
    state.counters["rss_bytes/token"] = static_cast<double>(store_rss - rules_rss) / n;
    state.counters["heap_bytes/token"] = static_cast<double>(store_heap - rules_heap) / n;
    state.counters["rules_heap_bytes/set"] = static_cast<double>(rules_heap) / load_sets;
    state.counters["rule_compile_us/set"] = 1e6 * (t1 - t0) / load_sets;
    state.counters["entry_bytes"] = sizeof(tokenguard::store::entry);
  }
}

}  // namespace

void register_loading_benchmarks() {
  benchmark::RegisterBenchmark("memory/tokens:1e6/lines:4/sets:1000", bench_memory)
      ->Iterations(1)
      ->Repetitions(1)
      ->Unit(benchmark::kMillisecond);
  // load/...: what a gateway does, and what issue 5's loading target
  // measures; load_records/...: the management service's way, for comparison.
  for (const load_path how : {load_path::gateway, load_path::records}) {
    for (const bool secure : {false, true}) {
      const std::string name = std::string(how == load_path::gateway ? "load" : "load_records") +
                               "/tokens:1e6/lines:4/sets:1000/" + (secure ? "secure" : "plain");
      benchmark::RegisterBenchmark(
          name.c_str(), [secure, how](benchmark::State& s) { bench_load(s, secure, how); })
          ->Iterations(1)
          ->Repetitions(3)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace tgbench
