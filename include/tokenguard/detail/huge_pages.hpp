#ifndef TOKENGUARD_DETAIL_HUGE_PAGES_HPP
#define TOKENGUARD_DETAIL_HUGE_PAGES_HPP

/// An allocator for the few large tables a decision reads at random (the
/// token table, the rule arena). A store of a million tokens spreads its
/// table over some 60 000 pages of 4 KiB, far more than the TLB holds, so
/// each lookup pays a page walk before its cache miss. Linux maps such a
/// table on 2 MiB pages when asked (transparent huge pages in `madvise`
/// mode, Debian's default, give them only to regions marked
/// MADV_HUGEPAGE), and then a few hundred TLB entries cover it.
///
/// From huge_page_bytes up, a block is its own mapping, aligned to 2 MiB and
/// marked before anything touches it; below, and off Linux, it is
/// std::allocator's. The advice is a hint: where the kernel declines it
/// (THP off, no free huge page), the table is on small pages and every
/// result is the same.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace tokenguard::detail {

inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

/// A mapping of at least `bytes` bytes (a multiple of huge_page_bytes),
/// aligned to huge_page_bytes and advised for huge pages; nullptr when the
/// system has no such mapping to give.
[[nodiscard]] inline void* map_huge_pages(std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Map one huge page more than asked, then give back what lies before the
  // first 2 MiB boundary and after the block.
  const std::size_t span = bytes + huge_page_bytes;
  void* mapped = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  const std::size_t misalignment = reinterpret_cast<std::uintptr_t>(mapped) % huge_page_bytes;
  const std::size_t head = misalignment == 0 ? 0 : huge_page_bytes - misalignment;
  const std::size_t tail = span - head - bytes;
  char* const block = static_cast<char*>(mapped) + head;
  if (head > 0) ::munmap(mapped, head);
  if (tail > 0) ::munmap(block + bytes, tail);
  (void)::madvise(block, bytes, MADV_HUGEPAGE);  // a hint; refused, the pages are small
  return block;
#else
  (void)bytes;
  return nullptr;
#endif
}

inline void unmap_huge_pages(void* block, std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  ::munmap(block, bytes);
#else
  (void)block;
  (void)bytes;
#endif
}

template <class T>
class huge_page_allocator {
 public:
  using value_type = T;

  huge_page_allocator() noexcept = default;
  // Implicit, as containers convert an allocator between element types.
  template <class U>
  huge_page_allocator(const huge_page_allocator<U>& /*other*/) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    // Room for the rounding and the alignment slack of map_huge_pages.
    if (n > (static_cast<std::size_t>(-1) - 2 * huge_page_bytes) / sizeof(T)) {
      throw std::bad_array_new_length();
    }
    if (maps_on_this_system && n * sizeof(T) >= huge_page_bytes) {
      void* block = map_huge_pages(mapped_bytes(n * sizeof(T)));
      if (block == nullptr) throw std::bad_alloc();
      return static_cast<T*>(block);
    }
    return std::allocator<T>{}.allocate(n);
  }

  void deallocate(T* p, std::size_t n) noexcept {
    if (maps_on_this_system && n * sizeof(T) >= huge_page_bytes) {
      unmap_huge_pages(p, mapped_bytes(n * sizeof(T)));
      return;
    }
    std::allocator<T>{}.deallocate(p, n);
  }

  template <class U>
  friend bool operator==(const huge_page_allocator& /*a*/,
                         const huge_page_allocator<U>& /*b*/) noexcept {
    return true;
  }

 private:
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  static constexpr bool maps_on_this_system = true;
#else
  static constexpr bool maps_on_this_system = false;
#endif
  [[nodiscard]] static constexpr std::size_t mapped_bytes(std::size_t bytes) noexcept {
    return (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
  }
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_HUGE_PAGES_HPP
