#ifndef TOKENGUARD_DETAIL_PREFILTER_HPP
#define TOKENGUARD_DETAIL_PREFILTER_HPP

/// Literal prefilter for a rule regex (SPEC 3: any faster path must give
/// exactly the reference path's decisions).
///
/// From the parsed structure (regex_ast) each top-level alternative is relaxed
/// into a glob: a sequence of one-character positions (a literal or an ASCII
/// set) and gaps ("any text"). Whatever cannot be analysed exactly is replaced
/// by a gap (a repeat, a backreference, a multi-character alternation) or
/// dropped (a lookaround, `\b`): the glob then matches a superset of the
/// regex's language, so a text the glob rejects is rejected by the regex too.
/// When nothing was relaxed and every gap is `.*` (or `(?s).*`), the glob IS
/// the regex: it decides alone, provided the text has no `\n`/`\r` for a `.*`
/// gap to trip on. Globs are matched left to right, each segment at its
/// leftmost place; that is exact when every gap accepts any text, which is
/// the case here by construction.
///
/// Only texts made of bytes < 0x80 are prefiltered (every URL subject, most
/// clause values); other texts go straight to the engine.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/bigrams.hpp"
#include "tokenguard/detail/regex_ast.hpp"

namespace tokenguard::detail {

enum class prefilter_verdict : std::uint8_t { no_match, match, unknown };

/// What a text looks like to the matchers, computed once per text.
struct text_facts {
  bool ascii = true;        ///< every byte < 0x80
  bool line_break = false;  ///< holds '\n' or '\r'
};

/// Eight bytes at a time: a clause value can be 1 MiB and is scanned once per line.
[[nodiscard]] inline text_facts scan_text(std::string_view s) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101;
  constexpr std::uint64_t highs = 0x8080808080808080;
  // Non-zero when some byte of w equals the byte repeated in `pattern`.
  const auto has = [](std::uint64_t w, std::uint64_t pattern) {
    const std::uint64_t x = w ^ pattern;
    return (x - ones) & ~x & highs;
  };
  std::uint64_t high = 0;
  std::uint64_t breaks = 0;
  const char* p = s.data();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, 8);
    high |= w;
    breaks |= has(w, ones * '\n') | has(w, ones * '\r');
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    high |= c;
    breaks |= static_cast<std::uint64_t>((c == '\n') | (c == '\r'));
  }
  return text_facts{(high & highs) == 0, breaks != 0};
}

namespace prefilter_impl {

/// A set of ASCII bytes.
struct ascii_set {
  std::array<std::uint64_t, 2> bits{};

  [[nodiscard]] bool has(unsigned char c) const noexcept {
    return c < 0x80 && ((bits[c >> 6] >> (c & 63)) & 1) != 0;
  }
  void add(unsigned c) { bits[c >> 6] |= std::uint64_t{1} << (c & 63); }
  [[nodiscard]] bool empty() const { return bits[0] == 0 && bits[1] == 0; }
  [[nodiscard]] int count() const {
    return __builtin_popcountll(bits[0]) + __builtin_popcountll(bits[1]);
  }
  /// The byte, when the set holds exactly one.
  [[nodiscard]] int single() const {
    if (count() != 1) return -1;
    return bits[0] != 0 ? __builtin_ctzll(bits[0]) : 64 + __builtin_ctzll(bits[1]);
  }
  friend bool operator==(const ascii_set&, const ascii_set&) = default;

