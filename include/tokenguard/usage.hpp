#ifndef TOKENGUARD_USAGE_HPP
#define TOKENGUARD_USAGE_HPP

/// Usage counters and last-use details, kept outside store snapshots so that
/// a reload keeps the counts. This is the seam where a fleet-wide store (for
/// example Redis with local batching) plugs in: the request path only calls
/// try_consume() and record_use() on a slot number.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/address.hpp"
#include "tokenguard/detail/huge_pages.hpp"
#include "tokenguard/detail/prefetch.hpp"
#include "tokenguard/detail/slot_index.hpp"

namespace tokenguard {

using usage_slot = std::uint32_t;

/// One token of a store being loaded, for usage_store::bind_all.
struct usage_binding {
  std::string_view token_id;
  std::uint64_t initial = 0;
};

struct usage_snapshot {
  std::uint64_t count = 0;
  std::int64_t last_used_ms = 0;  ///< 0: never recorded
  std::optional<ip_address> last_address;
};

class usage_store {
 public:
  virtual ~usage_store() = default;

  /// Load time: the slot of a token id. A new slot starts at `initial`; an
  /// existing one keeps the larger of its count and `initial`, so that a
  /// reload can never hand a token back uses it has already spent. nullopt
  /// when the store has no room for another slot.
  virtual std::optional<usage_slot> bind(std::string_view token_id, std::uint64_t initial) = 0;

  /// Load time: every token of a store at once; slots[i] is what
  /// bind(bindings[i]...) would answer, in order (an id listed twice gets one
  /// slot). `slots` has bindings.size() elements. The default calls bind()
  /// for each; an implementation may batch them: the local table prefetches
  /// ahead, a shared store can make one round trip of them.
  virtual void bind_all(std::span<const usage_binding> bindings,
                        std::span<std::optional<usage_slot>> slots) {
    for (std::size_t i = 0; i < bindings.size(); ++i) {
      slots[i] = bind(bindings[i].token_id, bindings[i].initial);
    }
  }

  /// Load time, a hint: about `tokens` bind() calls follow (a store compile
  /// calls it once), so an implementation may size its index up front. The
  /// default does nothing.
  virtual void reserve(std::size_t /*tokens*/) {}

  /// Request path, one atomic step: when limit is 0 or count < limit, count
  /// goes up by one and the call returns true.
  [[nodiscard]] virtual bool try_consume(usage_slot slot, std::uint64_t limit) noexcept = 0;

  /// Request path: remember when and from where the token was last used.
  virtual void record_use(usage_slot slot, std::int64_t now_ms,
                          const ip_address& client) noexcept = 0;

  [[nodiscard]] virtual usage_snapshot read(usage_slot slot) const noexcept = 0;
  [[nodiscard]] virtual std::optional<usage_slot> find(std::string_view token_id) const = 0;

  /// Request path, a hint: the decision will call try_consume(slot) after its
  /// other checks, so an implementation may start fetching the slot's memory
  /// now (a remote store might start its round trip). The default does nothing.
  virtual void prefetch(usage_slot /*slot*/) const noexcept {}
};

/// The in-process implementation: lock-free on the request path, a mutex only
/// around bind(). Slots live in chunks that never move; chunk k holds
/// first_chunk_slots << k slots, so a small table is one 160 KiB chunk and a
/// million slots are eight chunks, the large ones on huge pages
/// (detail/huge_pages.hpp: a counter's miss should not also be a page walk).
class local_usage final : public usage_store {
  static constexpr std::size_t first_chunk_bits = 12;
  static constexpr std::size_t first_chunk_slots = std::size_t{1} << first_chunk_bits;
  static constexpr std::size_t max_chunks = 14;  // 67 M slots

  struct slot_data {
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::int64_t> last_used_ms{0};
    // The last address, in two halves plus its family (0 = none); a reader may
    // see the halves of two different uses, which is acceptable for a detail.
    std::atomic<std::uint64_t> address_high{0};
    std::atomic<std::uint64_t> address_low{0};
    std::atomic<std::uint8_t> address_family{0};
  };
  using chunk_allocator = detail::huge_page_allocator<slot_data>;

 public:
  local_usage() = default;
  // Only the chunks bind() allocated, which are the first ones.
  ~local_usage() override {
    for (std::size_t k = 0; k < max_chunks; ++k) {
      slot_data* c = chunks_[k].load();
      if (c == nullptr) break;
      std::destroy_n(c, chunk_slots(k));
      chunk_allocator{}.deallocate(c, chunk_slots(k));
    }
  }
  local_usage(const local_usage&) = delete;
  local_usage& operator=(const local_usage&) = delete;

  std::optional<usage_slot> bind(std::string_view token_id, std::uint64_t initial) override {
    std::lock_guard<std::mutex> lock(bind_mutex_);
    return bind_locked(token_id, initial, detail::slot_index::hash(token_id));
  }

  /// One lock for the whole store, and each id's cell fetched a few ids ahead:
  /// binding a million new ids one by one waited on a cache miss each.
  void bind_all(std::span<const usage_binding> bindings,
                std::span<std::optional<usage_slot>> slots) override {
    std::lock_guard<std::mutex> lock(bind_mutex_);
    constexpr std::size_t ahead = 8;
    std::array<std::size_t, ahead> hashes{};
    const auto look_ahead = [&](std::size_t i) {
      hashes[i % ahead] = detail::slot_index::hash(bindings[i].token_id);
      ids_.prefetch(hashes[i % ahead]);
    };
    for (std::size_t i = 0; i < std::min(ahead, bindings.size()); ++i) look_ahead(i);
    for (std::size_t i = 0; i < bindings.size(); ++i) {
      const std::size_t hash = hashes[i % ahead];
      if (i + ahead < bindings.size()) look_ahead(i + ahead);
      slots[i] = bind_locked(bindings[i].token_id, bindings[i].initial, hash);
    }
  }

  void reserve(std::size_t tokens) override {
    std::lock_guard<std::mutex> lock(bind_mutex_);
    ids_.reserve(std::max(ids_.size(), std::min(tokens, max_slots)));
  }

  bool try_consume(usage_slot slot, std::uint64_t limit) noexcept override {
    std::atomic<std::uint64_t>& count = at(slot).count;
    if (limit == 0) {
      count.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    std::uint64_t seen = count.load(std::memory_order_relaxed);
    while (seen < limit) {
      if (count.compare_exchange_weak(seen, seen + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }

  void record_use(usage_slot slot, std::int64_t now_ms,
                  const ip_address& client) noexcept override {
    slot_data& s = at(slot);
    const auto bytes = client.to_v6_bytes();
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      high = (high << 8) | bytes[i];
      low = (low << 8) | bytes[8 + i];
    }
    s.address_high.store(high, std::memory_order_relaxed);
    s.address_low.store(low, std::memory_order_relaxed);
    s.address_family.store(client.is_v4() ? 4 : 6, std::memory_order_relaxed);
    s.last_used_ms.store(now_ms, std::memory_order_relaxed);
  }

  void prefetch(usage_slot slot) const noexcept override {
    detail::prefetch_for_write(&at(slot).count);
  }

  usage_snapshot read(usage_slot slot) const noexcept override {
    const slot_data& s = at(slot);
    usage_snapshot out;
    out.count = s.count.load(std::memory_order_relaxed);
    out.last_used_ms = s.last_used_ms.load(std::memory_order_relaxed);
    const std::uint8_t family = s.address_family.load(std::memory_order_relaxed);
    if (family != 0) {
      std::array<std::uint8_t, 16> bytes{};
      std::uint64_t high = s.address_high.load(std::memory_order_relaxed);
      std::uint64_t low = s.address_low.load(std::memory_order_relaxed);
      for (std::size_t i = 8; i-- > 0;) {
        bytes[i] = static_cast<std::uint8_t>(high & 0xFF);
        bytes[8 + i] = static_cast<std::uint8_t>(low & 0xFF);
        high >>= 8;
        low >>= 8;
      }
      out.last_address = ip_address::v6(bytes);
    }
    return out;
  }

  std::optional<usage_slot> find(std::string_view token_id) const override {
    std::lock_guard<std::mutex> lock(bind_mutex_);
    return ids_.find(token_id, detail::slot_index::hash(token_id));
  }

 private:
  static constexpr std::size_t max_slots = first_chunk_slots * ((std::size_t{1} << max_chunks) - 1);
  static_assert(max_slots <= detail::slot_index::max_count);

  /// A slot is its id's number in ids_: the slots are handed out in order.
  std::optional<usage_slot> bind_locked(std::string_view token_id, std::uint64_t initial,
                                        std::size_t hash) {
    if (const auto known = ids_.find(token_id, hash)) {
      std::atomic<std::uint64_t>& count = at(*known).count;
      std::uint64_t seen = count.load();
      while (seen < initial && !count.compare_exchange_weak(seen, initial)) {
      }
      return *known;
    }
    const std::size_t index = ids_.size();
    if (index >= max_slots) return std::nullopt;
    // (Still there if adding the id threw after the chunk was made.)
    const std::size_t k = place(index).chunk;
    if (chunks_[k].load(std::memory_order_relaxed) == nullptr) {
      slot_data* made = chunk_allocator{}.allocate(chunk_slots(k));
      std::uninitialized_value_construct_n(made, chunk_slots(k));
      chunks_[k].store(made, std::memory_order_release);
    }
    const usage_slot slot = ids_.add(token_id, hash);
    at(slot).count.store(initial);
    return slot;
  }

  [[nodiscard]] static constexpr std::size_t chunk_slots(std::size_t k) noexcept {
    return first_chunk_slots << k;
  }
  struct slot_place {
    std::size_t chunk;
    std::size_t offset;
  };
  /// Chunk k starts at slot first_chunk_slots * (2^k - 1).
  [[nodiscard]] static constexpr slot_place place(std::size_t slot) noexcept {
    const std::size_t k = std::bit_width((slot >> first_chunk_bits) + 1) - 1;
    return {k, slot + first_chunk_slots - chunk_slots(k)};
  }

  slot_data& at(usage_slot slot) const noexcept {
    const slot_place p = place(slot);
    return chunks_[p.chunk].load(std::memory_order_acquire)[p.offset];
  }

  std::array<std::atomic<slot_data*>, max_chunks> chunks_{};
  mutable std::mutex bind_mutex_;
  /// The ids, numbered by slot (see detail/slot_index.hpp for why not a
  /// library hash map).
  detail::slot_index ids_;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_USAGE_HPP
