// tokenguard_timing: does the time to look up a presented secret depend on
// how much of it matches a stored one? (SPEC 5, issue 6 item 5.) A
// statistical check, not a unit test: run it on a quiet machine and read the
// verdicts.
//
// For each check, two classes of presented secrets: each differs from a
// stored secret in its FIRST byte, or in its LAST byte. Samples (one sample =
// the time of a batch of calls on inputs of one class) are taken in random
// interleaved order, so drift in the machine's speed hits both classes alike.
// Reported per class: median and 10th/90th percentiles per call; then the
// relative difference of the medians, the difference of the means, and
// Welch's t statistic, both on samples below the pooled 95th percentile
// (dudect's method: |t| > 10 means the classes certainly differ). With tens
// of thousands of samples t also finds differences far too small to matter
// (a hundredth of a nanosecond from where two arrays sit), so a check
// "differs" only when |t| > 10 AND its means differ by more than 0.5 ns per
// call: less than comparing two more bytes costs (the 32-byte control shows
// about 0.3 ns a byte). Control checks that do leak (early-exit byte loops)
// must be detected, or the run had no power to see a leak and says so.
//
// usage: tokenguard_timing [--samples N] [--tokens N] [--seed N]
// exit: 0 all checks take the same time and the control leaks; 1 a check
//       differs; 2 the control was not detected (inconclusive run)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/authorizer.hpp"
#include "tokenguard/detail/base64.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/store.hpp"

namespace {

namespace tg = tokenguard;

constexpr std::size_t secret_bytes = 32;
constexpr double t_threshold = 10.0;
/// The smallest difference of means (ns per call) that counts as a difference.
constexpr double min_effect_ns = 0.5;

/// Keeps results alive so that the timed calls are not optimised away.
volatile std::uint64_t sink = 0;

std::string random_secret(std::mt19937_64& rng) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(secret_bytes, 'a');
  for (char& c : s) c = alphabet[rng() % 36];
  return s;
}