  static ascii_set of(const std::vector<code_point_range>& ranges) {
    ascii_set s;
    for (const auto& [lo, hi] : ranges) {
      for (char32_t c = lo; c <= hi && c < 0x80; ++c) s.add(static_cast<unsigned>(c));
    }
    return s;
  }
  static ascii_set all() {
    ascii_set s;
    s.bits = {~std::uint64_t{0}, ~std::uint64_t{0}};
    return s;
  }
  /// Java's `.` without (?s), on ASCII text: everything but '\n' and '\r'.
  static ascii_set dot() {
    ascii_set s = all();
    s.bits[0] &= ~((std::uint64_t{1} << '\n') | (std::uint64_t{1} << '\r'));
    return s;
  }
};

/// One step of a relaxed alternative: a position (one character out of `set`) or a gap
/// (at least `min` characters of any text).
struct item {
  bool gap = false;
  ascii_set set;
  std::uint32_t min = 0;
  bool dot = false;    ///< gap: from `.*` without (?s): exact only on text without line breaks
  bool other = false;  ///< gap: a relaxation (never exact)
};

/// Positions an alternative may hold (beyond that the rest becomes a gap), and all of them
/// together (beyond that there is no prefilter): bounds memory and the work per text.
inline constexpr std::size_t max_positions = 256;
inline constexpr std::size_t max_total_positions = 2048;
/// What a prefilter's block needs of its address; its size is a multiple of it, so blocks
/// can be laid end to end. Operator new gives at least this.
inline constexpr std::size_t prefilter_tables_alignment = 16;
static_assert(prefilter_tables_alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
/// Short relaxed gaps with a minimum length become that many "any" positions.
inline constexpr std::uint32_t max_expanded_gap = 16;

struct flat {
  std::vector<item> items;
  bool exact = true;
  std::size_t end_anchor_mark = static_cast<std::size_t>(-1);  ///< items before the first `$`

  [[nodiscard]] bool has_gap() const {
    return std::any_of(items.begin(), items.end(), [](const item& i) { return i.gap; });
  }
  [[nodiscard]] std::uint64_t min_length() const {
    std::uint64_t n = 0;
    for (const item& i : items) n += i.gap ? i.min : 1;
    return n;
  }
  void push_gap(std::uint64_t min, bool dot, bool other) {
    item g;
    g.gap = true;
    g.min = static_cast<std::uint32_t>(std::min<std::uint64_t>(min, 0xFFFFFFF0));
    g.dot = dot;
    g.other = other;
    items.push_back(g);
    if (other) exact = false;
  }
  void append(const flat& f, std::uint64_t times) {
    if (times == 0) return;
    if (f.items.size() * times + items.size() > max_positions) {
      const std::uint64_t m = f.min_length();
      const std::uint64_t saturated = static_cast<std::uint64_t>(-1);
      push_gap(m > saturated / times ? saturated : m * times, false, true);
      return;
    }
    for (std::uint64_t k = 0; k < times; ++k)
      items.insert(items.end(), f.items.begin(), f.items.end());
  }
};

class flattener {
 public:
  explicit flattener(const regex_ast& ast) : ast_(ast) {}

  void run(std::uint32_t id, bool top, flat& out) {  // NOLINT(misc-no-recursion)
    const regex_node& n = ast_.at(id);
    using k = regex_node::kind;
    switch (n.type) {
      case k::empty:
        return;
      case k::chars: {
        item p;
        p.set = ascii_set::of(n.set);
        out.items.push_back(p);
        return;
      }
      case k::sequence:
        for (const std::uint32_t c : n.children) run(c, top, out);
        return;
      case k::group:
        run(n.children[0], top, out);
        return;
      case k::atomic: {
        flat t;
        run(n.children[0], false, t);
        if (!t.has_gap()) {
          out.append(t, 1);  // a fixed sequence of positions has no choice to take back
          out.exact = out.exact && t.exact;
        } else {
          out.push_gap(t.min_length(), false, true);
        }
        return;
      }
      case k::alternation: {
        std::uint64_t shortest = static_cast<std::uint64_t>(-1);
        ascii_set either;
        bool single = true;
        for (const std::uint32_t c : n.children) {
          flat t;
          run(c, false, t);
          shortest = std::min(shortest, t.min_length());
          if (t.exact && t.items.size() == 1 && !t.items[0].gap) {
            for (int w = 0; w < 2; ++w) either.bits[w] |= t.items[0].set.bits[w];
          } else {
            single = false;
          }
        }
        if (single) {  // (a|b|[cd]) is the set [abcd]
          item p;
          p.set = either;
          out.items.push_back(p);
        } else {
          out.push_gap(shortest, false, true);
        }
        return;
      }
      case k::repeat:
        repeat(n, out);
        return;
      case k::lookaround:
      case k::assertion:
        out.exact = false;  // dropped: the rest matches a superset
        return;
      case k::start_anchor:
        // At the very start of the whole pattern `\A` always holds.
        if (!top || !out.items.empty()) out.exact = false;
        return;
      case k::end_anchor:
        // `\z`, `\Z` and `$` always hold at the end; checked when the alternative is done.
        if (!top) out.exact = false;
        out.end_anchor_mark = std::min(out.end_anchor_mark, out.items.size());
        return;
      case k::backref:
        out.push_gap(0, false, true);
        return;
    }
  }

 private:
  void repeat(const regex_node& n, flat& out) {  // NOLINT(misc-no-recursion)
    flat t;
    run(n.children[0], false, t);
    if (n.max == 0) return;  // matches the empty text only
    const bool fixed = !t.has_gap();
    if (fixed && t.exact && t.items.size() == 1 && n.max == regex_unbounded &&
        n.mode != regex_node::greed::possessive) {
      const ascii_set& s = t.items[0].set;
      const bool dot = s == ascii_set::dot();
      if (dot || s == ascii_set::all()) {  // .* .+ .{2,} (?s).*
        out.append(t, n.min);
        out.push_gap(0, dot, false);
        return;
      }
    }
    if (fixed && n.min == n.max) {
      out.append(t, n.min);  // a{3} (abc){2}: no choice inside
      out.exact = out.exact && t.exact;
      return;
    }
    out.append(t, n.min);
    out.push_gap(0, false, true);
  }

  const regex_ast& ast_;
};

}  // namespace prefilter_impl

namespace prefilter_impl {

struct segment {
  std::uint32_t first = 0;  ///< into positions()
  std::uint32_t size = 0;
  std::uint32_t anchor_offset = 0;  ///< the longest run of literal positions in the segment
  std::uint32_t anchor_size = 0;
  std::uint32_t literal = 0;  ///< into literals(): the anchor's bytes
  std::int32_t table = -1;    ///< into tables() (Shift-And), for 2..64 positions not all literal
  std::int32_t skip = -1;     ///< into skips() (Horspool), for anchors of 2 bytes or more
  bool literal_only = false;  ///< no positions stored: the anchor is the whole segment
};
/// Horspool: how far the window may move when its last byte is c (at most 255: moving
/// less than the full distance is always safe). Texts are ASCII: 128 entries, two cache
/// lines.
using skip_table = std::array<std::uint8_t, 128>;
/// Shift-And: bit j of table[c] is set when position j accepts byte c.
using shift_and_table = std::array<std::uint64_t, 128>;
struct alternative {
  std::uint32_t first_segment = 0;
  std::uint32_t segments = 0;
  std::uint64_t min_length = 0;
  bool has_gap = false;
  bool anchored_start = false;
  bool anchored_end = false;
  bool exact = false;
  bool dot_gap = false;
  bool impossible = false;  ///< a position no ASCII byte can fill
};

/// The block's first bytes: how many alternatives, and where each other section starts
/// (byte offsets from the block's start).
struct alignas(8) tables_header {
  std::uint32_t alternatives = 0;
  std::uint32_t segments_at = 0;
  std::uint32_t literals_at = 0;
  std::uint32_t skips_at = 0;
  std::uint32_t positions_at = 0;
  std::uint32_t tables_at = 0;  ///< the Shift-And tables, last: rarely read
  std::uint32_t size = 0;
};

static_assert(sizeof(tables_header) % alignof(alternative) == 0,
              "the alternatives follow the header");

}  // namespace prefilter_impl

/// A prefilter's tables, read in place: one block (a header, then the sections in the order
/// decide() reads them), so that a cold decision misses on one block, not one per section,
/// and so that a rule set can keep the blocks of all its lines together. Decides alone:
/// a caller holding the block's address needs nothing else.
class prefilter_tables {
 public:
  prefilter_tables() = default;
  explicit prefilter_tables(const std::byte* data) noexcept : data_(data) {}

  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return data_ == nullptr ? 0 : header().size; }

