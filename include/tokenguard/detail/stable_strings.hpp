#ifndef TOKENGUARD_DETAIL_STABLE_STRINGS_HPP
#define TOKENGUARD_DETAIL_STABLE_STRINGS_HPP

/// Append-only storage for many short strings whose views must stay valid
/// while more are added: copies go into fixed-size blocks that never move, so
/// a hash table can key on string_view without a heap string per key (one
/// allocation per key was the largest single cost of loading a million
/// tokens).

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace tokenguard::detail {

class stable_strings {
 public:
  static constexpr std::size_t block_bytes = std::size_t{64} << 10;

  /// A copy of `text` that lives as long as this object.
  [[nodiscard]] std::string_view keep(std::string_view text) {
    if (text.empty()) return {};
    if (text.size() > block_bytes / 8) {
      // A long string gets an allocation of its own, so that a block's tail
      // is never wasted on it.
      large_.push_back(std::make_unique_for_overwrite<char[]>(text.size()));
      std::memcpy(large_.back().get(), text.data(), text.size());
      return {large_.back().get(), text.size()};
    }
    if (text.size() > room_) {
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_bytes));
      next_ = blocks_.back().get();
      room_ = block_bytes;
    }
    char* at = next_;
    std::memcpy(at, text.data(), text.size());
    next_ += text.size();
    room_ -= text.size();
    return {at, text.size()};
  }

  /// Takes over the strings of `other`, whose views stay valid (the blocks
  /// do not move); what is kept later goes on in this object's own block.
  void adopt(stable_strings&& other) {
    blocks_.reserve(blocks_.size() + other.blocks_.size());
    large_.reserve(large_.size() + other.large_.size());
    for (auto& block : other.blocks_) blocks_.push_back(std::move(block));
    for (auto& text : other.large_) large_.push_back(std::move(text));
    other = stable_strings{};
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::unique_ptr<char[]>> large_;
  char* next_ = nullptr;
  std::size_t room_ = 0;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_STABLE_STRINGS_HPP
