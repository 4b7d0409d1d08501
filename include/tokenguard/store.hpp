#ifndef TOKENGUARD_STORE_HPP
#define TOKENGUARD_STORE_HPP

/// An immutable, compiled snapshot of a token store: a flat table keyed by
/// the SHA-256 of each secret, entries pointing at shared rule sets and
/// address lists. Built off the request path; read by any number of threads.

#include <algorithm>
#include <array>
#include <bit>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/address.hpp"
#include "tokenguard/detail/huge_pages.hpp"
#include "tokenguard/detail/prefetch.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/detail/stable_strings.hpp"
#include "tokenguard/detail/text_hash.hpp"
#include "tokenguard/detail/two_threads.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/token.hpp"
#include "tokenguard/usage.hpp"

namespace tokenguard {

/// A token that cannot authenticate, and why (SPEC 8: fail closed).
struct token_problem {
  std::size_t index = 0;  ///< position in the store's token list
  std::string label;
  std::string message;
};

class store {
 public:
  static constexpr std::uint32_t none = 0xFFFFFFFF;

  /// One token, as the probe table holds it: two cache lines, the first with
  /// what every decision reads, the second with the label, user and id when
  /// they fit (most do), so that a lookup in a large store costs one miss
  /// rather than three (slot, entry, strings).
  struct alignas(64) entry {
    detail::sha256_digest digest{};
    std::int64_t valid_until = 0;
    std::uint64_t usage_limit = 0;
    usage_slot slot = 0;
    std::uint32_t rules = none;   ///< index into rule sets; none = unrestricted
    std::uint32_t ips = none;     ///< index into address lists; none = any
    std::uint32_t record = none;  ///< index of the token_record it came from; none = empty slot
    std::uint8_t label_size = 0, user_size = 0, id_size = 0;
    bool strings_inline = false;       ///< label, user and id are in `strings`
    std::uint32_t strings_offset = 0;  ///< else: where they start in the arena
    std::array<char, 56> strings{};    ///< label, user, id back to back
  };
  static_assert(sizeof(entry) == 128, "an entry is two cache lines");

  /// Constant-time digest comparison on every probe; the probe sequence
  /// depends on the digest, never on how much of a secret matches.
  [[nodiscard]] const entry* find(const detail::sha256_digest& digest) const noexcept {
    if (table_.empty()) return nullptr;
    std::size_t i = home_slot(digest, table_.size());
    for (;;) {
      const entry& e = table_[i];
      if (e.record == none) return nullptr;
      if (detail::digest_equal(e.digest, digest)) return &e;
      if (++i == table_.size()) i = 0;
    }
  }

  [[nodiscard]] std::string_view label(const entry& e) const noexcept {
    return {strings_of(e), e.label_size};
  }
  [[nodiscard]] std::string_view user(const entry& e) const noexcept {
    return {strings_of(e) + e.label_size, e.user_size};
  }
  [[nodiscard]] std::string_view id(const entry& e) const noexcept {
    return {strings_of(e) + e.label_size + e.user_size, e.id_size};
  }
  [[nodiscard]] const rule_set* rules(const entry& e) const noexcept {
    return e.rules == none ? nullptr : rule_sets_[e.rules].get();
  }
  /// Request path: what rule_set::evaluate() reads of the token's rule set, from this
  /// store's arena (nullptr: no limitTo).
  [[nodiscard]] const rule_set::hot_memory* rule_hot(const entry& e) const noexcept {
    return e.rules == none ? nullptr : &rule_hot_[e.rules];
  }
  [[nodiscard]] const ip_allow_list* ips(const entry& e) const noexcept {
    return e.ips == none ? nullptr : &ip_lists_[e.ips];
  }

  /// Request path, a hint: starts fetching what a decision reads after the
  /// lookup (the entry's label, user and id, and its rule set's lines for the
  /// request's `method_bit`: detail::method_bit, 0 for a non-standard method).
  void prefetch(const entry& e, std::uint16_t method_bit) const noexcept {
    if (!e.strings_inline) {
      const char* strings = strings_of(e);
      detail::prefetch_for_read(strings);
      detail::prefetch_for_read(strings + e.label_size + e.user_size + e.id_size);
    }
    if (e.rules != none) rule_set::prefetch(rule_hot_[e.rules], method_bit);
  }