  /// Bigrams that every ASCII text the regex matches holds: each alternative's segments must
  /// appear in the text, so every pair of adjacent literal positions in them must; across
  /// alternatives, those they all need. All zero when nothing is needed.
  [[nodiscard]] bigram_mask required_bigrams() const noexcept {
    bigram_mask all{};
    if (data_ == nullptr || header().alternatives == 0) return all;
    all.fill(~std::uint64_t{0});
    for (const alternative& a : alternatives()) {
      bigram_mask needed{};
      for (std::uint32_t k = a.first_segment; k < a.first_segment + a.segments; ++k) {
        const segment& seg = segments()[k];
        if (seg.literal_only) {
          const bigram_mask m =
              text_bigrams(std::string_view(literals() + seg.literal, seg.anchor_size));
          for (std::size_t w = 0; w < m.size(); ++w) needed[w] |= m[w];
          continue;
        }
        for (std::uint32_t j = 1; j < seg.size; ++j) {
          const int first = positions()[seg.first + j - 1].single();
          const int second = positions()[seg.first + j].single();
          if (first < 0 || second < 0) continue;
          const unsigned bit =
              bigram_bit(static_cast<unsigned char>(first), static_cast<unsigned char>(second));
          needed[bit >> 6] |= std::uint64_t{1} << (bit & 63);
        }
      }
      for (std::size_t w = 0; w < all.size(); ++w) all[w] &= needed[w];
    }
    return all;
  }
  /// True when decide() never answers `unknown` for a text without line breaks.
  [[nodiscard]] bool exact() const noexcept {
    const std::span<const alternative> all = alternatives();
    return std::all_of(all.begin(), all.end(), [](const alternative& a) { return a.exact; });
  }

