// detail::huge_page_allocator: small blocks from std::allocator, large ones
// as their own mappings aligned to 2 MiB and advised for huge pages; a
// vector on it keeps its contents through growth across the threshold.

#include "tokenguard/detail/huge_pages.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

namespace tokenguard::detail {
namespace {

using huge_vector = std::vector<std::uint64_t, huge_page_allocator<std::uint64_t>>;

#if defined(__linux__)
/// The VmFlags of the mapping of /proc/self/smaps that holds `address`.
std::string mapping_flags(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t first = 0;
    std::uintptr_t last = 0;
    char dash = 0;
    std::istringstream range(line);
    if (line.find("VmFlags:") == 0) {
      if (inside) return line;
      continue;
    }
    if (range >> std::hex >> first >> dash >> last && dash == '-')
      inside = first <= at && at < last;
  }
  return "";
}
#endif

TEST(HugePageAllocator, ALargeBlockIsAlignedTo2MiBAndAdvisedForHugePages) {
  huge_vector v(3 * (huge_page_bytes / sizeof(std::uint64_t)), 7);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % huge_page_bytes, 0U);
  for (std::size_t i = 0; i < v.size(); i += 4096) ASSERT_EQ(v[i], 7U);
  EXPECT_EQ(v.back(), 7U);
#if defined(__linux__)
  const std::string flags = mapping_flags(v.data());
  ASSERT_FALSE(flags.empty()) << "no mapping holds the block";
  // A kernel built without transparent huge pages refuses the advice (the
  // block is then on small pages, which the checks above cover).
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) {
    GTEST_SKIP() << "this kernel has no transparent huge pages";
  }
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;  // MADV_HUGEPAGE
#endif
}

TEST(HugePageAllocator, ASmallBlockComesFromTheHeapUnadvised) {
  huge_vector v(1000, 3);
  EXPECT_EQ(v[999], 3U);
#if defined(__linux__)
  EXPECT_EQ(mapping_flags(v.data()).find(" hg"), std::string::npos);
#endif
}

TEST(HugePageAllocator, AVectorKeepsItsContentsGrowingPastTheThresholdAndBack) {
  huge_vector v;
  const std::size_t n = huge_page_bytes / sizeof(std::uint64_t) * 2 + 17;
  for (std::size_t i = 0; i < n; ++i) v.push_back(i * 2654435761U);  // small, then mapped
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i * 2654435761U) << i;
  v.resize(100);
  v.shrink_to_fit();  // mapped, then small again
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], i * 2654435761U) << i;
  huge_vector copy = v;
  EXPECT_EQ(copy, v);
}

TEST(HugePageAllocator, ARequestPastTheAddressSpaceThrowsRatherThanWrapping) {
  huge_page_allocator<std::uint64_t> allocator;
  EXPECT_THROW((void)allocator.allocate(static_cast<std::size_t>(-1) / 8),
               std::bad_array_new_length);
  EXPECT_THROW((void)allocator.allocate(static_cast<std::size_t>(-1) / 8 - huge_page_bytes / 8),
               std::bad_array_new_length);
}

}  // namespace
}  // namespace tokenguard::detail
