// Counting (and, on request, failing) global allocation functions, per
// thread, shared by every test that shows a path allocates nothing. One
// definition for the whole test binary.

#include "allocation_counter.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_THREAD__)
#define TOKENGUARD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TOKENGUARD_TSAN 1
#endif
#endif

#ifndef TOKENGUARD_TSAN

namespace {
thread_local long allocations = 0;
thread_local bool fail_allocations = false;

void* counted_malloc(std::size_t n) noexcept {
  if (fail_allocations) return nullptr;
  ++allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_aligned(std::size_t n, std::size_t align) noexcept {
  if (fail_allocations) return nullptr;
  ++allocations;
  void* p = nullptr;
  if (align < sizeof(void*)) align = sizeof(void*);
  if (posix_memalign(&p, align, n == 0 ? 1 : n) != 0) return nullptr;
  return p;
}
/// Out of line so that GCC does not pair an inlined free() with operator new
/// and warn (-Wmismatched-new-delete) about what is, here, a matched pair.
[[gnu::noinline]] void counted_free(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_aligned(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_aligned(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_free(p);
}

#endif  // TOKENGUARD_TSAN

namespace tokenguard::testing {
#ifdef TOKENGUARD_TSAN
bool allocation_counting_enabled() noexcept { return false; }
long allocations_on_this_thread() noexcept { return 0; }
void reset_allocations_on_this_thread() noexcept {}
void fail_allocations_on_this_thread(bool) noexcept {}
}  // namespace tokenguard::testing
#else
bool allocation_counting_enabled() noexcept { return true; }
long allocations_on_this_thread() noexcept { return allocations; }
void reset_allocations_on_this_thread() noexcept { allocations = 0; }
void fail_allocations_on_this_thread(bool on) noexcept { fail_allocations = on; }
}  // namespace tokenguard::testing
#endif  // TOKENGUARD_TSAN