  /// `s` is made of bytes < 0x80; `line_break`: it holds '\n' or '\r'. `work` grows by the
  /// effort spent (one unit per position compared, per 4 bytes of Shift-And, per 32 bytes
  /// searched for a literal).
  [[nodiscard]] prefilter_verdict decide(std::string_view s, bool line_break,
                                         std::int64_t& work) const noexcept {
    prefilter_verdict overall = prefilter_verdict::no_match;
    // Verifying candidates can cost size x candidates; past this, let the engine decide.
    const std::int64_t cap = work + 4 * static_cast<std::int64_t>(s.size()) + 256 +
                             16 * static_cast<std::int64_t>(alternatives().size());
    for (const alternative& a : alternatives()) {
      const prefilter_verdict v = glob(a, s, work, cap);
      if (v == prefilter_verdict::match) {
        if (a.exact && (!a.dot_gap || !line_break)) return prefilter_verdict::match;
        overall = prefilter_verdict::unknown;
      } else if (v == prefilter_verdict::unknown) {
        overall = prefilter_verdict::unknown;
      }
    }
    return overall;
  }

 private:
  using ascii_set = prefilter_impl::ascii_set;
  using alternative = prefilter_impl::alternative;
  using segment = prefilter_impl::segment;
  using skip_table = prefilter_impl::skip_table;
  using shift_and_table = prefilter_impl::shift_and_table;

  [[nodiscard]] const prefilter_impl::tables_header& header() const noexcept {
    return *section<prefilter_impl::tables_header>(0);
  }
  // The objects were created in the block by memcpy (prefilter::freeze).
  template <class T>
  [[nodiscard]] const T* section(std::uint32_t at) const noexcept {
    return std::launder(reinterpret_cast<const T*>(data_ + at));
  }
  [[nodiscard]] std::span<const alternative> alternatives() const noexcept {
    if (data_ == nullptr) return {};
    return {section<alternative>(sizeof(prefilter_impl::tables_header)), header().alternatives};
  }
  [[nodiscard]] const segment* segments() const noexcept {
    return section<segment>(header().segments_at);
  }
  [[nodiscard]] const char* literals() const noexcept {
    return section<char>(header().literals_at);
  }
  [[nodiscard]] const skip_table* skips() const noexcept {
    return section<skip_table>(header().skips_at);
  }
  [[nodiscard]] const ascii_set* positions() const noexcept {
    return section<ascii_set>(header().positions_at);
  }
  [[nodiscard]] const shift_and_table* tables() const noexcept {
    return section<shift_and_table>(header().tables_at);
  }

  /// The first occurrence of the segment's anchor in hay[0, n). Short texts: Horspool, with a
  /// fall back to memmem (linear time) once comparisons exceed a linear bound.
  const char* find_anchor_bytes(const segment& seg, const char* hay, std::size_t n,
                                std::int64_t& work) const noexcept {
    const std::size_t m = seg.anchor_size;
    const char* needle = literals() + seg.literal;
    // Past a few hundred bytes memmem's vector code wins and its set-up cost is amortised.
    if (seg.skip < 0 || m > n || n > 512) {
      work += static_cast<std::int64_t>(n / 32 + 1);
      return search(hay, n, needle, m);
    }
    const skip_table& shift = skips()[static_cast<std::size_t>(seg.skip)];
    const auto last = static_cast<unsigned char>(needle[m - 1]);
    const std::size_t limit = 2 * n + 64;
    std::size_t compared = 0;
    std::size_t attempts = 0;
    std::size_t i = 0;
    while (i + m <= n) {
      const auto c = static_cast<unsigned char>(hay[i + m - 1] & 0x7F);  // ASCII already
      ++attempts;
      if (c == last) {
        compared += m;
        if (std::memcmp(hay + i, needle, m - 1) == 0) {
          work += static_cast<std::int64_t>((attempts + compared / 16) / 2 + 1);
          return hay + i;
        }
        if (compared > limit) {
          work += static_cast<std::int64_t>((attempts + compared / 16) / 2 + (n - i) / 32 + 1);
          return search(hay + i + 1, n - i - 1, needle, m);
        }
      }
      i += shift[c];
    }
    work += static_cast<std::int64_t>((attempts + compared / 16) / 2 + 1);
    return nullptr;
  }

