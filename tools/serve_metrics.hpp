#ifndef TOKENGUARD_TOOLS_SERVE_METRICS_HPP
#define TOKENGUARD_TOOLS_SERVE_METRICS_HPP

// Counters of `tokenguard serve`, rendered as Prometheus text (SPEC 12).
// Request threads only add to relaxed atomics in a per-thread shard, so that
// counting does not make the worker threads fight over one cache line.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_response.hpp"
#include "tokenguard/reason.hpp"

namespace tokenguard::cli {

enum class decision_source : std::uint8_t { check, management };

/// Upper bounds of the check latency histogram, in microseconds.
inline constexpr std::array<std::uint64_t, 14> latency_bounds_us = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000};

/// HTTP statuses counted one by one; anything else counts as "other".
inline constexpr std::array<int, 13> counted_statuses = {200, 400, 401, 403, 404, 405, 408,
                                                         409, 413, 431, 500, 503, 0};

class server_metrics {
  static constexpr std::size_t shard_count = 16;

  struct alignas(64) shard {
    std::array<std::array<std::atomic<std::uint64_t>, reason_count>, 2> decisions{};
    std::array<std::atomic<std::uint64_t>, latency_bounds_us.size() + 1> latency_buckets{};
    std::atomic<std::uint64_t> latency_sum_ns{0};
    std::array<std::atomic<std::uint64_t>, counted_statuses.size()> responses{};
    std::atomic<std::uint64_t> connections{0};
  };

 public:
  void count_decision(decision_source source, reason why) noexcept {
    mine().decisions[static_cast<std::size_t>(source)][static_cast<std::size_t>(why)].fetch_add(
        1, std::memory_order_relaxed);
  }

  void observe_check_latency(std::uint64_t nanoseconds) noexcept {
    const std::uint64_t us = nanoseconds / 1000;
    std::size_t bucket = 0;
    while (bucket < latency_bounds_us.size() && us >= latency_bounds_us[bucket]) ++bucket;
    shard& s = mine();
    s.latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    s.latency_sum_ns.fetch_add(nanoseconds, std::memory_order_relaxed);
  }

  void count_response(int status) noexcept {
    std::size_t i = 0;
    while (i + 1 < counted_statuses.size() && counted_statuses[i] != status) ++i;
    mine().responses[i].fetch_add(1, std::memory_order_relaxed);
  }

  void count_connection() noexcept { mine().connections.fetch_add(1, std::memory_order_relaxed); }
  void set_open_connections(std::size_t n) noexcept { open_connections_.store(n); }

