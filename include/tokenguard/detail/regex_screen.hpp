#ifndef TOKENGUARD_DETAIL_REGEX_SCREEN_HPP
#define TOKENGUARD_DETAIL_REGEX_SCREEN_HPP

/// Load-time screen against catastrophic backtracking (regex denial of
/// service). A backtracking engine takes exponential time when a repeated
/// part can match the same text in more than one way; the classic shapes are
///
/// - a variable repeat inside a loop whose characters can also be taken by
///   what follows it in the loop: `(x+x+)+y`, `(a+)+`, `(.*/)*.*/admin`,
///   `(\w+\s?)+`;
/// - an alternation inside a loop whose branches can match the same text:
///   `(a|a)*b`, `(a|aa)+`.
///
/// Those are refused with the construct, its offset and the reason. The
/// screen is a fast structural test (first-character sets and follow sets, in
/// the manner of Glushkov automata), not a proof: it refuses some harmless
/// patterns of the same shapes and cannot see every slow one (polynomial
/// blow-ups such as `.*a.*a.*a.*b` pass). The matching budget (regex.hpp)
/// bounds every decision whatever the screen lets through.
///
/// Not loops for this purpose: possessive repeats and the inside of atomic
/// groups and lookarounds, which the engine never re-enters by backtracking.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tokenguard/detail/regex_ast.hpp"

namespace tokenguard::detail {

namespace regex_screen_impl {

using cp_ranges = std::vector<code_point_range>;

inline cp_ranges unite(const cp_ranges& a, const cp_ranges& b) {
  cp_ranges all;
  all.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all));
  cp_ranges out;
  for (const code_point_range& r : all) {
    if (!out.empty() && r.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

inline bool overlap(const cp_ranges& a, const cp_ranges& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].second < b[j].first) {
      ++i;
    } else if (b[j].second < a[i].first) {
      ++j;
    } else {
      return true;
    }
  }
  return false;
}

/// A repeat counts as a loop (its body may run again and again) from this many iterations.
inline constexpr std::uint32_t loop_threshold = 16;
/// How far two alternation branches are compared character by character.
inline constexpr std::size_t max_prefix = 64;

class screen {
 public:
  explicit screen(const regex_ast& ast) : ast_(ast), info_(ast.nodes.size()) {
    // Children are always created before their parents: one pass in index order.
    for (std::uint32_t i = 0; i < ast.nodes.size(); ++i) compute(i);
  }

  /// Empty when acceptable, else the reason.
  std::string run() {
    if (ast_.root != regex_no_node) walk(ast_.root, {}, 0, 0);
    return std::move(why_);
  }

 private:
  struct info {
    bool nullable = true;
    cp_ranges first;  ///< code points a non-empty match can start with
  };

  void compute(std::uint32_t id) {
    const regex_node& n = ast_.at(id);
    info& out = info_[id];
    using k = regex_node::kind;
    switch (n.type) {
      case k::chars:
        out.nullable = false;
        out.first = n.set;
        break;
      case k::sequence:
        out.nullable = true;
        for (const std::uint32_t c : n.children) {
          out.first = unite(out.first, info_[c].first);
          if (!info_[c].nullable) {
            out.nullable = false;
            break;
          }
        }
        break;
      case k::alternation:
        out.nullable = false;
        for (const std::uint32_t c : n.children) {
          out.first = unite(out.first, info_[c].first);
          out.nullable = out.nullable || info_[c].nullable;
        }
        break;
      case k::repeat:
        out.nullable = n.min == 0 || n.max == 0 || info_[n.children[0]].nullable;
        if (n.max != 0) out.first = info_[n.children[0]].first;
        break;
      case k::group:
      case k::atomic:
        out = info_[n.children[0]];
        break;
      case k::backref:
        out.first = {{0, 0x10FFFF}};  // unknown text
        break;
      default:  // empty, zero-width
        break;
    }
  }

  bool fail(std::string text) {
    if (why_.empty()) why_ = std::move(text);
    return false;
  }