  [[nodiscard]] bool verify(const segment& seg, std::string_view s, std::size_t at,
                            std::int64_t& work) const noexcept {
    if (seg.literal_only) {
      work += static_cast<std::int64_t>(seg.size / 16 + 1);
      return std::memcmp(s.data() + at, literals() + seg.literal, seg.size) == 0;
    }
    const ascii_set* p = positions() + seg.first;
    for (std::uint32_t j = 0; j < seg.size; ++j) {
      ++work;
      if (!p[j].has(static_cast<unsigned char>(s[at + j]))) return false;
    }
    return true;
  }

  /// verify() for a candidate its anchor found: the anchor's positions, equal to the bytes
  /// just compared, are not read again (charged the same, so budgets stay as they were).
  [[nodiscard]] bool verify_around_anchor(const segment& seg, std::string_view s, std::size_t at,
                                          std::int64_t& work) const noexcept {
    const ascii_set* p = positions() + seg.first;
    for (std::uint32_t j = 0; j < seg.anchor_offset; ++j) {
      ++work;
      if (!p[j].has(static_cast<unsigned char>(s[at + j]))) return false;
    }
    work += seg.anchor_size;
    for (std::uint32_t j = seg.anchor_offset + seg.anchor_size; j < seg.size; ++j) {
      ++work;
      if (!p[j].has(static_cast<unsigned char>(s[at + j]))) return false;
    }
    return true;
  }

  static const char* search(const char* hay, std::size_t n, const char* needle,
                            std::size_t m) noexcept {
    if (m > n) return nullptr;
    if (m == 1) return static_cast<const char*>(std::memchr(hay, needle[0], n));
#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
    return static_cast<const char*>(::memmem(hay, n, needle, m));  // two-way: linear time
#else
    const std::size_t at = std::string_view(hay, n).find(std::string_view(needle, m));
    return at == std::string_view::npos ? nullptr : hay + at;
#endif
  }

  enum class found : std::uint8_t { yes, no, gave_up };

  /// Shift-And over s[from, hi): the leftmost start of the segment. Linear time.
  found shift_and(const segment& seg, std::string_view s, std::size_t from, std::size_t hi,
                  std::size_t& at, std::int64_t& work) const noexcept {
    const shift_and_table& t = tables()[static_cast<std::size_t>(seg.table)];
    const std::uint64_t done = std::uint64_t{1} << (seg.size - 1);
    std::uint64_t d = 0;
    for (std::size_t i = from; i < hi; ++i) {
      d = ((d << 1) | 1) & t[static_cast<unsigned char>(s[i]) & 0x7F];
      if ((d & done) != 0) {
        work += static_cast<std::int64_t>((i - from) / 4 + 1);
        at = i + 1 - seg.size;
        return found::yes;
      }
    }
    work += static_cast<std::int64_t>((hi - from) / 4 + 1);
    return found::no;
  }

