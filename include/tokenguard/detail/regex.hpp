#ifndef TOKENGUARD_DETAIL_REGEX_HPP
#define TOKENGUARD_DETAIL_REGEX_HPP

/// One compiled rule regex: a Java pattern translated to Boost.Regex, matched
/// as a whole over code points, never by search (SPEC 3).
///
/// Three ways to a decision, all giving the reference path's answer:
/// 1. the literal prefilter (prefilter.hpp), for text of bytes < 0x80: it
///    rejects what cannot match and, for globs such as `.*literal.*`, decides;
/// 2. the narrow program (`char`), exact for text of bytes < 0x80 (every URL
///    subject): no UTF-8 decoding, 256-bit class maps;
/// 3. the wide program (`wchar_t`, one code point each), for other text: the
///    reference path itself.
///
/// Every call draws on a match_budget shared by all the lines of a decision.
/// The engine runs over budget_iterator, which counts iterator operations
/// (about one per engine step) and throws once the budget is spent; Boost
/// unwinds its state and rethrows, and the call answers `gave_up`. A distinct
/// iterator type means a distinct Boost matcher instantiation, so Boost's own
/// macros (BOOST_REGEX_MAX_STATE_COUNT, ...) stay as the embedder set them.
/// The iterator says it is bidirectional: for random-access iterators Boost
/// caps the states at about (pattern length)^2 x (text length), which on short
/// texts trips before the budget and builds an error message on the heap; for
/// the others it uses BOOST_REGEX_MAX_STATE_COUNT (1e8 by default), far beyond
/// any budget. Measured: no slower (Boost's random-access shortcuts only serve
/// `.`, which translated patterns never use).

#include <boost/regex.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/java_regex.hpp"
#include "tokenguard/detail/prefilter.hpp"
#include "tokenguard/detail/regex_screen.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"

namespace tokenguard::detail {

/// Java's defaults: `.` stops at line breaks, `^`/`$` only at the ends.
inline constexpr boost::regex_constants::syntax_option_type java_regex_flags =
    boost::regex_constants::perl | boost::regex_constants::no_mod_s |
    boost::regex_constants::no_mod_m;

enum class match_result : std::uint8_t { no_match, match, gave_up };

/// Boost's default traits with a plain number parser. Boost's own (cpp_regex_traits::toi)
/// builds an istream imbued with the locale for every number in a pattern, and translated
/// patterns write each literal that is not a letter or digit as `\x{..}`: on rules full of
/// punctuation that was half of compiling them. The translator writes digits only (no sign,
/// space or group separator), where both parsers agree: the longest run of digits of the
/// radix, -1 when there is none or it overflows.
template <class CharT>
struct rule_regex_traits : boost::regex_traits<CharT> {
  [[nodiscard]] static int digit(CharT c, int radix) noexcept {
    int d = radix;
    if (c >= '0' && c <= '9') {
      d = static_cast<int>(c - '0');
    } else if (c >= 'a' && c <= 'z') {
      d = static_cast<int>(c - 'a') + 10;
    } else if (c >= 'A' && c <= 'Z') {
      d = static_cast<int>(c - 'A') + 10;
    }
    return d < radix ? d : -1;
  }
  [[nodiscard]] std::intmax_t toi(const CharT*& first, const CharT* last, int radix) const {
    if (first == last || digit(*first, radix) < 0) return -1;
    constexpr std::intmax_t most = std::numeric_limits<std::intmax_t>::max();
    std::intmax_t value = 0;
    for (; first != last; ++first) {
      const int d = digit(*first, radix);
      if (d < 0) break;
      if (value > (most - d) / radix) return -1;
      value = value * radix + d;
    }
    return value;
  }
  [[nodiscard]] int value(CharT c, int radix) const { return digit(c, radix); }
};
using narrow_program = boost::basic_regex<char, rule_regex_traits<char>>;
using wide_program = boost::basic_regex<wchar_t, rule_regex_traits<wchar_t>>;

/// Matching work one decision may spend, in units of about one engine step: 0.3 to 2.6 ns of
/// CPU on the 2-core VM where tests/rules_budget_test.cpp measured the pathology corpus.
/// The default keeps the worst decision there near 4 ms of CPU (the target is 10 ms);
/// an authorizer takes its own from limits::match_budget_units.
inline constexpr std::int64_t default_match_budget_units = limits{}.match_budget_units;
/// What every call costs before any matching (setting up the engine).
inline constexpr std::int64_t match_call_units = 16;
/// The longest translated program accepted (wide code units). A 1 KiB Java pattern stays far
/// below it unless it is made of constructs that expand (`$`, `\b`, `(?m)^`, ...).
inline constexpr std::size_t max_program_chars = std::size_t{64} * 1024;

/// Shared by every regex call of one decision. Not thread-safe: one per decision.
struct match_budget {
  std::int64_t remaining = default_match_budget_units;