  /// The entries in table order (not the records' order): iterate with range-for.
  class entry_range {
   public:
    class iterator {
     public:
      using value_type = entry;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      iterator(const entry* at, const entry* end) noexcept : at_(at), end_(end) { skip_empty(); }
      const entry& operator*() const noexcept { return *at_; }
      const entry* operator->() const noexcept { return at_; }
      iterator& operator++() noexcept {
        ++at_;
        skip_empty();
        return *this;
      }
      iterator operator++(int) noexcept {
        iterator before = *this;
        ++*this;
        return before;
      }
      bool operator==(const iterator& other) const noexcept { return at_ == other.at_; }

     private:
      void skip_empty() noexcept {
        while (at_ != end_ && at_->record == none) ++at_;
      }
      const entry* at_ = nullptr;
      const entry* end_ = nullptr;
    };
    entry_range(const entry* first, const entry* last, std::size_t count) noexcept
        : first_(first), last_(last), count_(count) {}
    [[nodiscard]] iterator begin() const noexcept { return {first_, last_}; }
    [[nodiscard]] iterator end() const noexcept { return {last_, last_}; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

   private:
    const entry* first_;
    const entry* last_;
    std::size_t count_;
  };

  [[nodiscard]] entry_range entries() const noexcept {
    return {table_.data(), table_.data() + table_.size(), count_};
  }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] std::size_t distinct_rule_sets() const noexcept { return rule_sets_.size(); }
  [[nodiscard]] std::span<const token_problem> problems() const noexcept { return problems_; }

  /// Compiles records into a snapshot. Tokens with problems are left out
  /// (they cannot authenticate) and listed in problems(); with `strict`, any
  /// problem refuses the whole store. Usage slots are bound in `usage`.
  [[nodiscard]] static result<std::shared_ptr<const store>> compile(
      std::span<const token_record> records, usage_store& usage, const limits& lim = limits{},
      bool strict = false) {
    return compile_tokens(records, usage, lim, strict);
  }
  /// The same from views into a parsed document (load_store_json): the same
  /// snapshot, problems and usage slots as from the records they stand for.
  [[nodiscard]] static result<std::shared_ptr<const store>> compile(
      std::span<const detail::token_view> tokens, usage_store& usage, const limits& lim = limits{},
      bool strict = false) {
    return compile_tokens(tokens, usage, lim, strict);
  }

  /// Stores of at least this many tokens compile on two threads (see
  /// detail/two_threads.hpp); the snapshot is the same.
  static constexpr std::size_t two_threads_from = std::size_t{1} << 16;

 private:
  template <class Record>
  [[nodiscard]] static result<std::shared_ptr<const store>> compile_tokens(
      std::span<const Record> records, usage_store& usage, const limits& lim, bool strict);

  /// Where a digest's probe starts: its first 32 bits scaled to the table
  /// (multiply-shift), so the table needs no power-of-two size.
  [[nodiscard]] static std::size_t home_slot(const detail::sha256_digest& digest,
                                             std::size_t slots) noexcept {
    std::uint32_t h = 0;
    std::memcpy(&h, digest.data(), sizeof h);
    return static_cast<std::size_t>((std::uint64_t{h} * slots) >> 32);
  }
  /// Every rule set's candidates, end to end, then every rule set's prefilter blocks: what a
  /// decision reads of a rule set, in a few dense pages of one arena rather than among each
  /// set's Boost programs; rule_hot_, one per rule set, reads from there.
  void gather_rule_sets() {
    constexpr std::size_t align = rule_set::hot_alignment;
    const auto round_up = [](std::size_t n) { return (n + align - 1) / align * align; };
    std::size_t candidate_bytes = 0;
    std::size_t bytes = 0;
    for (const auto& set : rule_sets_) {
      candidate_bytes += round_up(set->hot().candidate_bytes);
      bytes += round_up(set->hot().candidate_bytes) + round_up(set->hot().table_bytes);
    }
    rule_hot_.reserve(rule_sets_.size());
    rule_arena_.assign(bytes + align - 1, std::byte{0});
    std::byte* const base =
        rule_arena_.data() +
        (align - reinterpret_cast<std::uintptr_t>(rule_arena_.data()) % align) % align;
    std::byte* candidates = base;
    std::byte* tables = base + candidate_bytes;
    for (std::size_t k = 0; k < rule_sets_.size(); ++k) {
      const rule_set::hot_memory& own = rule_sets_[k]->hot();
      rule_hot_.push_back(rule_sets_[k]->copy_hot_to(candidates, tables));
      candidates += round_up(own.candidate_bytes);
      tables += round_up(own.table_bytes);
    }
  }
  [[nodiscard]] const char* strings_of(const entry& e) const noexcept {
    return e.strings_inline ? e.strings.data() : arena_.data() + e.strings_offset;
  }

