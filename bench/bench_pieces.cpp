// The steps of one decision on their own, to show where its time goes: the
// canonical URL, the Authorization header, SHA-256 of the secret (as the
// library does it, and through OpenSSL's EVP interface with the algorithm
// fetched once or per call), the digest lookup in a 1e3- and a 1e6-token
// store, and the usage counter. Names: piece/<step>.

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "support.hpp"
#include "tokenguard/tokenguard.hpp"

namespace tgbench {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tokenguard_bench: %s\n", what.c_str());
  std::abort();
}

void piece_canonical_url(benchmark::State& state) {
  const std::string url = allow_url(7);
  std::vector<char> out(tokenguard::limits{}.max_url_bytes + 1);
  for (auto _ : state) {
    tokenguard::detail::canonical_url c;
    const bool ok = tokenguard::detail::canonicalize_url(url, out.data(), out.size(), c);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(c);
  }
}

void piece_authorization(benchmark::State& state) {
  const std::string header = basic_header(user_of(12345), make_secret(12345));
  char scratch[tokenguard::max_authorization_bytes];
  for (auto _ : state) {
    tokenguard::credentials c;
    const auto status =
        tokenguard::parse_authorization(header, tokenguard::auth_mode::basic, scratch, c);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(c);
  }
}

void piece_sha256_library(benchmark::State& state) {
  const std::string secret = make_secret(1);
  for (auto _ : state) {
    auto d = tokenguard::detail::sha256(secret);
    benchmark::DoNotOptimize(d);
  }
}

void piece_sha256_evp_fetched(benchmark::State& state) {
  const std::string secret = make_secret(1);
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (md == nullptr || ctx == nullptr) fail("EVP_MD_fetch(SHA256) failed");
  for (auto _ : state) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, secret.data(), secret.size());
    EVP_DigestFinal_ex(ctx, d, &len);
    benchmark::DoNotOptimize(d);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
}

void piece_sha256_evp_oneshot(benchmark::State& state) {
  const std::string secret = make_secret(1);
  for (auto _ : state) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(secret.data(), secret.size(), d, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(d);
  }
}

/// A store without rules, and the digests of a random sample of its tokens.
struct lookup_world {
  std::shared_ptr<tokenguard::local_usage> usage = std::make_shared<tokenguard::local_usage>();
  std::shared_ptr<const tokenguard::store> snapshot;
  std::vector<tokenguard::detail::sha256_digest> digests;

  explicit lookup_world(std::size_t tokens) {
    const auto records = make_records({tokens, 0, 1, true}, {});
    auto compiled = tokenguard::store::compile(records, *usage);
    if (!compiled) fail("lookup store: " + compiled.message());
    snapshot = compiled.value();
    rng r{tokens};
    const std::size_t pool = tokens <= 1000 ? 1024 : 65536;
    for (std::size_t i = 0; i < pool; ++i) {
      digests.push_back(tokenguard::detail::sha256(make_secret(r.next() % tokens)));
    }
  }
};

const lookup_world& lookup_world_for(std::size_t tokens) {
  static std::unique_ptr<lookup_world> small, large;
  std::unique_ptr<lookup_world>& w = tokens <= 1000 ? small : large;
  if (!w) w = std::make_unique<lookup_world>(tokens);
  return *w;
}

/// store::find, then the entry's label, user and id, as a decision reads them.
void piece_store_find(benchmark::State& state, std::size_t tokens) {
  const lookup_world& w = lookup_world_for(tokens);
  std::size_t i = 0;
  for (auto _ : state) {
    const tokenguard::store::entry* e = w.snapshot->find(w.digests[i]);
    if (e == nullptr) fail("a generated token is missing from the store");
    const auto label = w.snapshot->label(*e);
    const auto user = w.snapshot->user(*e);
    benchmark::DoNotOptimize(label.data()[0] + user.data()[0]);
    if (++i == w.digests.size()) i = 0;
  }
}

/// The usage step of a decision: one atomic check-and-increment.
void piece_usage(benchmark::State& state, std::size_t tokens) {
  const lookup_world& w = lookup_world_for(tokens);
  std::vector<tokenguard::usage_slot> slots;
  for (const auto& d : w.digests) slots.push_back(w.snapshot->find(d)->slot);
  std::size_t i = 0;
  for (auto _ : state) {
    const bool ok = w.usage->try_consume(slots[i], 0);
    benchmark::DoNotOptimize(ok);
    if (++i == slots.size()) i = 0;
  }
}

}  // namespace

void register_piece_benchmarks() {
  benchmark::RegisterBenchmark("piece/canonical_url:80B", piece_canonical_url);
  benchmark::RegisterBenchmark("piece/authorization:basic", piece_authorization);
  benchmark::RegisterBenchmark("piece/sha256:library", piece_sha256_library);
  benchmark::RegisterBenchmark("piece/sha256:evp_fetched_once", piece_sha256_evp_fetched);
  benchmark::RegisterBenchmark("piece/sha256:evp_oneshot", piece_sha256_evp_oneshot);
  for (const std::size_t tokens : {std::size_t{1000}, std::size_t{1000000}}) {
    const std::string n = tokens == 1000 ? "1e3" : "1e6";
    benchmark::RegisterBenchmark(("piece/store_find/tokens:" + n).c_str(),
                                 [tokens](benchmark::State& s) { piece_store_find(s, tokens); });
    benchmark::RegisterBenchmark(("piece/usage/tokens:" + n).c_str(),
                                 [tokens](benchmark::State& s) { piece_usage(s, tokens); });
  }
}

}  // namespace tgbench