struct stats {
  double median = 0, p10 = 0, p90 = 0;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

stats describe(const std::vector<double>& v) {
  return {percentile(v, 0.5), percentile(v, 0.1), percentile(v, 0.9)};
}

/// Welch's t on the samples of both classes below the pooled `crop` percentile; `effect` is
/// set to the difference of their means.
double welch_t(const std::vector<double>& a, const std::vector<double>& b, double crop,
               double& effect) {
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  const double limit = percentile(pooled, crop);
  auto moments = [limit](const std::vector<double>& v, double& mean, double& var, double& n) {
    double sum = 0, sum2 = 0;
    n = 0;
    for (const double x : v) {
      if (x > limit) continue;
      sum += x;
      sum2 += x * x;
      ++n;
    }
    mean = sum / n;
    var = (sum2 - n * mean * mean) / (n - 1);
  };
  double ma = 0, va = 0, na = 0, mb = 0, vb = 0, nb = 0;
  moments(a, ma, va, na);
  moments(b, mb, vb, nb);
  const double se = std::sqrt(va / na + vb / nb);
  effect = ma - mb;
  return se == 0 ? 0 : (ma - mb) / se;
}

struct outcome {
  std::string name;
  stats first, last;
  double relative = 0, t = 0, effect = 0;
  bool differs = false;
  bool control = false;
};

/// Times `call(class, i)` in batches; class 0 = first byte differs, 1 = last byte differs.
outcome measure(const std::string& name, std::size_t samples, std::size_t batch,
                std::size_t inputs_per_class,
                const std::function<std::uint64_t(int, std::size_t)>& call, bool control,
                std::mt19937_64& rng) {
  std::vector<int> order(2 * samples);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i % 2);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<double> times[2];
  times[0].reserve(samples);
  times[1].reserve(samples);
  std::size_t next[2] = {0, 0};
  // Warm up caches and per-thread scratch buffers.
  for (std::size_t i = 0; i < 2 * inputs_per_class; ++i) {
    sink = sink + call(static_cast<int>(i % 2), i / 2);
  }
  for (const int cls : order) {
    std::uint64_t acc = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < batch; ++k) {
      acc += call(cls, next[cls]);
      next[cls] = next[cls] + 1 == inputs_per_class ? 0 : next[cls] + 1;
    }
    const auto stop = std::chrono::steady_clock::now();
    sink = sink + acc;
    times[cls].push_back(std::chrono::duration<double, std::nano>(stop - start).count() /
                         static_cast<double>(batch));
  }
  outcome out;
  out.name = name;
  out.control = control;
  out.first = describe(times[0]);
  out.last = describe(times[1]);
  out.relative = (out.first.median - out.last.median) / out.last.median;
  out.t = welch_t(times[0], times[1], 0.95, out.effect);
  out.differs = std::fabs(out.t) > t_threshold && std::fabs(out.effect) > min_effect_ns;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t samples = 50000;
  std::size_t token_count = 10000;
  std::uint64_t seed = 20260612;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--samples" && i + 1 < argc) {
      samples = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--tokens" && i + 1 < argc) {
      token_count = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--samples N] [--tokens N] [--seed N]\n", argv[0]);
      return 2;
    }
  }
  if (samples < 100 || token_count < 1) {
    std::fprintf(stderr, "tokenguard_timing: need at least 100 samples and 1 token\n");
    return 2;
  }

  std::mt19937_64 rng(seed);
  // A store of `token_count` tokens with random 32-character secrets.
  std::vector<tg::token_record> records(token_count);
  for (std::size_t i = 0; i < token_count; ++i) {
    records[i].label = "token " + std::to_string(i);
    records[i].id = "id-" + std::to_string(i);
    records[i].user = "user" + std::to_string(i);
    records[i].token = random_secret(rng);
  }
  auto usage = std::make_shared<tg::local_usage>();
  tg::authorizer_options options;
  options.mode = tg::auth_mode::both;
  tg::authorizer auth(options, usage);
  auto compiled = tg::store::compile(records, *usage);
  if (!compiled || !compiled.value()->problems().empty()) {
    std::fprintf(stderr, "tokenguard_timing: the test store did not compile\n");
    return 2;
  }
  const tg::store& store = *compiled.value();
  auth.replace_store(compiled.value());

  // Presented secrets: a stored secret with its first, or its last, byte changed to each of the
  // other characters of the alphabet, shuffled. Many distinct inputs per class, so that the two
  // classes' sets of digests (and so of hash-table probe lengths) have the same mean cost up to
  // noise far below what the t statistic can see.
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  // Inputs live in flat arrays of cache-line-aligned slots, identical in layout for every class,
  // so that no class gets a luckier memory layout than another. Set 2 is a second, independent
  // set of first-byte mismatches: the A/A calibration row compares it with set 0.
  struct alignas(64) secret_slot {
    char bytes[secret_bytes];
  };
  struct alignas(64) header_slot {
    char bytes[119];
    std::uint8_t size;
  };
  static_assert(sizeof(secret_slot) == 64 && sizeof(header_slot) == 128);
  const std::size_t per_class = std::min<std::size_t>(token_count * 35, 262144);
  std::vector<std::size_t> token_of[3];
  std::vector<secret_slot> secrets[3];
  std::vector<header_slot> headers[3];
  for (int set = 0; set < 3; ++set) {
    std::vector<std::pair<std::size_t, std::string>> made;
    for (std::size_t i = 0; made.size() < per_class; i = (i + 1) % token_count) {
      const std::string& s = *records[i].token;
      const std::size_t at = set == 1 ? secret_bytes - 1 : 0;
      std::string changed = s;
      do {
        changed[at] = alphabet[rng() % 36];
      } while (changed[at] == s[at]);
      made.emplace_back(i, std::move(changed));
    }
    std::shuffle(made.begin(), made.end(), rng);
    secrets[set].resize(per_class);
    headers[set].resize(per_class);
    for (std::size_t k = 0; k < per_class; ++k) {
      const auto& [token, secret] = made[k];
      token_of[set].push_back(token);
      std::copy(secret.begin(), secret.end(), secrets[set][k].bytes);
      const std::string header =
          "Basic " + tg::detail::base64_encode(records[token].user + ":" + secret);
      if (header.size() > sizeof(header_slot::bytes)) return 2;
      std::copy(header.begin(), header.end(), headers[set][k].bytes);
      headers[set][k].size = static_cast<std::uint8_t>(header.size());
    }
  }
  auto secret_at = [&](int set, std::size_t i) {
    return std::string_view(secrets[set][i].bytes, secret_bytes);
  };
  auto header_at = [&](int set, std::size_t i) {
    return std::string_view(headers[set][i].bytes, headers[set][i].size);
  };
  std::vector<tg::detail::sha256_digest> stored_digest(token_count);
  for (std::size_t i = 0; i < token_count; ++i) {
    stored_digest[i] = tg::detail::sha256(*records[i].token);
  }
  // Digests that differ from a stored one in their first or last byte.
  // Set 2 differs in its first byte, like set 0: the A/A row.
  std::vector<tg::detail::sha256_digest> presented_digest[3];
  for (int set = 0; set < 3; ++set) {
    for (const std::size_t token : token_of[set]) {
      tg::detail::sha256_digest d = stored_digest[token];
      d[set == 1 ? d.size() - 1 : 0] ^= static_cast<std::uint8_t>(1 + rng() % 255);
      presented_digest[set].push_back(d);
    }
  }
  // The control: 4 KiB strings that differ in the first or last byte.
  const std::string long_stored = std::string(4096 - secret_bytes, 'k') + *records[0].token;
  std::string long_presented[2] = {long_stored, long_stored};
  long_presented[0].front() ^= 0x01;
  long_presented[1].back() ^= 0x01;
  const auto peer = *tg::ip_address::parse("192.0.2.1");

  std::vector<outcome> results;
  results.push_back(measure(
      "lookup: sha256 + store::find", samples, 16, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        return store.find(tg::detail::sha256(secret_at(cls, i))) == nullptr ? 1 : 2;
      },
      false, rng));
  results.push_back(measure(
      "calibration A/A: lookup, 2 first-byte sets", samples, 16, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        return store.find(tg::detail::sha256(secret_at(cls == 0 ? 0 : 2, i))) == nullptr ? 1 : 2;
      },
      false, rng));
  results.push_back(measure(
      "digest comparison (digest_equal)", samples, 256, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        return tg::detail::digest_equal(stored_digest[token_of[cls][i]], presented_digest[cls][i])
                   ? 1
                   : 2;
      },
      false, rng));
  results.push_back(measure(
      "calibration A/A: digest, 2 first-byte sets", samples, 256, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        const int set = cls == 0 ? 0 : 2;
        return tg::detail::digest_equal(stored_digest[token_of[set][i]], presented_digest[set][i])
                   ? 1
                   : 2;
      },
      false, rng));
  results.push_back(measure(
      "decide: Basic user:secret, unknown", samples, 8, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        const tg::request req{"GET", "/rest/api/2/myself", peer, {}, header_at(cls, i), {}};
        return static_cast<std::uint64_t>(auth.decide(req, 1).why());
      },
      false, rng));
  results.push_back(measure(
      "control: early-exit loop, 32-byte secret", samples, 64, per_class,
      [&](int cls, std::size_t i) -> std::uint64_t {
        const std::string_view a = *records[token_of[cls][i]].token;
        const std::string_view b = secret_at(cls, i);
        std::size_t k = 0;
        while (k < a.size() && a[k] == b[k]) ++k;  // leaks: stops at the first difference
        return k;
      },
      true, rng));
  results.push_back(measure(
      "control: early-exit loop, 4 KiB string", samples, 64, per_class,
      [&](int cls, std::size_t) -> std::uint64_t {
        const std::string& a = long_stored;
        const std::string& b = long_presented[cls];
        std::size_t k = 0;
        while (k < a.size() && a[k] == b[k]) ++k;  // leaks: stops at the first difference
        return k;
      },
      true, rng));

  std::printf(
      "tokenguard_timing: secret lookup, presented secret differs from a stored one in\n"
      "its first or its last byte; %zu tokens of %zu bytes, %zu interleaved samples per "
      "class\n\n",
      token_count, secret_bytes, samples);
  std::printf("%-42s %24s %24s %8s %9s %8s  %s\n", "check", "first differs: median",
              "last differs: median", "diff", "means", "t", "verdict");
  std::printf("%-42s %24s %24s %8s %9s\n", "", "(p10-p90) ns/call", "(p10-p90) ns/call", "medians",
              "ns/call");
  int status = 0;
  for (const outcome& o : results) {
    const char* verdict = nullptr;
    if (o.control) {
      verdict = o.differs ? "differs, as it must (the check can see a leak)"
                          : "NOT DETECTED: inconclusive run";
      if (!o.differs && status == 0) status = 2;
    } else {
      verdict = o.differs ? "DIFFERS: timing depends on the matching prefix" : "same time";
      if (o.differs) status = 1;
    }
    char first[64], last[64];
    std::snprintf(first, sizeof first, "%.1f (%.1f-%.1f)", o.first.median, o.first.p10,
                  o.first.p90);
    std::snprintf(last, sizeof last, "%.1f (%.1f-%.1f)", o.last.median, o.last.p10, o.last.p90);
    std::printf("%-42s %24s %24s %+7.2f%% %+9.2f %8.2f  %s\n", o.name.c_str(), first, last,
                100 * o.relative, o.effect, o.t, verdict);
  }
  std::printf(
      "\nA check differs when |t| > %.0f (Welch's t on samples below the pooled 95th\n"
      "percentile: the classes certainly differ) and its means differ by more than\n"
      "%.1f ns a call (less than comparing two more bytes costs). The controls compare\n"
      "with an early exit, as a naive comparison would: the check must see them.\n",
      t_threshold, min_effect_ns);
  std::printf("verdict: %s\n", status == 0   ? "PASS, no timing difference between first- and "
                                               "last-byte mismatches"
                               : status == 1 ? "FAIL, a timing difference was found"
                                             : "INCONCLUSIVE, the control leak was not seen");
  return status;
}
