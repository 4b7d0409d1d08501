// local_usage (the in-process usage_store), its id index (slot_index) and the
// append-only string storage that index keeps its ids in; usage_store's
// batch binding, local and by default, as store::compile uses it.

#include "tokenguard/usage.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/forwarding_usage.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/detail/slot_index.hpp"
#include "tokenguard/detail/stable_strings.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/token.hpp"

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

TEST(LocalUsage, SlotsOnEitherSideOfEachChunkBoundaryAreTheirOwn) {
  // Chunks double in size: they start at slots 4096, 12288, 28672, 61440
  // (the first one large enough for huge pages) and 126976.
  local_usage usage;
  constexpr std::size_t n = 126'976 + 5;
  std::vector<usage_slot> slots;
  for (std::size_t i = 0; i < n; ++i) {
    const auto slot = usage.bind(id_of(i), 0);
    ASSERT_TRUE(slot);
    slots.push_back(*slot);
  }
  const auto client = [](std::size_t i) {
    return ip_address::v4(0x0A000000U | static_cast<std::uint32_t>(i));
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t use = 0; use < i % 3 + 1; ++use) ASSERT_TRUE(usage.try_consume(slots[i], 0));
    usage.record_use(slots[i], static_cast<std::int64_t>(i) + 1, client(i));
  }
  for (const std::size_t boundary : {4'096U, 12'288U, 28'672U, 61'440U, 126'976U}) {
    for (std::size_t i = boundary - 2; i < boundary + 2; ++i) {
      const usage_snapshot seen = usage.read(slots[i]);
      EXPECT_EQ(seen.count, i % 3 + 1) << i;
      EXPECT_EQ(seen.last_used_ms, static_cast<std::int64_t>(i) + 1) << i;
      EXPECT_EQ(seen.last_address, client(i)) << i;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(usage.read(slots[i]).count, i % 3 + 1) << i;
    ASSERT_EQ(usage.read(slots[i]).last_used_ms, static_cast<std::int64_t>(i) + 1) << i;
  }
}

TEST(SlotIndex, NumbersInOrderAndFindsOnlyWhatWasAdded) {
  detail::slot_index index;
  EXPECT_EQ(index.find("a", detail::slot_index::hash("a")), std::nullopt);  // empty table
  for (const std::string_view text : {"alpha", "beta", "", "alphabet"}) {
    const std::size_t next = index.size();
    EXPECT_EQ(index.add(text, detail::slot_index::hash(text)), next);
  }
  EXPECT_EQ(index.find("alpha", detail::slot_index::hash("alpha")), 0U);
  EXPECT_EQ(index.find("beta", detail::slot_index::hash("beta")), 1U);
  EXPECT_EQ(index.find("", detail::slot_index::hash("")), 2U);
  EXPECT_EQ(index.find("alphabet", detail::slot_index::hash("alphabet")), 3U);
  EXPECT_EQ(index.find("alph", detail::slot_index::hash("alph")), std::nullopt);
}

TEST(SlotIndex, TextsOfOneHashAreToldApartByTheirBytes) {
  // The caller gives the hash: the same one for every text here, so each
  // lookup walks past cells whose number and tag match but whose text does not.
  detail::slot_index index;
  // Reserved first: a rebuild places every text by its real hash.
  index.reserve(100);
  constexpr std::size_t same = 0x1234'5678'9ABC'DEF0ULL;
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(index.add(id_of(i), same), i);
  for (std::size_t i = 0; i < 100; ++i) ASSERT_EQ(index.find(id_of(i), same), i);
  EXPECT_EQ(index.find(id_of(100), same), std::nullopt);
}

TEST(SlotIndex, KeepsItsNumbersThroughRebuildsAndAReserve) {
  detail::slot_index index;
  constexpr std::size_t n = 20'000;  // from 64 cells through nine rebuilds
  for (std::size_t i = 0; i < n; ++i) {
    const std::string id = id_of(i);  // a temporary: the index keeps its own copy
    ASSERT_EQ(index.add(id, detail::slot_index::hash(id)), i);
    if (i == n / 2) index.reserve(4 * n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(index.find(id_of(i), detail::slot_index::hash(id_of(i))), i);
  }
}

/// bind_all must answer what bind() one by one answers, in the same order:
/// new ids, ids already bound (the larger count wins), an id twice in one
/// batch, and batches shorter and longer than the look-ahead.
TEST(LocalUsage, BindAllAnswersWhatBindAnswersOneByOne) {
  local_usage batched;
  local_usage single;
  std::vector<std::string> ids;
  ids.reserve(1000);  // the bindings view these strings
  std::vector<usage_binding> first;
  for (std::size_t i = 0; i < 1000; ++i) {
    ids.push_back(id_of(i % 700));  // ids 0-299 come twice
    first.push_back({ids.back(), i});
  }
  std::vector<usage_binding> second;  // some known, some new, one id only
  for (std::size_t i = 650; i < 750; ++i)
    second.push_back({ids[i], i % 3 == 0 ? std::uint64_t{10'000} : std::uint64_t{1}});
  const std::vector<usage_binding> short_batch{{"short-a", 1}, {"short-b", 2}, {"short-a", 3}};
  for (const std::vector<usage_binding>* batch :
       std::initializer_list<const std::vector<usage_binding>*>{&first, &second, &short_batch}) {
    std::vector<std::optional<usage_slot>> slots(batch->size());
    batched.bind_all(*batch, slots);
    for (std::size_t i = 0; i < batch->size(); ++i) {
      const auto expected = single.bind((*batch)[i].token_id, (*batch)[i].initial);
      ASSERT_EQ(slots[i], expected) << (*batch)[i].token_id;
    }
  }
  batched.bind_all({}, {});
  for (std::size_t i = 0; i < 750; ++i) {
    const auto slot = single.find(id_of(i));
    ASSERT_EQ(batched.find(id_of(i)), slot) << id_of(i);
    if (slot) {
      ASSERT_EQ(batched.read(*slot).count, single.read(*slot).count) << id_of(i);
    }
  }
  EXPECT_EQ(batched.find("short-a"), single.find("short-a"));
  EXPECT_EQ(batched.read(*batched.find("short-a")).count, 3U);
}

TEST(UsageStore, CompileBindsThroughTheDefaultBindAllAsThroughLocalUsage) {
  std::vector<token_record> records(3);
  records[0].label = "with id";
  records[0].token = "secret-0";
  records[0].id = "t0";
  records[0].counter = 4;
  records[1].label = "without id";
  records[1].token = "secret-1";
  records[1].counter = 7;
  records[2].label = "empty secret, not loaded";
  records[2].token = "";
  records[2].id = "t2";
  testing::forwarding_usage forwarding;
  local_usage local;
  ASSERT_TRUE(store::compile(records, forwarding));
  ASSERT_TRUE(store::compile(records, local));
  EXPECT_EQ(forwarding.binds, 2U) << "one bind a loaded token";
  const std::string digest_key = "sha256:" + detail::to_hex(detail::sha256("secret-1"));
  for (usage_store* usage :
       {static_cast<usage_store*>(&forwarding), static_cast<usage_store*>(&local)}) {
    const auto with_id = usage->find("t0");
    const auto without_id = usage->find(digest_key);
    ASSERT_TRUE(with_id && without_id);
    EXPECT_EQ(usage->read(*with_id).count, 4U);
    EXPECT_EQ(usage->read(*without_id).count, 7U);
    EXPECT_EQ(usage->find("t2"), std::nullopt);
  }
}

}  // namespace
}  // namespace tokenguard
