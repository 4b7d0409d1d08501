// The whole decision, tokenguard::authorizer::decide, on generated stores,
// next to the same decision with the rules step done by each baseline engine.
//
// Names: decide/tokens:<1e3|1e6>/lines:<n>/sets:<n>/<allow|deny>/<plain|secure>/<engine>;
// decide_threads/.../threads:<1|2>: one authorizer deciding on that many threads at once.
// Each iteration decides one request of a pool of generated requests (POST,
// 80-byte URL, Basic credentials, a random token of the store); counters:
// ns/decision (CPU time of the deciding thread), wall_ns/decision, and
// allocs/decision (must be 0 for tokenguard).

#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baselines.hpp"
#include "support.hpp"
#include "tokenguard/tokenguard.hpp"

namespace tgbench {
namespace {

enum class engine_id { tokenguard, boost, re2_set, hyperscan, std_regex };

constexpr std::string_view engine_name(engine_id e) {
  switch (e) {
    case engine_id::tokenguard:
      return "tokenguard";
    case engine_id::boost:
      return boost_engine::name;
    case engine_id::re2_set:
      return re2_set_engine::name;
    case engine_id::hyperscan:
      return hyperscan_engine::name;
    case engine_id::std_regex:
      return std_regex_engine::name;
  }
  return "?";
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tokenguard_bench: %s\n", what.c_str());
  std::abort();
}

/// Generated rule sets and the baseline engines compiled from them, shared
/// by every store with the same (lines, sets).
struct family {
  int lines = 0;
  int sets = 0;
  std::vector<rule_set_spec> specs;
  std::unique_ptr<std_regex_engine> std_regex;
  std::unique_ptr<boost_engine> boost;
  std::unique_ptr<re2_set_engine> re2;
  std::unique_ptr<hyperscan_engine> hyperscan;

  family(int l, int s) : lines(l), sets(s), specs(make_rule_sets(l, s)) {
    if (specs.empty()) return;
    std_regex = std::make_unique<std_regex_engine>(specs);
    boost = std::make_unique<boost_engine>(specs);
    re2 = std::make_unique<re2_set_engine>(specs);
    hyperscan = std::make_unique<hyperscan_engine>(specs);
  }
};

struct request_pool {
  std::vector<std::string_view> methods;
  std::vector<std::string> urls;
  std::vector<std::string> authorizations;
  std::vector<tokenguard::request> requests;