  match_budget() noexcept = default;
  explicit match_budget(std::int64_t units) noexcept : remaining(units) {}
  [[nodiscard]] bool exhausted() const noexcept { return remaining <= 0; }
};

[[nodiscard]] inline bool is_ascii(std::string_view s) noexcept { return scan_text(s).ascii; }

/// Thrown by budget_iterator when the budget runs out; never leaves compiled_regex::match.
struct budget_exhausted {};

/// A pointer into the text that counts every operation the engine makes with it, and throws
/// budget_exhausted once (when the count reaches zero).
template <class CharT>
class budget_iterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = CharT;
  using difference_type = std::ptrdiff_t;
  using pointer = const CharT*;
  using reference = const CharT&;

  budget_iterator() noexcept = default;
  budget_iterator(const CharT* p, std::int64_t* left) noexcept : p_(p), left_(left) {}
  /// Copies count too: the engine copies a position for every state it saves or restores,
  /// which is most of the work of repeats and groups that never read a character.
  budget_iterator(const budget_iterator& other) : p_(other.p_), left_(other.left_) {
    if (left_ != nullptr) tick();
  }
  // Self-assignment copies the same two pointers (and counts one step): nothing to guard.
  // NOLINTNEXTLINE(bugprone-unhandled-self-assignment)
  budget_iterator& operator=(const budget_iterator& other) {
    p_ = other.p_;
    left_ = other.left_;
    if (left_ != nullptr) tick();
    return *this;
  }
  ~budget_iterator() = default;

  reference operator*() const {
    tick();
    return *p_;
  }
  pointer operator->() const noexcept { return p_; }
  budget_iterator& operator++() {
    tick();
    ++p_;
    return *this;
  }
  budget_iterator operator++(int) {
    budget_iterator before = *this;
    ++*this;
    return before;
  }
  budget_iterator& operator--() {
    tick();
    --p_;
    return *this;
  }
  budget_iterator operator--(int) {
    budget_iterator before = *this;
    --*this;
    return before;
  }
  friend bool operator==(const budget_iterator& a, const budget_iterator& b) {
    a.tick();
    return a.p_ == b.p_;
  }

 private:
  void tick() const {
    if (--*left_ == 0) throw budget_exhausted{};  // once: afterwards the count is negative
  }

  const CharT* p_ = nullptr;
  std::int64_t* left_ = nullptr;
};

/// Per-thread scratch for matching. Boost fills a match_results even when the
/// caller does not want one; keeping one per thread (and the wide buffer for
/// non-ASCII text) means steady-state matching does not touch the heap.
struct regex_scratch {
  boost::match_results<budget_iterator<char>> narrow_results;
  boost::match_results<budget_iterator<wchar_t>> wide_results;
  std::vector<wchar_t> wide_text;

  static regex_scratch& for_this_thread() noexcept {
    thread_local regex_scratch scratch;
    return scratch;
  }
};

