#ifndef TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP
#define TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP

/// Holds the current immutable snapshot. Readers (the request path) take no
/// lock, allocate nothing and write no shared cache line: they enter a read
/// section in their own thread's record, read the pointer, and leave. A writer
/// publishes the new pointer, then waits out one grace period (every section
/// that could still see the old pointer ends) before releasing it. See
/// read_sections.hpp.

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "tokenguard/detail/read_sections.hpp"

namespace tokenguard::detail {

template <class T>
class snapshot_cell {
 public:
  /// A reader's hold on the snapshot; the pointer stays valid while it lives.
  class guard {
   public:
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { read_sections::leave(*reader_); }
    [[nodiscard]] const T* get() const noexcept { return value_; }

   private:
    friend class snapshot_cell;
    guard(const T* value, read_sections::reader* reader) noexcept
        : value_(value), reader_(reader) {}
    const T* value_;
    read_sections::reader* reader_;
  };

  // The process's registry is made here, so that a reader never allocates it.
  snapshot_cell() : sections_(&read_sections::registry::process()) {}
  snapshot_cell(const snapshot_cell&) = delete;
  snapshot_cell& operator=(const snapshot_cell&) = delete;

  [[nodiscard]] guard acquire() const noexcept {
    read_sections::reader& reader = read_sections::this_thread();
    read_sections::enter(reader);
    return guard(current_.load(std::memory_order_seq_cst), &reader);
  }

  /// Publishes `next`; returns once no reader can still see the old value.
  /// Refused (std::logic_error, nothing changed) from a thread that holds a
  /// guard of any cell: it would wait for itself.
  void replace(std::shared_ptr<const T> next) {
    if (read_sections::this_thread().depth != 0) {
      throw std::logic_error("a snapshot was replaced from inside a decision on the same thread");
    }
    const std::lock_guard<std::mutex> lock(writer_);
    current_.store(next.get(), std::memory_order_seq_cst);
    std::shared_ptr<const T> old = std::exchange(owner_, std::move(next));
    sections_->synchronize();
    old.reset();
  }

  /// The current snapshot as an owning pointer, for management code that
  /// reads it at leisure (not for the request path).
  [[nodiscard]] std::shared_ptr<const T> share() const {
    const std::lock_guard<std::mutex> lock(writer_);
    return owner_;
  }

 private:
  read_sections::registry* sections_;
  std::atomic<const T*> current_{nullptr};
  mutable std::mutex writer_;
  std::shared_ptr<const T> owner_;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_SNAPSHOT_CELL_HPP
