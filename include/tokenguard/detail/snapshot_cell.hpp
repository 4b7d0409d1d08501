#ifndef TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP
#define TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP

/// Holds the current immutable snapshot. Readers (the request path) take no
/// lock and allocate nothing: they announce themselves in one of two counters,
/// read the pointer, and leave. A writer publishes the new pointer, then waits
/// until every reader that could still see the old one has left (two counter
/// flips, as in userspace RCU) before releasing it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace tokenguard::detail {

template <class T>
class snapshot_cell {
  struct alignas(64) reader_count {
    std::atomic<std::uint64_t> n{0};
  };

 public:
  /// A reader's hold on the snapshot; the pointer stays valid while it lives.
  class guard {
   public:
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { count_->n.fetch_sub(1, std::memory_order_release); }
    [[nodiscard]] const T* get() const noexcept { return value_; }

   private:
    friend class snapshot_cell;
    guard(const T* value, reader_count* count) noexcept : value_(value), count_(count) {}
    const T* value_;
    reader_count* count_;
  };

  snapshot_cell() = default;
  snapshot_cell(const snapshot_cell&) = delete;
  snapshot_cell& operator=(const snapshot_cell&) = delete;

  /// Never hold a guard while calling replace() on the same cell.
  [[nodiscard]] guard acquire() const noexcept {
    const std::uint64_t epoch = epoch_.load(std::memory_order_seq_cst);
    reader_count* count = &readers_[epoch & 1];
    count->n.fetch_add(1, std::memory_order_seq_cst);
    return guard(current_.load(std::memory_order_seq_cst), count);
  }

  /// Publishes `next`; returns once no reader can still see the old value.
  void replace(std::shared_ptr<const T> next) {
    std::lock_guard<std::mutex> lock(writer_);
    current_.store(next.get(), std::memory_order_seq_cst);
    std::shared_ptr<const T> old = std::exchange(owner_, std::move(next));
    for (int flip = 0; flip < 2; ++flip) {
      const std::uint64_t epoch = epoch_.fetch_add(1, std::memory_order_seq_cst);
      while (readers_[epoch & 1].n.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
      }
    }
    old.reset();
  }

  /// The current snapshot as an owning pointer, for management code that
  /// reads it at leisure (not for the request path).
  [[nodiscard]] std::shared_ptr<const T> share() const {
    std::lock_guard<std::mutex> lock(writer_);
    return owner_;
  }

 private:
  std::atomic<const T*> current_{nullptr};
  std::atomic<std::uint64_t> epoch_{0};
  mutable reader_count readers_[2];
  mutable std::mutex writer_;
  std::shared_ptr<const T> owner_;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP
