// local_usage (the in-process usage_store) and the append-only string storage
// its id index keys on.

#include "tokenguard/usage.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/stable_strings.hpp"

namespace tokenguard {
namespace {

std::string id_of(std::size_t i) { return "token-id-" + std::to_string(i * 7919); }

TEST(StableStrings, KeptCopiesStayValidAcrossBlocksAndLongStrings) {
  detail::stable_strings strings;
  std::vector<std::string> originals;
  std::vector<std::string_view> kept;
  // Enough to fill several 64 KiB blocks, with strings longer than a block's
  // share (their own allocation) and ones longer than a block in between.
  for (std::size_t i = 0; i < 20'000; ++i) {
    std::string text = id_of(i);
    if (i % 997 == 0) text.append(detail::stable_strings::block_bytes / 8 + 1, 'L');
    if (i % 4999 == 0) text.append(detail::stable_strings::block_bytes + 3, 'X');
    originals.push_back(text);
    kept.push_back(strings.keep(text));
    EXPECT_NE(static_cast<const void*>(kept.back().data()),
              static_cast<const void*>(originals.back().data()));
  }
  for (std::size_t i = 0; i < originals.size(); ++i) {
    ASSERT_EQ(kept[i], originals[i]) << "string " << i;
  }
}

TEST(StableStrings, AStringThatFillsTheBlockExactlyAndTheEmptyString) {
  detail::stable_strings strings;
  const std::string piece(detail::stable_strings::block_bytes / 8, 'p');
  std::vector<std::string_view> kept;
  for (std::size_t i = 0; i < 8; ++i) kept.push_back(strings.keep(piece));  // one full block
  const std::string_view next = strings.keep("next");
  for (const std::string_view k : kept) EXPECT_EQ(k, piece);
  EXPECT_EQ(next, "next");
  EXPECT_TRUE(strings.keep("").empty());
}

TEST(LocalUsage, BindGivesOneSlotPerIdAndTheLargerCountWins) {
  local_usage usage;
  const auto a = usage.bind("alpha", 5);
  const auto b = usage.bind("beta", 0);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(usage.read(*a).count, 5U);
  EXPECT_EQ(usage.bind("alpha", 3), a);  // a reload with an older count
  EXPECT_EQ(usage.read(*a).count, 5U);
  EXPECT_EQ(usage.bind("alpha", 9), a);  // a file with a newer count
  EXPECT_EQ(usage.read(*a).count, 9U);
  EXPECT_EQ(usage.find("alpha"), a);
  EXPECT_EQ(usage.find("beta"), b);
  EXPECT_EQ(usage.find("gamma"), std::nullopt);
  EXPECT_EQ(usage.find("alph"), std::nullopt);
}

TEST(LocalUsage, ManyIdsKeepTheirSlotsThroughGrowthAndARebind) {
  local_usage usage;
  constexpr std::size_t n = 50'000;  // past several chunks, blocks and rehashes
  std::vector<usage_slot> slots;
  for (std::size_t i = 0; i < n; ++i) {
    std::string id = id_of(i);  // a temporary: the index must keep its own copy
    const auto slot = usage.bind(id, i);
    ASSERT_TRUE(slot);
    slots.push_back(*slot);
  }
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(usage.find(id_of(i)), slots[i]) << id_of(i);
    ASSERT_EQ(usage.read(slots[i]).count, i);
  }
  usage.reserve(2 * n);  // a hint after the fact changes nothing
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(usage.bind(id_of(i), 0), slots[i]);
  EXPECT_TRUE(usage.try_consume(slots[n - 1], 0));
  EXPECT_EQ(usage.read(slots[n - 1]).count, n);
}

}  // namespace
}  // namespace tokenguard