class compiled_regex {
 public:
  /// `need_wide`: the subject may hold non-ASCII text (clause values), so a
  /// code-point matcher is needed; without it, non-ASCII text never matches
  /// (URL subjects are ASCII by construction, SPEC 4).
  /// `fast_paths` false: the reference path only (wide program, no prefilter, no narrow
  /// program), for differential tests and baselines.
  /// Errors: untranslatable Java, a pattern refused by the screen (regex_screen.hpp), a
  /// program over max_program_chars, or Boost refusing it.
  [[nodiscard]] static result<compiled_regex> compile(std::string_view java, bool need_wide,
                                                      bool fast_paths = true) {
    java_regex_translation translation;
    std::string why;
    if (!translate_java_regex(java, translation, why)) return error{std::move(why)};
    compiled_regex out;
    try {
      std::string refused = screen_regex(translation.ast);
      if (!refused.empty()) return error{std::move(refused)};
      if (translation.pattern.size() > max_program_chars) {
        return error{"the regex expands to " + std::to_string(translation.pattern.size()) +
                     " characters of engine program, over the limit of " +
                     std::to_string(max_program_chars)};
      }
      out.source_ = std::string(java);
      if (fast_paths) {
        out.narrow_.emplace(translation.narrow_pattern, java_regex_flags);
        out.prefilter_ = prefilter::build(translation.ast);
      }
      if (need_wide || !fast_paths) {
        out.wide_.emplace(translation.pattern, java_regex_flags);
        out.wide_weight_ = wide_step_weight(translation.ast);
      }
    } catch (const boost::regex_error& e) {
      return error{std::string("invalid regex: ") + e.what()};
    } catch (const std::exception& e) {
      return error{std::string("regex cannot be compiled: ") + e.what()};
    }
    return out;
  }

  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  /// Whether the prefilter decides alone for text of bytes 0x20..0x7E (no engine run).
  [[nodiscard]] bool decided_by_prefilter() const noexcept { return prefilter_.exact(); }
  [[nodiscard]] bool has_prefilter() const noexcept { return prefilter_.active(); }

  /// What match() reads of this object before running an engine. A rule set keeps it beside
  /// its lines: a decision the prefilter settles then never reads the matcher itself.
  struct hot_fields {
    prefilter_tables prefilter;  ///< empty: no prefilter to run
    bool narrow = false;         ///< a narrow program exists
  };
  [[nodiscard]] hot_fields hot() const noexcept {
    return {prefilter_.active() ? prefilter_.tables() : prefilter_tables{}, narrow_.has_value()};
  }
  /// The size of the prefilter's block, and moving it (prefilter::move_tables_to): a rule
  /// set keeps the blocks of its lines together. hot() changes with it.
  [[nodiscard]] std::size_t prefilter_bytes() const noexcept {
    return prefilter_.active() ? prefilter_.tables().size() : 0;
  }
  void move_prefilter_to(std::byte* where) noexcept {
    if (prefilter_.active()) prefilter_.move_tables_to(where);
  }
  /// Bigrams every ASCII text this regex matches holds (prefilter::required_bigrams), when
  /// such a text is decided by the prefilter and narrow program; else all zero.
  [[nodiscard]] bigram_mask required_bigrams() const noexcept {
    return narrow_ ? prefilter_.required_bigrams() : bigram_mask{};
  }

  /// `text` is valid UTF-8 (callers validate it first). A fresh default budget.
  [[nodiscard]] match_result match(std::string_view text) const noexcept {
    match_budget budget;
    return match(text, budget);
  }

  [[nodiscard]] match_result match(std::string_view text, match_budget& budget) const noexcept {
    if (budget.exhausted()) return match_result::gave_up;
    budget.remaining -= static_cast<std::int64_t>(text.size() / 64);  // the scan below
    return match(text, scan_text(text), budget);
  }

  /// `facts` = scan_text(text), when the caller already has it (one subject, many lines).
  [[nodiscard]] match_result match(std::string_view text, const text_facts& facts,
                                   match_budget& budget) const noexcept {
    return match(text, facts, budget, hot());
  }

  /// The same, with `h` = hot(), kept by the caller.
  [[nodiscard]] match_result match(std::string_view text, const text_facts& facts,
                                   match_budget& budget, const hot_fields& h) const noexcept {
    match_result settled = match_result::gave_up;
    if (settle(text, facts, budget, h, settled)) return settled;
    return match_unsettled(text, facts, budget);
  }