  void add(std::string_view method, std::string url, std::string authorization) {
    urls.push_back(std::move(url));
    authorizations.push_back(std::move(authorization));
    methods.push_back(method);
  }
  /// Views are taken once every string is in place (the vectors no longer move).
  void seal() {
    const auto peer = *tokenguard::ip_address::parse(peer_address);
    requests.clear();
    for (std::size_t i = 0; i < urls.size(); ++i) {
      requests.push_back({methods[i], urls[i], peer, {}, authorizations[i], {}});
    }
  }
};

struct world {
  store_spec spec;
  std::shared_ptr<const family> fam;
  std::unique_ptr<tokenguard::authorizer> auth;
  std::shared_ptr<const tokenguard::store> snapshot;
  std::vector<std::uint32_t> set_of_rules;
  request_pool allow, deny;
  std::size_t next_allow = 0, next_deny = 0;
};

bool same_spec(const store_spec& a, const store_spec& b) {
  return a.tokens == b.tokens && a.lines == b.lines && a.sets == b.sets && a.secure == b.secure;
}

std::string describe(const store_spec& s) {
  return std::to_string(s.tokens) + " tokens, " + std::to_string(s.lines) + " lines, " +
         std::to_string(s.sets) + " sets, " + (s.secure ? "secure" : "plain");
}

template <class F>
void for_each_baseline(const world& w, F&& f) {
  const family& fam = *w.fam;
  f(engine_id::boost,
    baseline_authorizer<boost_engine>(w.snapshot, w.auth->usage(), w.set_of_rules, *fam.boost));
  f(engine_id::re2_set,
    baseline_authorizer<re2_set_engine>(w.snapshot, w.auth->usage(), w.set_of_rules, *fam.re2));
  f(engine_id::hyperscan, baseline_authorizer<hyperscan_engine>(w.snapshot, w.auth->usage(),
                                                                w.set_of_rules, *fam.hyperscan));
  f(engine_id::std_regex, baseline_authorizer<std_regex_engine>(w.snapshot, w.auth->usage(),
                                                                w.set_of_rules, *fam.std_regex));
}

/// Every baseline must decide exactly as tokenguard does: on (a sample of)
/// both pools, and on a probe grid of methods x URLs that each line kind and
/// a wrong secret answer differently. Any difference stops the run.
void check_same_decisions(world& w) {
  request_pool probes;
  rng r{99};
  const std::vector<std::string_view> methods = {"GET",    "POST",  "PUT",
                                                 "DELETE", "PATCH", "PROPFIND"};
  for (int n = 0; n < 64; ++n) {
    const std::uint64_t t = r.next() % w.spec.tokens;
    const int k = static_cast<int>(t % static_cast<std::uint64_t>(w.spec.sets));
    const std::string ks = std::to_string(k);
    const std::vector<std::string> urls = {
        allow_url(k),
        deny_url(k),
        make_url("/rest/api/2/issue/SCRUM" + ks + "-1/watchers/"),
        make_url("/rest/api/2/issue/KANBAN" + ks + "-100/comment/"),
        make_url("/rest/api/2/issue/OPS" + ks + "-12/attachments/"),
        make_url("/rest/api/2/issue/OPS" + ks + "-1/worklog/")};
    for (const std::string_view m : methods) {
      for (const std::string& u : urls) probes.add(m, u, basic_header(user_of(t), make_secret(t)));
    }
    probes.add("POST", allow_url(k), basic_header(user_of(t), make_secret(t + 1)));
    probes.add("POST", allow_url(k), basic_header(user_of(t + 1), make_secret(t)));
  }
  probes.seal();

  const std::size_t sample = 4096;
  auto check_pool = [&](const request_pool& pool, std::string_view pool_name,
                        const tokenguard::reason* expected) {
    const std::size_t n = std::min(pool.requests.size(), sample);
    std::vector<tokenguard::reason> reference(n);
    for (std::size_t i = 0; i < n; ++i) {
      reference[i] = w.auth->decide(pool.requests[i], now_ms).why();
      if (expected != nullptr && reference[i] != *expected) {
        fail(describe(w.spec) + ": tokenguard answers " +
             std::string(tokenguard::to_string(reference[i])) + " to " + std::string(pool_name) +
             " request " + std::to_string(i) + ", expected " +
             std::string(tokenguard::to_string(*expected)));
      }
    }
    if (w.spec.lines == 0) return;
    for_each_baseline(w, [&](engine_id e, const auto& baseline) {
      bench_decision d;
      for (std::size_t i = 0; i < n; ++i) {
        baseline.decide(pool.requests[i], now_ms, d);
        if (d.why != reference[i]) {
          fail(describe(w.spec) + ": " + std::string(engine_name(e)) + " answers " +
               std::string(tokenguard::to_string(d.why)) + " where tokenguard answers " +
               std::string(tokenguard::to_string(reference[i])) + " (" + std::string(pool_name) +
               " request " + std::to_string(i) + ": " + std::string(pool.requests[i].method) + " " +
               std::string(pool.requests[i].url) + ")");
        }
      }
    });
  };
  const tokenguard::reason allowed = tokenguard::reason::allowed;
  const tokenguard::reason mismatch = tokenguard::reason::limit_to_mismatch;
  check_pool(w.allow, "allow", &allowed);
  if (w.spec.lines > 0) check_pool(w.deny, "deny", &mismatch);
  check_pool(probes, "probe", nullptr);
}

std::shared_ptr<const family> family_for(int lines, int sets) {
  static std::shared_ptr<const family> cached;
  if (!cached || cached->lines != lines || cached->sets != sets) {
    cached.reset();
    cached = std::make_shared<const family>(lines, sets);
  }
  return cached;
}

world& world_for(const store_spec& spec) {
  static std::unique_ptr<world> current;
  if (current && same_spec(current->spec, spec)) return *current;
  current.reset();  // one store in memory at a time: a 1e6-token one is large

  auto w = std::make_unique<world>();
  w->spec = spec;
  w->fam = family_for(spec.lines, spec.sets);
  w->auth = std::make_unique<tokenguard::authorizer>();
  {
    const auto records = make_records(spec, w->fam->specs);
    auto compiled = tokenguard::store::compile(records, w->auth->usage());
    if (!compiled) fail(describe(spec) + ": " + compiled.message());
    w->snapshot = compiled.value();
  }
  if (!w->snapshot->problems().empty() || w->snapshot->size() != spec.tokens) {
    fail(describe(spec) + ": the generated store does not load whole");
  }
  w->auth->replace_store(w->snapshot);
  w->set_of_rules.assign(w->snapshot->distinct_rule_sets(), 0);
  for (const tokenguard::store::entry& e : w->snapshot->entries()) {
    if (e.rules != tokenguard::store::none) {
      w->set_of_rules[e.rules] =
          static_cast<std::uint32_t>(e.record % static_cast<unsigned>(spec.sets));
    }
  }

  // A small store is hot in cache; a large one is visited at random, with a
  // pool of requests too large to keep its tokens' entries in cache.
  const std::size_t pool = spec.tokens <= 1000 ? 1024 : 65536;
  rng r{spec.tokens * 31 + static_cast<std::uint64_t>(spec.lines)};
  for (std::size_t i = 0; i < pool; ++i) {
    const std::uint64_t t = r.next() % spec.tokens;
    const int k = static_cast<int>(t % static_cast<std::uint64_t>(spec.sets));
    const std::string auth = basic_header(user_of(t), make_secret(t));
    w->allow.add("POST", allow_url(k), auth);
    w->deny.add("POST", deny_url(k), auth);
  }
  w->allow.seal();
  w->deny.seal();
  check_same_decisions(*w);
  current = std::move(w);
  return *current;
}

/// CPU time of this thread: on a shared machine, other processes' load
/// stretches the wall clock but not this.
std::int64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

template <class Decide>
void run_decisions(benchmark::State& state, const request_pool& pool, std::size_t& next,
                   Decide&& decide) {
  const std::size_t n = pool.requests.size();
  std::size_t i = next;
  const long allocations_before = allocations_on_this_thread();
  const std::int64_t cpu_start = thread_cpu_ns();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    decide(pool.requests[i]);
    if (++i == n) i = 0;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const std::int64_t cpu = thread_cpu_ns() - cpu_start;
  const long allocations = allocations_on_this_thread() - allocations_before;
  next = i;
  const double iterations = static_cast<double>(state.iterations());
  // Averaged over the threads of a multi-threaded run (one thread: the value itself).
  const auto per_thread = [](double v) {
    return benchmark::Counter(v, benchmark::Counter::kAvgThreads);
  };
  state.counters["ns/decision"] = per_thread(static_cast<double>(cpu) / iterations);
  state.counters["wall_ns/decision"] = per_thread(
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
      iterations);
  state.counters["allocs/decision"] = per_thread(static_cast<double>(allocations) / iterations);
}

void bench_decide(benchmark::State& state, store_spec spec, bool allow, engine_id engine) {
  world& w = world_for(spec);
  const request_pool& pool = allow ? w.allow : w.deny;
  std::size_t& next = allow ? w.next_allow : w.next_deny;
  if (engine == engine_id::tokenguard) {
    const tokenguard::authorizer& auth = *w.auth;
    run_decisions(state, pool, next, [&auth](const tokenguard::request& req) {
      tokenguard::decision d = auth.decide(req, now_ms);
      benchmark::DoNotOptimize(d);
    });
    return;
  }
  for_each_baseline(w, [&](engine_id e, const auto& baseline) {
    if (e != engine) return;
    run_decisions(state, pool, next, [&baseline](const tokenguard::request& req) {
      bench_decision d;
      baseline.decide(req, now_ms, d);
      benchmark::DoNotOptimize(d);
    });
  });
}

/// One authorizer deciding on several threads at once, as a gateway's workers
/// do: whatever the threads write in common (a counter, a cache line) shows
/// as time next to the one-thread run. Each thread walks the pool from its
/// own place; the store is built once, under a lock.
void bench_decide_threads(benchmark::State& state, store_spec spec) {
  static std::mutex building;
  world* w = nullptr;
  {
    const std::lock_guard<std::mutex> lock(building);
    w = &world_for(spec);
  }
  const request_pool& pool = w->allow;
  std::size_t next = static_cast<std::size_t>(state.thread_index()) *
                     (pool.requests.size() / 2 + 1) % pool.requests.size();
  const tokenguard::authorizer& auth = *w->auth;
  run_decisions(state, pool, next, [&auth](const tokenguard::request& req) {
    tokenguard::decision d = auth.decide(req, now_ms);
    benchmark::DoNotOptimize(d);
  });
}

}  // namespace

/// Registered from main, in an order that builds each store once.
void register_decision_benchmarks() {
  const engine_id engines[] = {engine_id::tokenguard, engine_id::boost, engine_id::re2_set,
                               engine_id::hyperscan, engine_id::std_regex};
  for (const int lines : {0, 1, 4, 32}) {
    for (const int sets : {1, 1000}) {
      if (lines == 0 && sets != 1) continue;
      for (const std::size_t tokens : {std::size_t{1000}, std::size_t{1000000}}) {
        for (const bool secure : {false, true}) {
          for (const bool allow : {true, false}) {
            if (lines == 0 && !allow) continue;  // nothing to deny without rules
            for (const engine_id e : engines) {
              if (lines == 0 && e != engine_id::tokenguard) continue;
              const store_spec spec{tokens, lines, sets, secure};
              const std::string name =
                  "decide/tokens:" + std::string(tokens == 1000 ? "1e3" : "1e6") +
                  "/lines:" + std::to_string(lines) + "/sets:" + std::to_string(sets) + "/" +
                  (allow ? "allow" : "deny") + "/" + (secure ? "secure" : "plain") + "/" +
                  std::string(engine_name(e));
              benchmark::RegisterBenchmark(name.c_str(), [spec, allow, e](benchmark::State& s) {
                bench_decide(s, spec, allow, e);
              });
            }
          }
        }
        if (lines == 4 && sets == 1 && tokens == 1000) {
          const store_spec spec{tokens, lines, sets, false};
          benchmark::RegisterBenchmark(
              "decide_threads/tokens:1e3/lines:4/sets:1/allow/plain/tokenguard",
              [spec](benchmark::State& s) { bench_decide_threads(s, spec); })
              ->Threads(1)
              ->Threads(2);
        }
      }
    }
  }
}

}  // namespace tgbench
