#ifndef TOKENGUARD_DETAIL_READ_SECTIONS_HPP
#define TOKENGUARD_DETAIL_READ_SECTIONS_HPP

/// Read-side sections and grace periods, as in userspace RCU's "memb" flavour,
/// for snapshot_cell.
///
/// Each thread that reads owns a record in its own cache line and enters and
/// leaves a section with plain stores: no atomic read-modify-write, and no
/// cache line written by two readers. A writer that must know that no reader
/// still holds a pointer it unpublished makes every thread of the process pass
/// a full memory barrier at once (Linux membarrier, private expedited), then
/// waits for the threads it finds inside a section to leave it. Where that
/// call is not available (another system, an old kernel, a sandbox that
/// refuses it), each reader's entry is a sequentially consistent store instead
/// (a full fence's cost), ordered against the writer's store and loads.

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tokenguard::detail::read_sections {

/// How readers order their entry against a writer's look at their records.
enum class mode : std::uint8_t {
  membarrier,  ///< readers: a compiler barrier; the writer: one membarrier call
  fences,      ///< readers: a sequentially consistent store (a full fence)
};

/// One thread's record. Its owner writes `state`; writers only read it.
struct alignas(64) reader {
  /// Odd while the owner is inside a section. Entering and leaving each add
  /// one, so once a value a writer saw odd has changed, that section is over.
  std::atomic<std::uint64_t> state{0};
  std::uint32_t depth = 0;  ///< sections the owner is nested in (owner only)
  mode order = mode::fences;
  reader* next = nullptr;  ///< the registry's list, under its mutex
  reader* prev = nullptr;
};

namespace impl {

#if defined(__linux__)
[[nodiscard]] inline bool membarrier_call(int command) noexcept {
  return syscall(__NR_membarrier, command, 0U, 0) == 0;
}

/// Registers the process for private expedited membarrier; false where the
/// kernel lacks it or a sandbox refuses it.
[[nodiscard]] inline bool membarrier_usable() noexcept {
  const long supported = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0U, 0);
  if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  return membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
}

/// A full barrier on every running thread of the process. The registration
/// belongs to the address space: should a kernel not carry it into the child
/// of a fork() (Linux 6.18, tested here, does), the child is refused once, so
/// it registers and asks again.
[[nodiscard]] inline bool membarrier_everywhere() noexcept {
  if (membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return true;
  return membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
         membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}
#else
[[nodiscard]] inline bool membarrier_usable() noexcept { return false; }
#endif

}  // namespace impl

/// Enters a section: pointers loaded after this (with memory_order_seq_cst)
/// stay valid until leave().
inline void enter(reader& r) noexcept {
  if (r.depth++ != 0) return;  // nested: the outer section already covers it
  const std::uint64_t inside = r.state.load(std::memory_order_relaxed) + 1;
  // The entry must be visible before the loads that follow. Under membarrier
  // the writer's call enforces that on every thread, so only the compiler
  // must keep the order; otherwise the entry is a sequentially consistent
  // store, ordered against the writer's store of the pointer and its loads
  // of the records.
  if (r.order == mode::fences) {
    r.state.store(inside, std::memory_order_seq_cst);
  } else {
    r.state.store(inside, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

/// Leaves a section: the reads made inside it happen before a writer that
/// sees the new state frees anything.
inline void leave(reader& r) noexcept {
  if (--r.depth != 0) return;
  r.state.store(r.state.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

/// The records of the threads that read, and the grace periods over them.
class registry {
 public:
  /// `wanted` is a preference: membarrier falls back to fences where the
  /// call is not available (order() says which is in use).
  explicit registry(mode wanted)
      : order_(wanted == mode::membarrier && impl::membarrier_usable() ? mode::membarrier
                                                                       : mode::fences) {}
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The process's registry, which every snapshot_cell uses. Never destroyed:
  /// threads may still leave it after static objects are gone.
  static registry& process() {
    static registry* const instance = new registry(mode::membarrier);
    return *instance;
  }

  [[nodiscard]] mode order() const noexcept { return order_; }

  /// A thread's record joins before its first section and leaves when the
  /// thread is done reading (its sections all closed).
  void add(reader& r) {
    const std::lock_guard<std::mutex> lock(mutex_);
    r.order = order_;
    r.prev = nullptr;
    r.next = head_;
    if (head_ != nullptr) head_->prev = &r;
    head_ = &r;
  }
  void remove(reader& r) {
    const std::lock_guard<std::mutex> lock(mutex_);
    (r.prev != nullptr ? r.prev->next : head_) = r.next;
    if (r.next != nullptr) r.next->prev = r.prev;
    r.next = r.prev = nullptr;
  }

  /// Returns once every section that may have loaded the pointer the caller
  /// replaced (storing the new one with memory_order_seq_cst before the call)
  /// has ended. The caller must not be inside a section: it would wait for
  /// itself.
  void synchronize() {
    const std::lock_guard<std::mutex> lock(mutex_);
#if defined(__linux__)
    // Cannot fail where registering succeeded once; were it to, readers
    // would be unordered, and nothing could ever be freed safely.
    if (order_ == mode::membarrier && !impl::membarrier_everywhere()) std::terminate();
#endif
    for (const reader* r = head_; r != nullptr; r = r->next) {
      const std::uint64_t seen = r->state.load(std::memory_order_seq_cst);
      if ((seen & 1) == 0) continue;
      while (r->state.load(std::memory_order_acquire) == seen) std::this_thread::yield();
    }
  }

 private:
  const mode order_;
  std::mutex mutex_;
  reader* head_ = nullptr;
};

namespace impl {

struct thread_record {
  reader record;
  thread_record() { registry::process().add(record); }
  ~thread_record() { registry::process().remove(record); }
  thread_record(const thread_record&) = delete;
  thread_record& operator=(const thread_record&) = delete;
};

}  // namespace impl

/// This thread's record in the process's registry, added on first use.
[[nodiscard]] inline reader& this_thread() noexcept {
  thread_local impl::thread_record mine;
  return mine.record;
}

}  // namespace tokenguard::detail::read_sections

#endif  // TOKENGUARD_DETAIL_READ_SECTIONS_HPP