  /// match() in two parts, so that a caller holding hot_fields reads this object only when
  /// the first does not settle the answer: settle() checks and charges the budget and runs
  /// the prefilter; when it returns false, match_unsettled() (on the object whose hot_fields
  /// these are) runs the engine. Together they answer and spend exactly as match().
  [[nodiscard]] static bool settle(std::string_view text, const text_facts& facts,
                                   match_budget& budget, const hot_fields& h,
                                   match_result& answer) noexcept {
    if (budget.exhausted()) {
      answer = match_result::gave_up;
      return true;
    }
    budget.remaining -= match_call_units;
    if (facts.ascii && h.narrow && h.prefilter.data() != nullptr) {
      std::int64_t work = 0;
      const prefilter_verdict v = h.prefilter.decide(text, facts.line_break, work);
      budget.remaining -= work;
      if (v != prefilter_verdict::unknown) {
        answer = v == prefilter_verdict::match ? match_result::match : match_result::no_match;
        return true;
      }
    }
    return false;
  }
  [[nodiscard]] match_result match_unsettled(std::string_view text, const text_facts& facts,
                                             match_budget& budget) const noexcept {
    if (facts.ascii && narrow_) {
      return run(*narrow_, text.data(), text.data() + text.size(),
                 regex_scratch::for_this_thread().narrow_results, budget, 1);
    }
    if (!wide_) return match_result::no_match;  // URL regexes: the subject is ASCII (SPEC 4)
    regex_scratch& scratch = regex_scratch::for_this_thread();
    budget.remaining -= static_cast<std::int64_t>(text.size() / 2);  // decoding
    std::size_t length = 0;
    try {
      if (!decode_utf8(text, scratch.wide_text, length)) return match_result::no_match;
    } catch (...) {
      return match_result::gave_up;  // the buffer could not grow
    }
    const wchar_t* begin = scratch.wide_text.data();
    return run(*wide_, begin, begin + length, scratch.wide_results, budget, wide_weight_);
  }

 private:
  /// Runs the engine with what is left of the budget; `weight`: budget units per counted
  /// iterator operation (more for programs whose class tests are slow).
  template <class CharT, class Regex, class Results>
  static match_result run(const Regex& re, const CharT* begin, const CharT* end, Results& results,
                          match_budget& budget, std::int64_t weight) noexcept {
    std::int64_t ops = budget.remaining / weight;
    if (ops <= 0) {
      budget.remaining = 0;
      return match_result::gave_up;
    }
    const std::int64_t granted = ops;
    match_result r = match_result::gave_up;
    try {
      // The results object is the thread's, reused. Boost sizes it by copying positions,
      // which count, and how many copies depends on its previous size: sized here first,
      // outside the count, a match costs the same whatever this thread matched before.
      std::int64_t uncounted = std::numeric_limits<std::int64_t>::max();
      results.set_size(1 + re.mark_count(), budget_iterator<CharT>(begin, &uncounted),
                       budget_iterator<CharT>(end, &uncounted));
      r = boost::regex_match(budget_iterator<CharT>(begin, &ops), budget_iterator<CharT>(end, &ops),
                             results, re)
              ? match_result::match
              : match_result::no_match;
    } catch (...) {
      // budget_exhausted, or Boost's own error_complexity / error_stack / memory: deny.
      r = match_result::gave_up;
    }
    budget.remaining -= (granted - ops) * weight;
    return r;
  }

  /// A wide class is tested range by range (Boost's re_set_long), so a step over a class of
  /// many ranges costs more than one over a literal: charge by the largest class.
  static std::int64_t wide_step_weight(const regex_ast& ast) {
    std::size_t widest = 0;
    for (const regex_node& n : ast.nodes) {
      if (n.type == regex_node::kind::chars) widest = std::max(widest, n.set.size());
    }
    return 1 + static_cast<std::int64_t>(widest / 4);
  }

  /// Decodes into a per-thread buffer that only grows. Returns false on
  /// invalid UTF-8 (callers validate; this is a second line of defence).
  static bool decode_utf8(std::string_view text, std::vector<wchar_t>& out, std::size_t& length) {
    if (out.size() < text.size() + 1) out.resize(text.size() + 1);  // may throw: caught by match()
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      const auto b0 = static_cast<unsigned char>(text[i]);
      std::uint32_t cp = 0;
      std::size_t len = 0;
      if (b0 < 0x80) {
        cp = b0;
        len = 1;
      } else if ((b0 & 0xE0) == 0xC0) {
        cp = b0 & 0x1F;
        len = 2;
      } else if ((b0 & 0xF0) == 0xE0) {
        cp = b0 & 0x0F;
        len = 3;
      } else if ((b0 & 0xF8) == 0xF0) {
        cp = b0 & 0x07;
        len = 4;
      } else {
        return false;
      }
      if (i + len > text.size()) return false;
      for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
      }
      out[n++] = static_cast<wchar_t>(cp);
      i += len;
    }
    length = n;
    return true;
  }

  // What an ASCII match reads comes first: the prefilter, then the narrow program.
  prefilter prefilter_;
  std::optional<narrow_program> narrow_;
  std::optional<wide_program> wide_;
  std::int64_t wide_weight_ = 1;
  std::string source_;
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_REGEX_HPP
