#ifndef TOKENGUARD_DETAIL_TEXT_HASH_HPP
#define TOKENGUARD_DETAIL_TEXT_HASH_HPP

#include <cstddef>
#include <functional>
#include <string_view>

namespace tokenguard::detail {

/// For open-addressing tables keyed by text: std::hash reads eight bytes at a
/// time where boost::hash of a string_view (Boost 1.81) reads one, which cost
/// a tenth of loading a store whose tokens repeat 200-byte limitTo texts.
struct text_hash {
  [[nodiscard]] std::size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_TEXT_HASH_HPP