  /// The leftmost start in [lo, hi - size] where the segment matches.
  found find(const segment& seg, std::string_view s, std::size_t lo, std::size_t hi,
             std::size_t& at, std::int64_t& work, std::int64_t cap) const noexcept {
    if (hi < lo || hi - lo < seg.size) return found::no;
    const std::size_t last = hi - seg.size;  // last possible start
    if (seg.anchor_size == 0 && seg.table >= 0) return shift_and(seg, s, lo, hi, at, work);
    if (seg.anchor_size == 0) {
      for (std::size_t p = lo; p <= last; ++p) {
        if (verify(seg, s, p, work)) {
          at = p;
          return found::yes;
        }
        if (work > cap) return found::gave_up;
      }
      return found::no;
    }
    std::size_t from = lo;
    // The literal anchor finds candidates fast; when checking them costs more than a linear
    // pass would, switch to Shift-And.
    const std::int64_t switch_at = work + static_cast<std::int64_t>(hi - lo) + 64;
    while (from <= last) {
      const char* base = s.data() + from + seg.anchor_offset;
      const std::size_t room = last - from + seg.anchor_size;
      const char* hit = find_anchor_bytes(seg, base, room, work);
      if (hit == nullptr) return found::no;
      const std::size_t start = static_cast<std::size_t>(hit - s.data()) - seg.anchor_offset;
      if (seg.anchor_size == seg.size || verify_around_anchor(seg, s, start, work)) {
        at = start;
        return found::yes;
      }
      if (seg.table >= 0 && work > switch_at) return shift_and(seg, s, start + 1, hi, at, work);
      if (work > cap) return found::gave_up;
      from = start + 1;
    }
    return found::no;
  }

  [[nodiscard]] prefilter_verdict glob(const alternative& a, std::string_view s, std::int64_t& work,
                                       std::int64_t cap) const noexcept {
    using v = prefilter_verdict;
    const std::size_t n = s.size();
    if (a.impossible || n < a.min_length) return v::no_match;
    const segment* seg = segments() + a.first_segment;
    if (!a.has_gap) {
      return n == seg[0].size && verify(seg[0], s, 0, work) ? v::match : v::no_match;
    }
    std::size_t lo = 0;
    std::size_t hi = n;
    std::uint32_t i = 0;
    std::uint32_t end = a.segments;
    if (a.anchored_start) {
      if (seg[0].size > n || !verify(seg[0], s, 0, work)) return v::no_match;
      lo = seg[0].size;
      i = 1;
    }
    if (a.anchored_end) {
      const segment& last = seg[end - 1];
      if (last.size > n - lo) return v::no_match;
      hi = n - last.size;
      if (!verify(last, s, hi, work)) return v::no_match;
      --end;
    }
    for (; i < end; ++i) {
      std::size_t at = 0;
      switch (find(seg[i], s, lo, hi, at, work, cap)) {
        case found::yes:
          lo = at + seg[i].size;
          break;
        case found::no:
          return v::no_match;
        case found::gave_up:
          return v::unknown;
      }
    }
    return v::match;
  }

  const std::byte* data_ = nullptr;
};

class prefilter {
 public:
  /// Load time; may throw std::bad_alloc.
  [[nodiscard]] static prefilter build(const regex_ast& ast) {
    using namespace prefilter_impl;
    prefilter out;
    if (ast.root == regex_no_node) return out;
    // Plain groups around the whole pattern do not matter; a top-level alternation gives one
    // glob per branch.
    std::uint32_t root = ast.root;
    while (ast.at(root).type == regex_node::kind::group) root = ast.at(root).children[0];
    std::vector<std::uint32_t> branches;
    if (ast.at(root).type == regex_node::kind::alternation) {
      branches = ast.at(root).children;
    } else {
      branches.push_back(root);
    }
    parts p;
    bool useful = false;
    for (const std::uint32_t b : branches) {
      flat f;
      flattener(ast).run(b, true, f);
      if (f.end_anchor_mark < f.items.size()) f.exact = false;
      useful = add_alternative(p, f) || useful;
    }
    if (p.positions.size() + p.literals.size() > max_total_positions) return prefilter{};
    out.freeze(p);
    out.active_ = useful;
    out.tables_ = prefilter_tables(out.own_.data());
    return out;
  }

  prefilter() = default;
  prefilter(prefilter&&) noexcept = default;  // the block, own or not, stays where it is
  prefilter& operator=(prefilter&&) noexcept = default;
  /// A copy owns a copy of the block, wherever the original's is.
  prefilter(const prefilter& other) : active_(other.active_) {
    const std::size_t n = other.tables_.size();
    if (n != 0) {
      own_.resize(n);
      std::memcpy(own_.data(), other.tables_.data(), n);  // creates the objects (C++20)
      tables_ = prefilter_tables(own_.data());
    }
  }
  prefilter& operator=(const prefilter& other) {
    if (this != &other) *this = prefilter(other);
    return *this;
  }
  ~prefilter() = default;

