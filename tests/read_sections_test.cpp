#include "tokenguard/detail/read_sections.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tokenguard/detail/snapshot_cell.hpp"

namespace {

namespace rs = tokenguard::detail::read_sections;
using tokenguard::detail::snapshot_cell;

/// What readers see: `alive` is cleared just before the object is deleted, so
/// a reader that finds it cleared saw an object its writer thought unseen.
struct payload {
  explicit payload(long v) : value(v) {}
  ~payload() { alive.store(false); }
  payload(const payload&) = delete;
  payload& operator=(const payload&) = delete;
  std::atomic<bool> alive{true};
  long value;
};

/// A record that joins `reg` for the life of one reading thread.
class joined {
 public:
  explicit joined(rs::registry& reg) : reg_(reg) { reg_.add(record); }
  ~joined() { reg_.remove(record); }
  joined(const joined&) = delete;
  joined& operator=(const joined&) = delete;
  rs::reader record;

 private:
  rs::registry& reg_;
};

class ReadSections : public ::testing::TestWithParam<rs::mode> {};

// Readers hold a pointer across a section, touching the object several times;
// the writer publishes a new one, waits a grace period and deletes the old.
TEST_P(ReadSections, AWriterWaitsForEverySectionThatSawTheOldPointer) {
  rs::registry reg(GetParam());
  std::atomic<payload*> current{new payload(0)};
  std::atomic<bool> stop{false};
  std::atomic<long> dead_seen{0};
  std::atomic<long> sections{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      joined me(reg);
      while (!stop.load(std::memory_order_relaxed)) {
        rs::enter(me.record);
        const payload* p = current.load(std::memory_order_seq_cst);
        for (int k = 0; k < 50; ++k) {
          if (!p->alive.load(std::memory_order_relaxed)) ++dead_seen;
        }
        rs::leave(me.record);
        sections.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  while (sections.load() < 100) std::this_thread::yield();
  for (long i = 1; i <= 300; ++i) {
    payload* old = current.exchange(new payload(i), std::memory_order_seq_cst);
    reg.synchronize();
    delete old;
  }
  stop = true;
  for (auto& t : readers) t.join();
  delete current.load();
  EXPECT_EQ(dead_seen.load(), 0);
  EXPECT_GT(sections.load(), 100);
}

// A nested section ends with the outermost one, and only then may a writer go on.
TEST_P(ReadSections, NestedSectionsEndWithTheOutermost) {
  rs::registry reg(GetParam());
  joined me(reg);
  rs::enter(me.record);
  rs::enter(me.record);
  rs::leave(me.record);
  std::atomic<bool> synchronized{false};
  std::thread writer([&] {
    reg.synchronize();
    synchronized = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(synchronized.load()) << "the writer went on while the outer section was open";
  rs::leave(me.record);
  writer.join();
  EXPECT_TRUE(synchronized.load());
  EXPECT_EQ(me.record.depth, 0U);
}

// Records leave the registry mid-stream: a writer never waits on a thread that is gone.
TEST_P(ReadSections, ThreadsJoinAndLeaveWhileAWriterWaits) {
  rs::registry reg(GetParam());
  std::atomic<bool> stop{false};
  std::atomic<long> grace_periods{0};
  std::thread writer([&] {
    while (!stop.load()) {
      reg.synchronize();
      ++grace_periods;
    }
  });
  int rounds = 0;
  for (; rounds < 50; ++rounds) {
    std::thread reader([&] {
      joined me(reg);
      for (int k = 0; k < 10; ++k) {
        rs::enter(me.record);
        rs::leave(me.record);
      }
    });
    reader.join();
  }
  while (grace_periods.load() < 10) std::this_thread::yield();
  stop = true;
  writer.join();
  EXPECT_EQ(rounds, 50);
  EXPECT_GE(grace_periods.load(), 10);
}

INSTANTIATE_TEST_SUITE_P(BothOrders, ReadSections,
                         ::testing::Values(rs::mode::membarrier, rs::mode::fences),
                         [](const ::testing::TestParamInfo<rs::mode>& info) {
                           return std::string(info.param == rs::mode::membarrier ? "Membarrier"
                                                                                 : "Fences");
                         });

TEST(ReadSectionsRegistry, MembarrierFallsBackToFencesOnlyWhereUnavailable) {
  // Whichever order the kernel allows, the fences order is always granted as asked.
  EXPECT_EQ(rs::registry(rs::mode::fences).order(), rs::mode::fences);
  const rs::mode got = rs::registry(rs::mode::membarrier).order();
#if !defined(__linux__)
  EXPECT_EQ(got, rs::mode::fences);
#endif
  RecordProperty("membarrier_in_use", got == rs::mode::membarrier ? "yes" : "no");
}

// The cell on the process's registry, with readers on short-lived threads.
TEST(SnapshotCell, ReadersOnThreadsThatComeAndGoSeeOnlyLiveSnapshots) {
  snapshot_cell<payload> cell;
  cell.replace(std::make_shared<const payload>(0));
  std::atomic<bool> stop{false};
  std::atomic<long> dead_seen{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> spawners;
  for (int t = 0; t < 2; ++t) {
    spawners.emplace_back([&] {
      while (!stop.load()) {
        std::thread reader([&] {
          for (int k = 0; k < 100; ++k) {
            const auto g = cell.acquire();
            if (!g.get()->alive.load(std::memory_order_relaxed)) ++dead_seen;
            ++reads;
          }
        });
        reader.join();
      }
    });
  }
  while (reads.load() < 1000) std::this_thread::yield();
  for (long i = 1; i <= 500; ++i) cell.replace(std::make_shared<const payload>(i));
  stop = true;
  for (auto& t : spawners) t.join();
  EXPECT_EQ(dead_seen.load(), 0);
  EXPECT_EQ(cell.share()->value, 500);
}

TEST(SnapshotCell, ReplacingFromInsideAGuardIsRefusedAndChangesNothing) {
  snapshot_cell<payload> cell;
  snapshot_cell<payload> other;
  cell.replace(std::make_shared<const payload>(1));
  {
    const auto g = cell.acquire();
    EXPECT_THROW(cell.replace(std::make_shared<const payload>(2)), std::logic_error);
    // Any cell: the grace period covers every section of the thread.
    EXPECT_THROW(other.replace(std::make_shared<const payload>(3)), std::logic_error);
    EXPECT_EQ(g.get()->value, 1);
  }
  EXPECT_EQ(cell.share()->value, 1);
  EXPECT_EQ(other.share(), nullptr);
  cell.replace(std::make_shared<const payload>(2));  // outside the guard it goes through
  EXPECT_EQ(cell.acquire().get()->value, 2);
}

}  // namespace

namespace {

// A forked child (a pre-forking server's worker) replaces snapshots too, with
// the registry its parent made (membarrier registrations belong to an
// address space; the child registers again if it was not carried over).
TEST(SnapshotCell, AForkedChildReplacesItsSnapshot) {
  snapshot_cell<payload> cell;
  cell.replace(std::make_shared<const payload>(1));
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    cell.replace(std::make_shared<const payload>(2));
    const auto g = cell.acquire();
    _exit(g.get()->value == 2 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(cell.acquire().get()->value, 1);
}

}  // namespace
