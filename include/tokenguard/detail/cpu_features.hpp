#ifndef TOKENGUARD_DETAIL_CPU_FEATURES_HPP
#define TOKENGUARD_DETAIL_CPU_FEATURES_HPP

/// Paths for wider vector instructions than the build targets, chosen once per
/// process at run time. GCC and Clang on x86-64 compile such a path with
/// `gnu::target("avx2")`; TOKENGUARD_X86_AVX2_PATHS says whether they exist,
/// and a build that targets AVX2 anyway (-mavx2, -march=native) calls them
/// without asking.

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TOKENGUARD_X86_AVX2_PATHS 1
#include <immintrin.h>
#else
#define TOKENGUARD_X86_AVX2_PATHS 0
#endif

namespace tokenguard::detail {

#if TOKENGUARD_X86_AVX2_PATHS
/// Whether this processor runs AVX2: asked once a process, then one load.
[[nodiscard]] inline bool cpu_has_avx2() noexcept {
#if defined(__AVX2__)
  return true;
#else
  static const bool has = [] {
    __builtin_cpu_init();  // may run before the constructors that would have called it
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
#endif
}
#endif

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_CPU_FEATURES_HPP