  /// `follow`: what can come next inside the innermost loop (for a loop body, the body's own
  /// first set: running it again). `loops`: enclosing loops; `loop_at`: the innermost's offset.
  bool walk(std::uint32_t id, const cp_ranges& follow, int loops, std::size_t loop_at) {
    const regex_node& n = ast_.at(id);
    using k = regex_node::kind;
    switch (n.type) {
      case k::sequence: {
        std::vector<cp_ranges> follows(n.children.size());
        cp_ranges f = follow;
        for (std::size_t i = n.children.size(); i-- > 0;) {
          follows[i] = f;
          const info& c = info_[n.children[i]];
          f = c.nullable ? unite(c.first, f) : c.first;
        }
        for (std::size_t i = 0; i < n.children.size(); ++i) {
          if (!walk(n.children[i], follows[i], loops, loop_at)) return false;
        }
        return true;
      }
      case k::alternation:
        if (loops > 0 && !branches_distinct(n, follow, loop_at)) return false;
        for (const std::uint32_t c : n.children) {
          if (!walk(c, follow, loops, loop_at)) return false;
        }
        return true;
      case k::repeat: {
        const info& body = info_[n.children[0]];
        const bool possessive = n.mode == regex_node::greed::possessive;
        const bool variable = n.max > n.min;
        if (loops > 0 && variable && !possessive && overlap(body.first, follow)) {
          return fail("nested quantifier at offset " + std::to_string(n.offset) +
                      ": this repeat, inside the repeat at offset " + std::to_string(loop_at) +
                      ", can take the same characters as what follows it there (as in (x+x+)+y "
                      "or (.*/)*), so matching can take exponential time; make them unable to "
                      "start with the same character, or use a possessive quantifier or an "
                      "atomic group");
        }
        const bool loop = !possessive && n.max >= loop_threshold;
        if (loop) return walk(n.children[0], body.first, loops + 1, n.offset);
        return walk(n.children[0], n.max > 1 ? unite(body.first, follow) : follow, loops, loop_at);
      }
      case k::group:
        return walk(n.children[0], follow, loops, loop_at);
      case k::atomic:
      case k::lookaround:
        // Never re-entered by backtracking once matched: a fresh start inside.
        return walk(n.children[0], {}, 0, 0);
      default:
        return true;
    }
  }

  /// The sets a branch must match from its start, as far as they are fixed; `open`: then
  /// something variable follows; otherwise the branch ends there.
  struct prefix {
    std::vector<const cp_ranges*> sets;
    bool open = false;
  };

  /// Appends the fixed start of node `id`; false once something variable was met.
  bool fixed_prefix(std::uint32_t id, prefix& p) {
    if (p.sets.size() >= max_prefix) {
      p.open = true;
      return false;
    }
    const regex_node& n = ast_.at(id);
    using k = regex_node::kind;
    switch (n.type) {
      case k::chars:
        p.sets.push_back(&n.set);
        return true;
      case k::sequence:
        for (const std::uint32_t c : n.children) {
          if (!fixed_prefix(c, p)) return false;
        }
        return true;
      case k::group:
      case k::atomic:
        return fixed_prefix(n.children[0], p);
      case k::repeat:
        if (n.min == n.max) {
          for (std::uint32_t i = 0; i < n.min; ++i) {
            if (!fixed_prefix(n.children[0], p)) return false;
          }
          return true;
        }
        p.open = true;
        return false;
      case k::empty:
      case k::lookaround:
      case k::start_anchor:
      case k::end_anchor:
      case k::assertion:
        return true;  // zero width: ignoring it only makes more texts look ambiguous
      default:        // alternation, backref
        p.open = true;
        return false;
    }
  }

  bool branches_distinct(const regex_node& alt, const cp_ranges& follow, std::size_t loop_at) {
    std::vector<prefix> prefixes(alt.children.size());
    for (std::size_t i = 0; i < alt.children.size(); ++i) {
      fixed_prefix(alt.children[i], prefixes[i]);
    }
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      for (std::size_t j = i + 1; j < prefixes.size(); ++j) {
        if (!distinct(prefixes[i], prefixes[j], follow)) {
          return fail("alternation at offset " + std::to_string(alt.offset) +
                      ": inside the repeat at offset " + std::to_string(loop_at) + ", branches " +
                      std::to_string(i + 1) + " and " + std::to_string(j + 1) +
                      " can match the same text (as in (a|a)*b), so matching can take "
                      "exponential time; make the branches start differently");
        }
      }
    }
    return true;
  }

  /// Whether no text can be taken by both branches in a way the engine must try twice.
  static bool distinct(const prefix& a, const prefix& b, const cp_ranges& follow) {
    // An empty branch only ends an iteration; the engine stops zero-length loops.
    if ((a.sets.empty() && !a.open) || (b.sets.empty() && !b.open)) return true;
    for (std::size_t k = 0;; ++k) {
      const bool a_has = k < a.sets.size();
      const bool b_has = k < b.sets.size();
      if (a_has && b_has) {
        if (!overlap(*a.sets[k], *b.sets[k])) return true;
        continue;
      }
      if ((!a_has && a.open) || (!b_has && b.open)) return false;
      if (!a_has && !b_has) return false;  // the same length, overlapping all the way
      // One branch ended: the other's next character against what follows the alternation.
      const cp_ranges& next = a_has ? *a.sets[k] : *b.sets[k];
      return !overlap(next, follow);
    }
  }

  const regex_ast& ast_;
  std::vector<info> info_;
  std::string why_;
};

}  // namespace regex_screen_impl

/// Empty when the regex passes the screen, else why it does not (with the offset in the Java
/// text). Load time; may throw std::bad_alloc.
[[nodiscard]] inline std::string screen_regex(const regex_ast& ast) {
  return regex_screen_impl::screen(ast).run();
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_REGEX_SCREEN_HPP
