#ifndef TOKENGUARD_TESTS_SUPPORT_FORWARDING_USAGE_HPP
#define TOKENGUARD_TESTS_SUPPORT_FORWARDING_USAGE_HPP

/// A usage store that implements only what it must (bind_all and reserve are
/// the interface's defaults), over a local_usage: it counts its binds, and it
/// can be given room for only so many new slots, as a full shared store would.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "tokenguard/usage.hpp"

namespace tokenguard::testing {

class forwarding_usage final : public usage_store {
 public:
  forwarding_usage() = default;
  /// Room for `new_slots` ids; a bind of any other id answers nullopt.
  explicit forwarding_usage(std::size_t new_slots) : room_(new_slots) {}

  std::optional<usage_slot> bind(std::string_view id, std::uint64_t initial) override {
    ++binds;
    if (!inner.find(id)) {
      if (room_ == 0) return std::nullopt;
      --room_;
    }
    return inner.bind(id, initial);
  }
  bool try_consume(usage_slot slot, std::uint64_t limit) noexcept override {
    return inner.try_consume(slot, limit);
  }
  void record_use(usage_slot slot, std::int64_t now_ms,
                  const ip_address& client) noexcept override {
    inner.record_use(slot, now_ms, client);
  }
  usage_snapshot read(usage_slot slot) const noexcept override { return inner.read(slot); }
  std::optional<usage_slot> find(std::string_view id) const override { return inner.find(id); }

  local_usage inner;
  std::size_t binds = 0;

 private:
  std::size_t room_ = std::numeric_limits<std::size_t>::max();
};

}  // namespace tokenguard::testing

#endif  // TOKENGUARD_TESTS_SUPPORT_FORWARDING_USAGE_HPP