  /// False when no alternative can reject anything cheaply: then decide() is not worth calling.
  [[nodiscard]] bool active() const noexcept { return active_; }
  [[nodiscard]] const prefilter_tables& tables() const noexcept { return tables_; }

  /// Moves the block to `where` (tables().size() bytes, aligned to
  /// prefilter_tables_alignment), which the caller keeps alive and unchanged as long as
  /// this prefilter: a rule set gathers its lines' blocks in one allocation.
  void move_tables_to(std::byte* where) noexcept {
    const std::size_t n = tables_.size();
    if (n == 0) return;
    std::memcpy(where, tables_.data(), n);
    tables_ = prefilter_tables(where);
    own_.clear();
    own_.shrink_to_fit();  // may allocate nothing: an empty vector frees its buffer
  }

  [[nodiscard]] bigram_mask required_bigrams() const noexcept {
    return active_ ? tables_.required_bigrams() : bigram_mask{};
  }
  [[nodiscard]] bool exact() const noexcept { return active_ && tables_.exact(); }
  [[nodiscard]] prefilter_verdict decide(std::string_view s, bool line_break,
                                         std::int64_t& work) const noexcept {
    return tables_.decide(s, line_break, work);
  }

 private:
  using ascii_set = prefilter_impl::ascii_set;
  using alternative = prefilter_impl::alternative;
  using segment = prefilter_impl::segment;
  using skip_table = prefilter_impl::skip_table;
  using shift_and_table = prefilter_impl::shift_and_table;

  /// What build() gathers; freeze() lays it out in one allocation.
  struct parts {
    std::vector<alternative> alternatives;
    std::vector<segment> segments;
    std::string literals;
    std::vector<skip_table> skips;
    std::vector<ascii_set> positions;
    std::vector<shift_and_table> tables;
  };

