#ifndef TOKENGUARD_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP
#define TOKENGUARD_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP

// The test binary replaces the global allocation functions with counting
// ones (support/allocation_counter.cpp). Counts are per thread.

#include <gtest/gtest.h>

namespace tokenguard::testing {
/// False under ThreadSanitizer, whose runtime owns the allocation functions.
bool allocation_counting_enabled() noexcept;
/// Heap allocations made by the calling thread so far.
long allocations_on_this_thread() noexcept;
/// Starts the calling thread's count again from zero.
void reset_allocations_on_this_thread() noexcept;
/// While on, every allocation of the calling thread fails (bad_alloc).
void fail_allocations_on_this_thread(bool on) noexcept;
}  // namespace tokenguard::testing

/// First statement of a test that counts or fails allocations.
#define TOKENGUARD_REQUIRE_ALLOCATION_COUNTING()                          \
  do {                                                                    \
    if (!::tokenguard::testing::allocation_counting_enabled()) {          \
      GTEST_SKIP() << "allocation counting is off under ThreadSanitizer"; \
    }                                                                     \
  } while (false)

#endif  // TOKENGUARD_TESTS_SUPPORT_ALLOCATION_COUNTER_HPP
