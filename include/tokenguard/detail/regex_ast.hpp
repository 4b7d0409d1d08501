#ifndef TOKENGUARD_DETAIL_REGEX_AST_HPP
#define TOKENGUARD_DETAIL_REGEX_AST_HPP

/// The structure of a translated rule regex, as the Java parser saw it. The
/// translator builds it next to the Boost text; the load-time screen
/// (regex_screen.hpp) and the literal prefilter (prefilter.hpp) read it, so
/// neither has to parse Boost syntax again.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tokenguard::detail {

using code_point_range = std::pair<char32_t, char32_t>;

inline constexpr std::uint32_t regex_unbounded = 0xFFFFFFFF;
inline constexpr std::uint32_t regex_no_node = 0xFFFFFFFF;

struct regex_node {
  enum class kind : std::uint8_t {
    empty,
    chars,         ///< one code point out of `set`
    sequence,      ///< children in order
    alternation,   ///< one of the children
    repeat,        ///< children[0] {min,max}
    group,         ///< children[0], capturing or not
    atomic,        ///< (?>children[0])
    lookaround,    ///< (?=...) (?!...) (?<=...) (?<!...): zero width
    start_anchor,  ///< \A, or ^ without (?m): true only at offset 0
    end_anchor,    ///< \z, \Z, or $ without (?m): always true at the end of the text
    assertion,     ///< any other zero-width test: \b \B, (?m)^, (?m)$
    backref,
  };
  enum class greed : std::uint8_t { greedy, lazy, possessive };

  kind type = kind::empty;
  greed mode = greed::greedy;         ///< repeat
  bool capturing = false;             ///< group
  std::uint32_t min = 0;              ///< repeat
  std::uint32_t max = 0;              ///< repeat; regex_unbounded for *, + and {n,}
  std::size_t offset = 0;             ///< byte offset of the construct in the Java text
  std::vector<code_point_range> set;  ///< chars: sorted, disjoint, non-adjacent
  std::vector<std::uint32_t> children;
};

struct regex_ast {
  std::vector<regex_node> nodes;
  std::uint32_t root = regex_no_node;

  [[nodiscard]] const regex_node& at(std::uint32_t i) const { return nodes[i]; }
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_REGEX_AST_HPP