  /// Returns whether the alternative can reject anything.
  static bool add_alternative(parts& p, prefilter_impl::flat& f) {
    using prefilter_impl::item;
    // Merge gaps; short relaxed minimums become "any" positions so the glob checks them.
    std::vector<item> items;
    for (const item& i : f.items) {
      if (i.gap && !items.empty() && items.back().gap) {
        item& g = items.back();
        g.min = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(std::uint64_t{g.min} + i.min, 0xFFFFFFF0));
        g.dot = g.dot || i.dot;
        g.other = g.other || i.other;
      } else {
        items.push_back(i);
      }
    }
    std::vector<item> expanded;
    for (item i : items) {
      if (i.gap && i.min > 0 && i.min <= prefilter_impl::max_expanded_gap) {
        item any;
        any.set = ascii_set::all();
        expanded.insert(expanded.end(), i.min, any);
        i.min = 0;
      }
      expanded.push_back(i);
    }
    alternative a;
    a.first_segment = static_cast<std::uint32_t>(p.segments.size());
    a.exact = f.exact;
    a.min_length = f.min_length();
    bool selective = a.min_length > 0;
    std::size_t k = 0;
    while (k < expanded.size()) {
      if (expanded[k].gap) {
        a.has_gap = true;
        a.dot_gap = a.dot_gap || expanded[k].dot;
        if (expanded[k].other) a.exact = false;
        ++k;
        continue;
      }
      segment seg;
      seg.first = static_cast<std::uint32_t>(p.positions.size());
      while (k < expanded.size() && !expanded[k].gap) {
        const ascii_set& s = expanded[k].set;
        if (s.empty()) a.impossible = true;
        if (s != ascii_set::all()) selective = true;
        p.positions.push_back(s);
        ++k;
      }
      seg.size = static_cast<std::uint32_t>(p.positions.size()) - seg.first;
      find_anchor(p, seg);
      if (seg.size >= 2 && seg.size <= 64 && seg.anchor_size < seg.size) {
        shift_and_table t{};
        for (std::uint32_t j = 0; j < seg.size; ++j) {
          for (unsigned c = 0; c < 128; ++c) {
            if (p.positions[seg.first + j].has(static_cast<unsigned char>(c))) {
              t[c] |= std::uint64_t{1} << j;
            }
          }
        }
        seg.table = static_cast<std::int32_t>(p.tables.size());
        p.tables.push_back(t);
      }
      if (seg.size > 0 && seg.anchor_size == seg.size) {
        // All literal: the anchor's bytes say it all, compared with memcmp.
        p.positions.resize(seg.first);
        seg.literal_only = true;
      }
      p.segments.push_back(seg);
      ++a.segments;
    }
    if (!a.has_gap && a.segments == 0) {  // the empty pattern: a zero-length segment
      segment seg;
      seg.first = static_cast<std::uint32_t>(p.positions.size());
      p.segments.push_back(seg);
      a.segments = 1;
    }
    a.anchored_start = expanded.empty() || !expanded.front().gap;
    a.anchored_end = expanded.empty() || !expanded.back().gap;
    if (!a.has_gap) selective = true;  // a length check at least
    p.alternatives.push_back(a);
    return selective || a.exact;
  }

  static void find_anchor(parts& p, segment& seg) {
    std::uint32_t best = 0;
    std::uint32_t best_size = 0;
    std::uint32_t run = 0;
    for (std::uint32_t j = 0; j <= seg.size; ++j) {
      if (j < seg.size && p.positions[seg.first + j].single() >= 0) {
        ++run;
        continue;
      }
      if (run > best_size) {
        best_size = run;
        best = j - run;
      }
      run = 0;
    }
    seg.anchor_offset = best;
    seg.anchor_size = best_size;
    seg.literal = static_cast<std::uint32_t>(p.literals.size());
    for (std::uint32_t j = 0; j < best_size; ++j) {
      p.literals.push_back(static_cast<char>(p.positions[seg.first + best + j].single()));
    }
    if (best_size >= 2) {
      // Precomputed here: glibc's memmem builds its tables on every call, which dominated
      // the seed rules' matching time.
      skip_table t;
      t.fill(static_cast<std::uint8_t>(std::min<std::uint32_t>(best_size, 255)));
      for (std::uint32_t j = 0; j + 1 < best_size; ++j) {
        const auto c = static_cast<unsigned char>(p.literals[seg.literal + j]);
        t[c & 0x7F] = static_cast<std::uint8_t>(std::min<std::uint32_t>(best_size - 1 - j, 255));
      }
      seg.skip = static_cast<std::int32_t>(p.skips.size());
      p.skips.push_back(t);
    }
  }

  [[nodiscard]] static constexpr std::size_t round_up(std::size_t n, std::size_t align) noexcept {
    return (n + align - 1) / align * align;
  }

  /// Lays the parts out in one block, header first.
  void freeze(const parts& p) {
    std::size_t size = 0;
    const auto place = [&size](std::size_t bytes, std::size_t align) {
      size = round_up(size, align);
      const std::size_t at = size;
      size += bytes;
      return static_cast<std::uint32_t>(at);
    };
    const auto bytes = [](const auto& v) { return v.size() * sizeof(v[0]); };
    prefilter_impl::tables_header h;
    h.alternatives = static_cast<std::uint32_t>(p.alternatives.size());
    place(sizeof h, alignof(prefilter_impl::tables_header));
    const std::uint32_t alternatives_at = place(bytes(p.alternatives), alignof(alternative));
    h.segments_at = place(bytes(p.segments), alignof(segment));
    h.literals_at = place(p.literals.size(), 1);
    h.skips_at = place(bytes(p.skips), alignof(skip_table));
    h.positions_at = place(bytes(p.positions), alignof(ascii_set));
    h.tables_at = place(bytes(p.tables), alignof(shift_and_table));
    size = round_up(size, prefilter_impl::prefilter_tables_alignment);
    h.size = static_cast<std::uint32_t>(size);
    own_.assign(size, std::byte{0});
    const auto copy = [this](std::uint32_t at, const void* from, std::size_t n) {
      if (n != 0) std::memcpy(own_.data() + at, from, n);  // creates the objects (C++20)
    };
    copy(0, &h, sizeof h);
    copy(alternatives_at, p.alternatives.data(), bytes(p.alternatives));
    copy(h.segments_at, p.segments.data(), bytes(p.segments));
    copy(h.literals_at, p.literals.data(), p.literals.size());
    copy(h.skips_at, p.skips.data(), bytes(p.skips));
    copy(h.positions_at, p.positions.data(), bytes(p.positions));
    copy(h.tables_at, p.tables.data(), bytes(p.tables));
  }

  bool active_ = false;
  prefilter_tables tables_;
  std::vector<std::byte> own_;  ///< the block, unless moved out (move_tables_to)
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_PREFILTER_HPP