  /// Open addressing, linear probing; at most half full. On huge pages when
  /// large: a lookup's miss should not also be a page walk.
  std::vector<entry, detail::huge_page_allocator<entry>> table_;
  std::size_t count_ = 0;
  std::vector<std::shared_ptr<const rule_set>> rule_sets_;
  /// Beside each rule set: its hot() as copied into rule_arena_ (gather_rule_sets()).
  std::vector<rule_set::hot_memory> rule_hot_;
  std::vector<std::byte, detail::huge_page_allocator<std::byte>> rule_arena_;
  std::vector<ip_allow_list> ip_lists_;
  std::string arena_;
  std::vector<token_problem> problems_;
};

namespace detail {

/// The usage key of a token: its id; for a token without one, its digest, so
/// that counts survive reloads (copied into `digest_keys`, whose views stay
/// valid while more are added).
template <class Record>
[[nodiscard]] std::string_view usage_key(const Record& r, const sha256_digest& d,
                                         stable_strings& digest_keys) {
  if (!r.id.empty()) return r.id;
  return digest_keys.keep("sha256:" + to_hex(d));
}

}  // namespace detail

template <class Record>
result<std::shared_ptr<const store>> store::compile_tokens(std::span<const Record> records,
                                                           usage_store& usage, const limits& lim,
                                                           bool strict) {
  if (records.size() > lim.max_tokens) {
    return error{"the store has " + std::to_string(records.size()) + " tokens, over the limit of " +
                 std::to_string(lim.max_tokens) + " (max_tokens)"};
  }
  auto out = std::make_shared<store>();
  std::vector<std::string> problem(records.size());
  std::vector<detail::sha256_digest> digests(records.size());

  // Distinct texts compile once: stores often repeat the same limitTo and ip.
  boost::unordered_flat_map<std::string_view, std::pair<std::uint32_t, std::string>,
                            detail::text_hash>
      rule_cache;
  boost::unordered_flat_map<std::string_view, std::pair<std::uint32_t, std::string>,
                            detail::text_hash>
      ip_cache;
  std::vector<std::uint32_t> rule_of(records.size(), none);
  // The compiled set of a text's last address seen in each slot (a text
  // with a problem is never hinted).
  struct shared_text_hint {
    const char* data = nullptr;
    std::size_t size = 0;
    std::uint32_t rules = none;
  };
  std::vector<shared_text_hint> rule_hints(
      std::bit_ceil(std::clamp<std::size_t>(records.size(), 1, 4096)));
  std::vector<std::uint32_t> ips_of(records.size(), none);

  // The digest of every token that holds a secret, even one with other
  // problems: a secret that two tokens hold is ambiguous whatever else is
  // wrong with either of them, so both must fail closed (SPEC 8).
  // tokenSha256 is parsed here, once: what the checks below need is whether
  // it parsed and whether it is the secret's digest.
  enum class stated_digest : std::uint8_t { none, matches, malformed, differs };
  struct digest_state {
    bool known = false;  ///< digests[i] holds the token's digest
    stated_digest stated = stated_digest::none;
  };
  std::vector<digest_state> digest_of(records.size());
  const auto digest_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      const Record& r = records[i];
      const bool has_secret = r.token && !r.token->empty();
      if (has_secret) {
        digests[i] = detail::sha256(*r.token);
        digest_of[i].known = true;
      }
      if (!r.token_sha256) continue;
      const auto parsed = detail::parse_hex_digest(*r.token_sha256);
      if (!parsed) {
        digest_of[i].stated = stated_digest::malformed;
      } else if (!has_secret) {
        digests[i] = *parsed;
        digest_of[i] = {true, stated_digest::matches};
      } else {
        digest_of[i].stated = detail::digest_equal(digests[i], *parsed) ? stated_digest::matches
                                                                        : stated_digest::differs;
      }
    }
  };
  // A large store is hashed in two halves at once, and its probe table is
  // zeroed on the second thread while the first checks the tokens: the
  // table has room for every token, loaded or not (what loads is known only
  // after the checks).
  const bool two_threads = records.size() >= two_threads_from;
  // Two slots a token (plus a few, so that no probe runs forever): at most half full, a hit
  // takes 1.5 probes on average.
  const std::size_t slots = 2 * records.size() + 8;
  if (two_threads) {
    const std::size_t half = records.size() / 2;
    detail::run_beside([&] { digest_range(half, records.size()); }, [&] { digest_range(0, half); });
  } else {
    digest_range(0, records.size());
  }

  const auto check_each = [&] {
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Record& r = records[i];
      std::string& why = problem[i];
      if (!r.load_error.empty()) {
        why = r.load_error;
        continue;
      }
      if (r.label.empty()) {
        why = "label is missing or empty";
      } else if (r.label.size() > max_label_bytes) {
        why = "label is " + std::to_string(r.label.size()) + " bytes, over the limit of " +
              std::to_string(max_label_bytes);
      } else if (r.user.size() > max_user_bytes) {
        why = "user is over " + std::to_string(max_user_bytes) + " bytes";
      } else if (r.id.size() > max_label_bytes) {
        why = "id is over " + std::to_string(max_label_bytes) + " bytes";
      } else if (r.valid_until < 0) {
        why = "validUntil is negative";
      } else if (!r.token && !r.token_sha256) {
        why = "the token has no secret (neither token nor tokenSha256)";
      } else if (r.token && r.token->empty()) {
        why = "token (the secret) is empty";
      }
      if (!why.empty()) continue;

      if (digest_of[i].stated == stated_digest::malformed) {
        why = "tokenSha256 is not 64 hex digits";
        continue;
      }
      if (digest_of[i].stated == stated_digest::differs) {
        why = "tokenSha256 is not the SHA-256 of token";
        continue;
      }

      if (!r.limit_to.empty()) {
        // Tokens that share one copy of a text (the chunked loader keeps one a
        // text) skip hashing and comparing its few hundred bytes again; every
        // record outlives the compile, so one address is one text.
        shared_text_hint& hint =
            rule_hints[(reinterpret_cast<std::uintptr_t>(r.limit_to.data()) >> 4) &
                       (rule_hints.size() - 1)];
        if (hint.data == r.limit_to.data() && hint.size == r.limit_to.size()) {
          rule_of[i] = hint.rules;
        } else {
          auto [it, fresh] = rule_cache.try_emplace(r.limit_to, none, std::string());
          if (fresh) {
            auto compiled = rule_set::compile(r.limit_to, lim);
            if (!compiled) {
              it->second.second = "limitTo " + compiled.message();
            } else if (!compiled.value().unrestricted()) {
              it->second.first = static_cast<std::uint32_t>(out->rule_sets_.size());
              out->rule_sets_.push_back(
                  std::make_shared<const rule_set>(std::move(compiled).value()));
            }
          }
          if (!it->second.second.empty()) {
            why = it->second.second;
            continue;
          }
          rule_of[i] = it->second.first;
          hint = {r.limit_to.data(), r.limit_to.size(), it->second.first};
        }
      }
      if (!r.ip.empty()) {
        auto [it, fresh] = ip_cache.try_emplace(r.ip, none, std::string());
        if (fresh) {
          auto parsed = ip_allow_list::parse(r.ip);
          if (!parsed) {
            it->second.second = "ip: " + parsed.message();
          } else if (!parsed.value().allows_any()) {
            it->second.first = static_cast<std::uint32_t>(out->ip_lists_.size());
            out->ip_lists_.push_back(std::move(parsed).value());
          }
        }
        if (!it->second.second.empty()) {
          why = it->second.second;
          continue;
        }
        ips_of[i] = it->second.first;
      }
    }
  };

  // A secret or id held by two tokens makes both ambiguous: neither loads.
  // Which tokens share one with an earlier token is found beside the checks
  // above (it needs only the digests and ids); what that makes of them waits
  // for the checks, since a token's first problem is the one it reports.
  struct shared_key {
    std::size_t later;
    std::size_t first;  ///< the first token that holds it
  };
  // Each token that holds a key an earlier token holds, with that earlier
  // token. A flat table of record indices (no allocation a token: loading a
  // million tokens spent more in node-based maps than in everything else);
  // a slot keeps 32 more bits of its key's hash beside the index, so that a
  // probe reads another record (a cache miss at a random place) only when
  // those agree, and the slot of a record a few ahead is fetched early.
  const auto find_shared = [&](auto&& holds_key, auto&& hash_of, auto&& same_key) {
    std::vector<shared_key> found;
    const std::size_t mask = std::bit_ceil(2 * records.size() + 8) - 1;
    constexpr std::uint64_t empty = ~std::uint64_t{0};
    std::vector<std::uint64_t> seen(mask + 1, empty);
    constexpr std::size_t lookahead = 8;
    std::array<std::uint64_t, lookahead> ahead{};  // the hashes of the next few keys
    const auto hash_if_held = [&](std::size_t i) -> std::uint64_t {
      return holds_key(i) ? hash_of(i) : 0;
    };
    for (std::size_t i = 0; i < std::min(lookahead, records.size()); ++i) {
      ahead[i] = hash_if_held(i);
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
      const std::uint64_t hash = ahead[i % lookahead];
      if (i + lookahead < records.size()) {
        ahead[i % lookahead] = hash_if_held(i + lookahead);
        detail::prefetch_for_write(&seen[ahead[i % lookahead] & mask]);
      }
      if (!holds_key(i)) continue;
      const std::uint64_t tag = hash & 0xFFFFFFFF00000000ULL;
      for (std::size_t at = static_cast<std::size_t>(hash) & mask;; at = (at + 1) & mask) {
        const std::uint64_t held = seen[at];
        if (held == empty) {
          seen[at] = tag | i;
          break;
        }
        const auto k = static_cast<std::size_t>(held & 0xFFFFFFFFULL);
        if ((held & ~0xFFFFFFFFULL) == tag && same_key(k, i)) {
          found.push_back({i, k});
          break;
        }
      }
    }
    return found;
  };
  std::vector<shared_key> shared_secrets;
  const auto find_shared_secrets = [&] {
    shared_secrets = find_shared(
        [&](std::size_t i) { return digest_of[i].known; },
        [&](std::size_t i) {
          std::uint64_t hash = 0;
          std::memcpy(&hash, digests[i].data(), sizeof hash);
          return hash;
        },
        [&](std::size_t k, std::size_t i) { return detail::digest_equal(digests[k], digests[i]); });
  };
  std::vector<shared_key> shared_ids;
  const auto find_shared_ids = [&] {
    shared_ids =
        find_shared([&](std::size_t i) { return !records[i].id.empty(); },
                    [&](std::size_t i) { return detail::text_hash{}(records[i].id); },
                    [&](std::size_t k, std::size_t i) { return records[k].id == records[i].id; });
  };

  const auto name_shared = [&] {
    const auto label = [&](std::size_t i) { return std::string(records[i].label); };
    // A shared secret: both tokens fail closed, whatever else is wrong with them.
    for (const auto& [later, first] : shared_secrets) {
      if (problem[later].empty()) {
        problem[later] = "its secret is also the secret of token '" + label(first) + "'";
      }
      if (problem[first].empty()) {
        problem[first] = "its secret is also the secret of token '" + label(later) + "'";
      }
    }
    // A shared id: only among the tokens that have no other problem. The
    // first of them names the second; each other names the first.
    std::stable_sort(shared_ids.begin(), shared_ids.end(),
                     [](const shared_key& a, const shared_key& b) { return a.first < b.first; });
    for (std::size_t g = 0; g < shared_ids.size();) {
      const std::size_t first = shared_ids[g].first;
      std::size_t holder = problem[first].empty() ? first : none;
      bool holder_named = false;
      for (; g < shared_ids.size() && shared_ids[g].first == first; ++g) {
        const std::size_t i = shared_ids[g].later;
        if (!problem[i].empty()) continue;
        if (holder == none) {
          holder = i;
          continue;
        }
        problem[i] = "its id is also the id of token '" + label(holder) + "'";
        if (!holder_named) {
          problem[holder] = "its id is also the id of token '" + label(i) + "'";
          holder_named = true;
        }
      }
    }
  };

  if (two_threads) {
    // About even: zeroing the table takes as long as the checks.
    detail::run_beside(
        [&] {
          out->table_.resize(slots);
          find_shared_secrets();
        },
        [&] {
          check_each();
          find_shared_ids();
        });
  } else {
    check_each();
    find_shared_secrets();
    find_shared_ids();
  }
  name_shared();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!problem[i].empty()) {
      out->problems_.push_back({i, std::string(records[i].label), std::move(problem[i])});
    }
  }
  if (strict && !out->problems_.empty()) {
    const token_problem& p = out->problems_.front();
    return error{"token " + std::to_string(p.index) + " '" + p.label + "': " + p.message +
                 (out->problems_.size() > 1
                      ? " (and " + std::to_string(out->problems_.size() - 1) + " more problems)"
                      : "")};
  }

  const std::size_t loaded = records.size() - out->problems_.size();
  if (loaded >= 0x80000000ULL) return error{"a store holds fewer than 2^31 tokens"};
  // Offsets are 32-bit: the labels, users and ids that do not fit in their entry must fit in
  // 4 GiB.
  std::size_t arena_bytes = 0;
  for (const Record& r : records) {
    const std::size_t n = r.label.size() + r.user.size() + r.id.size();
    if (n > entry{}.strings.size()) arena_bytes += n;
  }
  if (arena_bytes > 0xFFFFFFFFULL) return error{"the store's labels, users and ids exceed 4 GiB"};
  out->arena_.reserve(arena_bytes);

  // Calls f(i) for each token that loads, in order (problems_ is in order).
  const auto for_each_loaded = [&](auto&& f) {
    for (std::size_t i = 0, next_problem = 0; i < records.size(); ++i) {
      if (next_problem < out->problems_.size() && out->problems_[next_problem].index == i) {
        ++next_problem;
        continue;
      }
      f(i);
    }
  };

  // Each loaded token's place in the table, filled in record order.
  std::vector<std::uint32_t> placed(loaded);
  const auto fill = [&] {
    if (!two_threads) out->table_.resize(slots);
    std::size_t next_loaded = 0;
    // Each insertion is a cache miss at a random slot: fetch a few ahead.
    constexpr std::size_t lookahead = 8;
    for_each_loaded([&](std::size_t i) {
      if (i + lookahead < records.size() && digest_of[i + lookahead].known) {
        detail::prefetch_for_write(&out->table_[home_slot(digests[i + lookahead], slots)]);
      }
      const Record& r = records[i];
      std::size_t at = home_slot(digests[i], slots);
      while (out->table_[at].record != none) at = at + 1 == slots ? 0 : at + 1;
      placed[next_loaded++] = static_cast<std::uint32_t>(at);
      entry& e = out->table_[at];
      e.digest = digests[i];
      e.valid_until = r.valid_until;
      e.usage_limit = r.usage_limit;
      e.rules = rule_of[i];
      e.ips = ips_of[i];
      e.record = static_cast<std::uint32_t>(i);
      e.label_size = static_cast<std::uint8_t>(r.label.size());
      e.user_size = static_cast<std::uint8_t>(r.user.size());
      e.id_size = static_cast<std::uint8_t>(r.id.size());
      const std::size_t n = r.label.size() + r.user.size() + r.id.size();
      char* to = nullptr;
      if (n <= e.strings.size()) {
        e.strings_inline = true;
        to = e.strings.data();
      } else {
        e.strings_offset = static_cast<std::uint32_t>(out->arena_.size());
        out->arena_.resize(out->arena_.size() + n);
        to = out->arena_.data() + e.strings_offset;
      }
      for (const std::string_view part :
           {std::string_view(r.label), std::string_view(r.user), std::string_view(r.id)}) {
        // An absent field of a token_view is a null view: memcpy must not see it.
        if (part.empty()) continue;
        std::memcpy(to, part.data(), part.size());
        to += part.size();
      }
    });
    out->count_ = loaded;
  };

  // Every loaded token's usage slot in one call, so that the usage store can
  // batch them (usage_store::bind_all). It is called on this thread; a large
  // store fills its table on the second thread meanwhile.
  std::vector<std::optional<usage_slot>> bound(loaded);
  const auto bind = [&] {
    std::vector<usage_binding> bindings;
    bindings.reserve(loaded);
    detail::stable_strings digest_keys;
    for_each_loaded([&](std::size_t i) {
      bindings.push_back(
          {detail::usage_key(records[i], digests[i], digest_keys), records[i].counter});
    });
    usage.reserve(loaded);
    usage.bind_all(bindings, bound);
  };
  const auto fill_and_gather = [&] {
    fill();
    out->gather_rule_sets();
  };
  if (two_threads) {
    detail::run_beside(fill_and_gather, bind);
  } else {
    bind();
    fill_and_gather();
  }

  // The slots, into the entries the tokens took.
  constexpr std::size_t lookahead = 8;
  for (std::size_t k = 0; k < loaded; ++k) {
    if (k + lookahead < loaded) detail::prefetch_for_write(&out->table_[placed[k + lookahead]]);
    if (!bound[k]) return error{"the usage store has no room for another token"};
    out->table_[placed[k]].slot = *bound[k];
  }
  return std::shared_ptr<const store>(std::move(out));
}

}  // namespace tokenguard

#endif  // TOKENGUARD_STORE_HPP
