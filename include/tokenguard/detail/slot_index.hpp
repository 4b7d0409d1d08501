#ifndef TOKENGUARD_DETAIL_SLOT_INDEX_HPP
#define TOKENGUARD_DETAIL_SLOT_INDEX_HPP

/// Texts numbered 0, 1, 2, ... in the order they were added, and found by
/// text: the usage table's index of token ids. Open addressing over 8-byte
/// cells (a number and 32 bits of the text's hash), at most half full, so a
/// probe is one cache line; the texts live in stable_strings, in number
/// order. Because the cell of a text follows from its hash alone, a caller
/// that knows the next texts can prefetch their cells (binding a million ids
/// spent most of its time waiting for one cell after another; a library
/// table does not say where a key's cell is).
///
/// Not thread-safe: the owner locks.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenguard/detail/prefetch.hpp"
#include "tokenguard/detail/stable_strings.hpp"
#include "tokenguard/detail/text_hash.hpp"

namespace tokenguard::detail {

class slot_index {
 public:
  using number = std::uint32_t;

  [[nodiscard]] static std::size_t hash(std::string_view text) noexcept {
    return text_hash{}(text);
  }

  [[nodiscard]] std::size_t size() const noexcept { return texts_.size(); }

  /// Room for `count` texts in all without growing.
  void reserve(std::size_t count) {
    texts_.reserve(count);
    if (2 * count > cells_.size()) rebuild(std::bit_ceil(2 * count));
  }

  /// Starts fetching the cell where a text of this hash is looked for.
  void prefetch(std::size_t text_hash) const noexcept {
    if (!cells_.empty()) prefetch_for_write(&cells_[text_hash & mask_]);
  }

  /// The number of `text` (whose hash() is `text_hash`), if it was added.
  [[nodiscard]] std::optional<number> find(std::string_view text,
                                           std::size_t text_hash) const noexcept {
    if (cells_.empty()) return std::nullopt;
    const auto tag = static_cast<std::uint32_t>(text_hash >> 32);
    for (std::size_t at = text_hash & mask_;; at = (at + 1) & mask_) {
      const cell& c = cells_[at];
      if (c.id == empty) return std::nullopt;
      if (c.tag == tag && texts_[c.id] == text) return c.id;
    }
  }

  /// Adds `text`, which find() did not find, and returns its number (size()
  /// before the call). `text_hash` is hash(text): a rebuild places each text
  /// by it. The caller keeps the count under max_count.
  number add(std::string_view text, std::size_t text_hash) {
    if (2 * (texts_.size() + 1) > cells_.size()) {
      rebuild(std::max<std::size_t>(64, 2 * cells_.size()));
    }
    const auto n = static_cast<number>(texts_.size());
    texts_.push_back(strings_.keep(text));
    place(n, text_hash);
    return n;
  }

  /// The most texts an index numbers (the last number is kept for "empty").
  static constexpr std::size_t max_count = std::numeric_limits<number>::max() - 1;

 private:
  struct cell {
    number id = empty;
    std::uint32_t tag = 0;
  };
  static constexpr number empty = std::numeric_limits<number>::max();

  void place(number n, std::size_t text_hash) noexcept {
    std::size_t at = text_hash & mask_;
    while (cells_[at].id != empty) at = (at + 1) & mask_;
    cells_[at] = {n, static_cast<std::uint32_t>(text_hash >> 32)};
  }

  /// A larger table, filled again from the texts in number order (no cell
  /// of the old table is read).
  void rebuild(std::size_t capacity) {
    cells_.assign(capacity, cell{});
    mask_ = capacity - 1;
    for (std::size_t n = 0; n < texts_.size(); ++n) {
      place(static_cast<number>(n), hash(texts_[n]));
    }
  }

  std::vector<cell> cells_;
  std::size_t mask_ = 0;
  std::vector<std::string_view> texts_;  ///< by number
  stable_strings strings_;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_SLOT_INDEX_HPP