  void count_reload(bool ok) noexcept { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1); }
  void count_flush_failure() noexcept { flush_failures_.fetch_add(1); }

  struct store_figures {
    bool loaded = false;
    std::size_t tokens = 0;
    std::size_t problems = 0;
    std::size_t rule_sets = 0;
  };

  [[nodiscard]] std::string render(const store_figures& store) const {
    std::string out;
    out.reserve(8192);
    auto number = [&out](std::uint64_t n) { http::append_number(out, n); };

    out +=
        "# HELP tokenguard_decisions_total Decisions of the authorizer, by caller and reason.\n"
        "# TYPE tokenguard_decisions_total counter\n";
    for (std::size_t source = 0; source < 2; ++source) {
      for (std::size_t r = 0; r < reason_count; ++r) {
        std::uint64_t n = 0;
        for (const shard& s : shards_) n += s.decisions[source][r].load(std::memory_order_relaxed);
        out += "tokenguard_decisions_total{source=\"";
        out += source == 0 ? "check" : "management";
        out += "\",reason=\"";
        out += to_string(static_cast<reason>(r));
        out += "\"} ";
        number(n);
        out += '\n';
      }
    }

    out +=
        "# HELP tokenguard_check_duration_seconds Time to answer one /check request, from the "
        "end of its header to its answer being queued.\n"
        "# TYPE tokenguard_check_duration_seconds histogram\n";
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    for (const shard& s : shards_) sum_ns += s.latency_sum_ns.load(std::memory_order_relaxed);
    for (std::size_t b = 0; b <= latency_bounds_us.size(); ++b) {
      for (const shard& s : shards_)
        cumulative += s.latency_buckets[b].load(std::memory_order_relaxed);
      out += "tokenguard_check_duration_seconds_bucket{le=\"";
      if (b < latency_bounds_us.size()) {
        append_seconds(out, latency_bounds_us[b] * 1000);
      } else {
        out += "+Inf";
      }
      out += "\"} ";
      number(cumulative);
      out += '\n';
    }
    out += "tokenguard_check_duration_seconds_sum ";
    append_seconds(out, sum_ns);
    out += "\ntokenguard_check_duration_seconds_count ";
    number(cumulative);
    out += '\n';

    out +=
        "# HELP tokenguard_http_responses_total HTTP responses sent, by status (0: other).\n"
        "# TYPE tokenguard_http_responses_total counter\n";
    for (std::size_t i = 0; i < counted_statuses.size(); ++i) {
      std::uint64_t n = 0;
      for (const shard& s : shards_) n += s.responses[i].load(std::memory_order_relaxed);
      out += "tokenguard_http_responses_total{code=\"";
      number(static_cast<std::uint64_t>(counted_statuses[i]));
      out += "\"} ";
      number(n);
      out += '\n';
    }

    std::uint64_t connections = 0;
    for (const shard& s : shards_) connections += s.connections.load(std::memory_order_relaxed);
    out +=
        "# HELP tokenguard_connections_total Connections accepted.\n"
        "# TYPE tokenguard_connections_total counter\n"
        "tokenguard_connections_total ";
    number(connections);
    out +=
        "\n# HELP tokenguard_connections_open Connections open now.\n"
        "# TYPE tokenguard_connections_open gauge\n"
        "tokenguard_connections_open ";
    number(open_connections_.load());

    out +=
        "\n# HELP tokenguard_store_loaded 1 once a store is loaded and serving.\n"
        "# TYPE tokenguard_store_loaded gauge\n"
        "tokenguard_store_loaded ";
    number(store.loaded ? 1 : 0);
    out +=
        "\n# HELP tokenguard_store_tokens Tokens that can authenticate in the current store.\n"
        "# TYPE tokenguard_store_tokens gauge\n"
        "tokenguard_store_tokens ";
    number(store.tokens);
    out +=
        "\n# HELP tokenguard_store_problems Tokens of the current store that failed to load.\n"
        "# TYPE tokenguard_store_problems gauge\n"
        "tokenguard_store_problems ";
    number(store.problems);
    out +=
        "\n# HELP tokenguard_store_rule_sets Distinct compiled limitTo rule sets.\n"
        "# TYPE tokenguard_store_rule_sets gauge\n"
        "tokenguard_store_rule_sets ";
    number(store.rule_sets);
    out +=
        "\n# HELP tokenguard_reloads_total Store reloads (SIGHUP in --read-only), by result.\n"
        "# TYPE tokenguard_reloads_total counter\n"
        "tokenguard_reloads_total{result=\"ok\"} ";
    number(reloads_ok_.load());
    out += "\ntokenguard_reloads_total{result=\"error\"} ";
    number(reloads_failed_.load());
    out +=
        "\n# HELP tokenguard_flush_failures_total Failed writes of usage counters to the store "
        "file.\n"
        "# TYPE tokenguard_flush_failures_total counter\n"
        "tokenguard_flush_failures_total ";
    number(flush_failures_.load());
    out += '\n';
    return out;
  }

 private:
  /// Seconds with nanosecond precision, without floating point.
  static void append_seconds(std::string& out, std::uint64_t ns) {
    http::append_number(out, ns / 1'000'000'000);
    const std::uint64_t frac = ns % 1'000'000'000;
    if (frac == 0) return;
    char digits[10] = "000000000";
    std::uint64_t f = frac;
    for (int i = 8; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + f % 10);
      f /= 10;
    }
    std::size_t len = 9;
    while (len > 0 && digits[len - 1] == '0') --len;
    out.push_back('.');
    out.append(digits, len);
  }

  shard& mine() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1) % shard_count;
    return shards_[index];
  }

  std::array<shard, shard_count> shards_{};
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_failed_{0};
  std::atomic<std::uint64_t> flush_failures_{0};
};

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_SERVE_METRICS_HPP
