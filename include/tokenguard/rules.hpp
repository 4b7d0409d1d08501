#ifndef TOKENGUARD_RULES_HPP
#define TOKENGUARD_RULES_HPP

/// limitTo (SPEC 3): the text of a token's restrictions, compiled once into a
/// rule set that many requests evaluate concurrently. A rule that does not
/// compile is an error here, at load or create time, never at request time.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenguard/detail/ascii_case.hpp"
#include "tokenguard/detail/form_query.hpp"
#include "tokenguard/detail/json_body.hpp"
#include "tokenguard/detail/prefetch.hpp"
#include "tokenguard/detail/regex.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"

namespace tokenguard {

namespace detail {

inline constexpr std::array<std::string_view, 9> known_methods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

/// known_methods packed (upper_packed): every decision with rules looks its method up.
inline constexpr auto known_method_words = [] {
  std::array<std::uint64_t, known_methods.size()> words{};
  for (std::size_t i = 0; i < known_methods.size(); ++i) words[i] = upper_packed(known_methods[i]);
  return words;
}();

/// Bit for a standard method (compared case-insensitively), 0 for any other.
[[nodiscard]] constexpr std::uint16_t method_bit(std::string_view method) noexcept {
  const std::uint64_t word = upper_packed(method);
  for (std::size_t i = 0; i < known_methods.size(); ++i) {
    if (word == known_method_words[i] && method.size() == known_methods[i].size()) {
      return static_cast<std::uint16_t>(1U << i);
    }
  }
  return 0;
}

[[nodiscard]] constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

[[nodiscard]] constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// What the rules look at in a request, computed once per decision.
struct rule_subject {
  std::string_view method;
  std::uint16_t method_bit = 0;
  std::string_view url;    ///< canonical subject URL (SPEC 4)
  std::string_view query;  ///< raw query, for QueryParam clauses
  std::string_view body;   ///< for JsonData clauses
  std::size_t max_body_bytes = 0;
};

/// Lazily computed facts shared by every line of one decision, and the
/// matching budget they all draw on (regex.hpp): when it runs out, every
/// further regex call of the decision gives up.
class rule_context {
 public:
  explicit rule_context(const rule_subject& subject,
                        std::int64_t budget_units = default_match_budget_units) noexcept
      : rule_context(subject, budget_units, scan_text(subject.url)) {}
  /// `url_facts` = scan_text(subject.url), known to the caller: a canonical URL (SPEC 4) is
  /// printable ASCII by construction, so the request path need not scan it again.
  rule_context(const rule_subject& subject, std::int64_t budget_units,
               const text_facts& url_facts) noexcept
      : subject_(subject),
        body_(subject.body, subject.max_body_bytes),
        budget_(budget_units),
        url_facts_(url_facts) {}

  [[nodiscard]] const rule_subject& subject() const noexcept { return subject_; }
  [[nodiscard]] json_body& body() noexcept { return body_; }
  [[nodiscard]] match_budget& budget() noexcept { return budget_; }
  [[nodiscard]] const text_facts& url_facts() const noexcept { return url_facts_; }
  /// The URL's bigrams, computed on first use (only rule sets with screened lines ask).
  [[nodiscard]] const folded_bigrams& url_bigrams() noexcept {
    if (!url_bigrams_ready_) {
      url_bigrams_ = folded_text_bigrams(subject_.url);
      url_bigrams_ready_ = true;
    }
    return url_bigrams_;
  }

  /// What one JsonData lookup is charged: it walks object members and array elements, and
  /// each member has a ':' and each further member or element a ',' (strings may hold more:
  /// an over-estimate). Counted once per decision, on first use.
  [[nodiscard]] std::int64_t json_lookup_units() noexcept {
    if (json_units_ < 0) {
      const std::string_view body = subject_.body;
      std::int64_t separators = 0;
      if (body.size() <= subject_.max_body_bytes) {  // else the lookup refuses at once
        for (const char c : body) separators += static_cast<std::int64_t>((c == ':') | (c == ','));
        budget_.remaining -= static_cast<std::int64_t>(body.size() / 32);  // this scan
      }
      json_units_ = match_call_units + separators + separators / 2;
    }
    return json_units_;
  }
  [[nodiscard]] bool query_decodes() noexcept {
    if (!query_checked_) {
      query_ok_ = detail::query_decodes(subject_.query);
      query_checked_ = true;
    }
    return query_ok_;
  }

 private:
  const rule_subject& subject_;
  json_body body_;
  match_budget budget_;
  text_facts url_facts_;
  folded_bigrams url_bigrams_{};
  bool url_bigrams_ready_ = false;
  std::int64_t json_units_ = -1;
  bool query_checked_ = false;
  bool query_ok_ = false;
};

/// Splits limitTo text into lines (SPEC 3): at '\n' (a CR before it is
/// dropped), at the two characters '\' 'n', and at <br>, <br/>, <br /> in any
/// case. Calls f(line_number, trimmed_line) for every piece, empty ones too.
template <class F>
void split_limit_to(std::string_view text, F&& f) {
  std::size_t line_number = 1;
  std::size_t start = 0;
  std::size_t i = 0;
  auto emit = [&](std::size_t end, std::size_t next) {
    std::string_view piece = text.substr(start, end - start);
    f(line_number++, trim(piece));
    start = next;
    i = next;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      emit(i, i + 1);
    } else if (c == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
      emit(i, i + 2);
    } else if (c == '<') {
      std::size_t len = 0;
      const std::string_view rest = text.substr(i);
      for (const std::string_view form :
           {std::string_view("<br>"), std::string_view("<br/>"), std::string_view("<br />")}) {
        if (rest.size() >= form.size() && iequals_ascii(rest.substr(0, form.size()), form)) {
          len = form.size();
          break;
        }
      }
      if (len != 0) {
        emit(i, i + len);
      } else {
        ++i;
      }
    } else {
      ++i;
    }
  }
  f(line_number, trim(text.substr(start)));
}

}  // namespace detail

/// The outcome of evaluating a rule set against one request.
enum class rules_outcome : std::uint8_t { pass, mismatch, too_complex };

/// A compiled limitTo. Immutable after compile(); evaluate() is const,
/// noexcept and thread-safe.
class rule_set {
 public:
  struct clause {
    enum class kind : std::uint8_t { query_param, json_data };
    kind type;
    std::string name;  ///< parameter name, or the dotted JSON path as written
    std::optional<detail::json_path> path;
    detail::compiled_regex value;
  };

  struct line {
    std::optional<detail::compiled_regex> url;  ///< none: any URL
    std::size_t number = 0;                     ///< 1-based position in the limitTo text
    std::string text;                           ///< the trimmed line, as written
    bool any_method = true;                     ///< no method list
    std::uint16_t method_mask = 0;
    std::vector<std::string> other_methods;  ///< upper-cased non-standard names
    std::vector<clause> clauses;
  };

  rule_set() = default;
  // hot_ and the lines' prefilters point into lines_' and block_'s buffers, which move.
  rule_set(rule_set&& other) noexcept
      : lines_(std::move(other.lines_)),
        block_(std::move(other.block_)),
        hot_(std::exchange(other.hot_, hot_memory{})) {}
  rule_set& operator=(rule_set&& other) noexcept {
    lines_ = std::move(other.lines_);
    block_ = std::move(other.block_);
    hot_ = std::exchange(other.hot_, hot_memory{});
    return *this;
  }
  rule_set(const rule_set& other)  // the lines' prefilter blocks are copied, then gathered
      : lines_(other.lines_) {
    index_lines();
  }
  rule_set& operator=(const rule_set& other) {
    if (this != &other) *this = rule_set(other);
    return *this;
  }
  ~rule_set() = default;

  /// Compiles limitTo text. Errors name the line number and the reason.
  [[nodiscard]] static result<rule_set> compile(std::string_view limit_to,
                                                const limits& lim = limits{}) {
    rule_set out;
    if (limit_to.size() > lim.max_limit_to_bytes) {
      return error{"limitTo is " + std::to_string(limit_to.size()) + " bytes, over the limit of " +
                   std::to_string(lim.max_limit_to_bytes) + " (max_limit_to_bytes)"};
    }
    std::optional<error> failure;
    detail::split_limit_to(limit_to, [&](std::size_t number, std::string_view text) {
      if (failure || text.empty()) return;
      if (out.lines_.size() == lim.max_limit_to_lines) {
        failure = error{"limitTo has more than " + std::to_string(lim.max_limit_to_lines) +
                        " lines (max_limit_to_lines)"};
        return;
      }
      auto compiled = compile_line(number, text, lim);
      if (!compiled) {
        failure = error{"line " + std::to_string(number) + ": " + compiled.message()};
        return;
      }
      out.lines_.push_back(std::move(compiled).value());
    });
    if (failure) return std::move(*failure);
    out.index_lines();
    return out;
  }

  [[nodiscard]] bool unrestricted() const noexcept { return lines_.empty(); }

  /// The lines a method may admit, in line order: candidates [first, first + count).
  struct method_group {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
  };
  /// Everything evaluate() reads before a line itself, and where: the candidates of each
  /// method's lines, end to end, and the lines' URL prefilter blocks. A rule set's own points
  /// into its block; a store copies the candidates and blocks of all its rule sets into one
  /// arena (copy_hot_to), so that a decision reads them from a few dense pages rather than
  /// from each set's allocations among its Boost programs (TLB misses, measured).
  struct alignas(64) hot_memory {
    const std::byte* candidates = nullptr;
    const std::byte* tables = nullptr;
    const line* lines = nullptr;
    std::uint32_t line_count = 0;
    bool screen_urls = false;  ///< enough lines have bigrams for the screen to pay
    std::array<method_group, detail::known_methods.size() + 1> groups{};  ///< see group_of
    std::uint32_t candidate_bytes = 0;
    std::uint32_t table_bytes = 0;
  };
  /// Where the copies that copy_hot_to() makes must be aligned.
  static constexpr std::size_t hot_alignment = 64;

  [[nodiscard]] const hot_memory& hot() const noexcept { return hot_; }

  /// Copies the candidates to `candidates` (hot().candidate_bytes) and the prefilter blocks
  /// to `tables` (hot().table_bytes), both aligned to hot_alignment, and returns where
  /// evaluate() then reads: valid while this rule set and those bytes are, unchanged.
  [[nodiscard]] hot_memory copy_hot_to(std::byte* candidates, std::byte* tables) const noexcept {
    hot_memory copy = hot_;
    if (copy.candidate_bytes != 0) std::memcpy(candidates, hot_.candidates, copy.candidate_bytes);
    if (copy.table_bytes != 0) std::memcpy(tables, hot_.tables, copy.table_bytes);
    copy.candidates = candidates;
    copy.tables = tables;
    return copy;
  }

  /// Request path, a hint: starts fetching the candidates of the request's method
  /// (`method_bit`: detail::method_bit, 0 for a non-standard one) and the first prefilter
  /// blocks.
  static void prefetch(const hot_memory& hot, std::uint16_t method_bit) noexcept {
    const method_group g = hot.groups[group_of(method_bit)];
    detail::prefetch_range_for_read(hot.candidates + std::size_t{g.first} * sizeof(candidate),
                                    std::min<std::size_t>(std::size_t{g.count} * sizeof(candidate),
                                                          prefetched_candidate_bytes));
    detail::prefetch_range_for_read(hot.tables,
                                    std::min<std::size_t>(hot.table_bytes, prefetched_table_bytes));
  }
  [[nodiscard]] std::span<const line> lines() const noexcept { return lines_; }

  /// SPEC 3 matching: at least one line passes. A line the engine gave up on
  /// does not pass; if no line passes and one gave up, the outcome says so.
  [[nodiscard]] rules_outcome evaluate(detail::rule_context& ctx) const noexcept {
    return evaluate(hot_, ctx);
  }

  /// The same, reading from `hot` (this set's hot(), or a copy copy_hot_to() made).
  [[nodiscard]] static rules_outcome evaluate(const hot_memory& hot,
                                              detail::rule_context& ctx) noexcept {
    if (hot.line_count == 0) return rules_outcome::pass;
    const detail::rule_subject& s = ctx.subject();
    // Only the lines the method may admit, in line order: a line for other methods is
    // never read.
    const method_group g = hot.groups[group_of(s.method_bit)];
    const candidate* const first =
        std::launder(reinterpret_cast<const candidate*>(hot.candidates)) + g.first;
    const candidate* const last = first + g.count;
    // The lines are tried one after another, each after the previous one's answer; in a
    // cold rule set, ask for the prefilters of all of them at once.
    if (g.count <= max_prefetched_lines) {
      for (const candidate* c = first; c != last; ++c) {
        if (c->tables != no_tables) detail::prefetch_range_for_read(hot.tables + c->tables, 256);
      }
    }
    // Sets with few lines to screen skip the screen: computing the URL's bigrams would cost
    // more than it saves.
    const bool screening = hot.screen_urls && ctx.url_facts().ascii;
    const detail::folded_bigrams url_bigrams =
        screening ? ctx.url_bigrams() : detail::folded_bigrams{};
    bool gave_up = false;
    for (const candidate* c = first; c != last; ++c) {
      // A non-standard method: the group holds the lines without a method list, and those
      // whose list names some non-standard method, which is compared here (and then the
      // line goes to its regex unscreened).
      if (s.method_bit == 0 && (c->flags & any_method_flag) == 0 &&
          !other_method_allowed(hot.lines[c->line], s)) {
        continue;
      }
      // A URL without a bigram the line's regex needs: the regex's answer, after the same
      // budget check and charge as a call.
      if (screening && screened_by(*c, s) && !detail::covers(url_bigrams, c->url_needs)) {
        detail::match_budget& budget = ctx.budget();
        if (budget.exhausted()) {
          gave_up = true;
        } else {
          budget.remaining -= detail::match_call_units;
        }
        continue;
      }
      switch (match_candidate(hot, *c, ctx)) {
        case detail::match_result::match:
          return rules_outcome::pass;
        case detail::match_result::gave_up:
          gave_up = true;
          break;
        case detail::match_result::no_match:
          break;
      }
    }
    return gave_up ? rules_outcome::too_complex : rules_outcome::mismatch;
  }

 private:
  /// What evaluate() reads of a line its method may admit before the line itself, in the
  /// set's block: the screen's bigrams and where the URL prefilter's tables are, so that a
  /// line is read only when its regex runs or it has clauses.
  struct candidate {
    detail::folded_bigrams url_needs{};  ///< bigrams the URL regex needs (screened_flag)
    std::uint32_t line = 0;              ///< index in lines_
    std::uint32_t tables = no_tables;    ///< where the URL prefilter's block is, from `tables`
    std::uint8_t flags = 0;
  };
  static_assert(sizeof(candidate) == 32, "two candidates a cache line");
  static constexpr std::uint32_t no_tables = ~std::uint32_t{0};
  enum candidate_flag : std::uint8_t {
    url_flag = 1,         ///< the line has a URL regex
    narrow_flag = 2,      ///< which has a narrow program
    clauses_flag = 4,     ///< the line has clauses
    screened_flag = 8,    ///< url_needs holds bigrams
    any_method_flag = 16  ///< the line has no method list
  };
  /// groups[i]: standard method i (known_methods); then the group of non-standard methods.
  static constexpr std::size_t other_methods_group = detail::known_methods.size();
  /// Whether the screen may rule the line out: its regex needs bigrams, and the method does
  /// not reach it through a list of non-standard names (those go to the regex).
  [[nodiscard]] static bool screened_by(const candidate& c,
                                        const detail::rule_subject& s) noexcept {
    return (c.flags & screened_flag) != 0 &&
           (s.method_bit != 0 || (c.flags & any_method_flag) != 0);
  }
  [[nodiscard]] static std::size_t group_of(std::uint16_t method_bit) noexcept {
    return method_bit != 0 ? static_cast<std::size_t>(std::countr_zero(method_bit))
                           : other_methods_group;
  }

  /// Builds block_ and hot_: for each method, the candidates of the lines it may admit, then
  /// the URL prefilters' blocks, in line order, which the lines' prefilters then point into.
  void index_lines() {
    hot_ = hot_memory{};
    const std::size_t n = lines_.size();
    std::vector<candidate> per_line(n);
    std::size_t table_bytes = 0;
    std::size_t screened_lines = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const line& l = lines_[i];
      candidate& c = per_line[i];
      c.line = static_cast<std::uint32_t>(i);
      if (l.any_method) c.flags |= any_method_flag;
      if (!l.clauses.empty()) c.flags |= clauses_flag;
      if (!l.url) continue;
      c.flags |= url_flag;
      if (l.url->hot().narrow) c.flags |= narrow_flag;
      c.url_needs = detail::fold(l.url->required_bigrams());
      if (c.url_needs != detail::folded_bigrams{}) {
        c.flags |= screened_flag;
        ++screened_lines;
      }
      if (const std::size_t bytes = l.url->prefilter_bytes(); bytes != 0) {
        c.tables = static_cast<std::uint32_t>(table_bytes);
        table_bytes += round_up(bytes, detail::prefilter_impl::prefilter_tables_alignment);
      }
    }
    hot_.screen_urls = screened_lines >= min_screened_lines;

    // Each method's lines; methods that admit the same lines share them.
    std::vector<std::vector<std::uint32_t>> lists;
    std::vector<std::size_t> list_of(hot_.groups.size());
    for (std::size_t m = 0; m < hot_.groups.size(); ++m) {
      std::vector<std::uint32_t> admitted;
      for (std::size_t i = 0; i < n; ++i) {
        const line& l = lines_[i];
        const bool may = m == other_methods_group
                             ? l.any_method || !l.other_methods.empty()
                             : l.any_method || (l.method_mask & (1U << m)) != 0;
        if (may) admitted.push_back(static_cast<std::uint32_t>(i));
      }
      std::size_t k = 0;
      while (k < lists.size() && lists[k] != admitted) ++k;
      if (k == lists.size()) lists.push_back(std::move(admitted));
      list_of[m] = k;
    }
    // A list that fits in a cache line starts where it does not straddle two (a store
    // copies the candidates to a cache line's start, hot_alignment): a decision reads one
    // method's list, and in a cold rule set each line it touches is a miss (measured: one
    // in four of the misses of a 4-line set whose two POST lines straddled).
    constexpr std::size_t per_cache_line = hot_alignment / sizeof(candidate);
    std::vector<std::size_t> list_at(lists.size());
    std::size_t count = 0;
    for (std::size_t k = 0; k < lists.size(); ++k) {
      const std::size_t size = lists[k].size();
      if (size <= per_cache_line && count % per_cache_line + size > per_cache_line) {
        count += per_cache_line - count % per_cache_line;
      }
      list_at[k] = count;
      count += size;
    }
    for (std::size_t m = 0; m < hot_.groups.size(); ++m) {
      hot_.groups[m] = {static_cast<std::uint32_t>(list_at[list_of[m]]),
                        static_cast<std::uint32_t>(lists[list_of[m]].size())};
    }
    const std::size_t tables_at =
        round_up(count * sizeof(candidate), detail::prefilter_impl::prefilter_tables_alignment);
    block_.assign(tables_at + table_bytes, std::byte{0});  // aligned as operator new aligns
    for (std::size_t k = 0; k < lists.size(); ++k) {
      std::byte* at = block_.data() + list_at[k] * sizeof(candidate);
      for (const std::uint32_t i : lists[k]) {
        at = reinterpret_cast<std::byte*>(::new (at) candidate(per_line[i]) + 1);
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (per_line[i].tables != no_tables) {
        lines_[i].url->move_prefilter_to(block_.data() + tables_at + per_line[i].tables);
      }
    }
    hot_.candidates = block_.data();
    hot_.tables = block_.data() + tables_at;
    hot_.lines = lines_.data();
    hot_.line_count = static_cast<std::uint32_t>(n);
    hot_.candidate_bytes = static_cast<std::uint32_t>(count * sizeof(candidate));
    hot_.table_bytes = static_cast<std::uint32_t>(table_bytes);
  }

  static constexpr std::size_t round_up(std::size_t bytes, std::size_t to) noexcept {
    return (bytes + to - 1) / to * to;
  }

  static bool other_method_allowed(const line& l, const detail::rule_subject& s) noexcept {
    for (const std::string& m : l.other_methods) {
      if (detail::iequals_ascii(m, s.method)) return true;
    }
    return false;
  }

  /// A line its method admits: the URL regex, then the clauses.
  static detail::match_result match_candidate(const hot_memory& hot, const candidate& c,
                                              detail::rule_context& ctx) noexcept {
    using detail::match_result;
    if ((c.flags & url_flag) != 0) {
      const detail::compiled_regex::hot_fields url_hot{
          c.tables == no_tables ? detail::prefilter_tables{}
                                : detail::prefilter_tables(hot.tables + c.tables),
          (c.flags & narrow_flag) != 0};
      // The line itself (among the set's Boost programs, a cache miss in a cold set) is
      // read only when the prefilter does not settle the answer.
      const std::string_view url = ctx.subject().url;
      match_result r = match_result::gave_up;
      if (!detail::compiled_regex::settle(url, ctx.url_facts(), ctx.budget(), url_hot, r)) {
        r = hot.lines[c.line].url->match_unsettled(url, ctx.url_facts(), ctx.budget());
      }
      if (r != match_result::match) return r;
    }
    if ((c.flags & clauses_flag) == 0) return match_result::match;
    for (const clause& cl : hot.lines[c.line].clauses) {
      const match_result r =
          cl.type == clause::kind::query_param ? query_clause(cl, ctx) : json_clause(cl, ctx);
      if (r != match_result::match) return r;
    }
    return match_result::match;
  }

  /// Every occurrence must match, and there must be at least one.
  static detail::match_result query_clause(const clause& c, detail::rule_context& ctx) noexcept {
    using detail::match_result;
    if (!ctx.query_decodes()) return match_result::no_match;
    const std::string_view query = ctx.subject().query;
    // Each clause decodes the query again: charge it, so many lines x a long query give up.
    if (ctx.budget().exhausted()) return match_result::gave_up;
    ctx.budget().remaining -= static_cast<std::int64_t>(query.size() / 2);
    bool found = false;
    match_result verdict = match_result::match;
    query_scratch& buffer = query_scratch::for_this_thread();
    if (!buffer.reserve(query.size())) return match_result::gave_up;
    const bool walked =
        detail::for_each_query_param(query, buffer.bytes.data(), buffer.bytes.size(),
                                     [&](std::string_view name, std::string_view value) {
                                       if (name != c.name) return true;
                                       found = true;
                                       const match_result r = c.value.match(value, ctx.budget());
                                       if (r != match_result::match) {
                                         verdict = r;
                                         return false;
                                       }
                                       return true;
                                     });
    if (verdict != match_result::match) return verdict;
    return walked && found ? match_result::match : match_result::no_match;
  }

  static detail::match_result json_clause(const clause& c, detail::rule_context& ctx) noexcept {
    if (ctx.budget().exhausted()) return detail::match_result::gave_up;
    ctx.budget().remaining -= ctx.json_lookup_units();
    std::string_view text;
    if (!ctx.body().text_at(*c.path, text)) return detail::match_result::no_match;
    return c.value.match(text, ctx.budget());
  }

  /// Decoded query bytes, per thread, grown once to the largest query seen.
  struct query_scratch {
    std::vector<char> bytes;
    bool reserve(std::size_t n) noexcept {
      try {
        if (bytes.size() < n + 1) bytes.resize(n + 1);
        return true;
      } catch (...) {
        return false;
      }
    }
    static query_scratch& for_this_thread() noexcept {
      thread_local query_scratch scratch;
      return scratch;
    }
  };

  static result<line> compile_line(std::size_t number, std::string_view text, const limits& lim) {
    line out;
    out.number = number;
    out.text = std::string(text);
    std::string_view rest = text;

    // A leading [..] of letters, ',', '|' and spaces is a method list.
    if (!rest.empty() && rest.front() == '[') {
      const std::size_t close = rest.find(']');
      if (close != std::string_view::npos) {
        const std::string_view inside = rest.substr(1, close - 1);
        bool is_method_list = true;
        for (const char ch : inside) {
          const bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
          if (!letter && ch != ',' && ch != '|' && ch != ' ') {
            is_method_list = false;
            break;
          }
        }
        if (is_method_list) {
          out.any_method = false;
          std::size_t start = 0;
          while (true) {
            const std::size_t sep = inside.find_first_of(",|", start);
            const std::string_view name = detail::trim(inside.substr(
                start, sep == std::string_view::npos ? std::string_view::npos : sep - start));
            if (name.empty()) {
              return error{"empty method name in the method list '[" + std::string(inside) + "]'"};
            }
            const std::uint16_t bit = detail::method_bit(name);
            if (bit != 0) {
              out.method_mask |= bit;
            } else {
              std::string upper(name);
              for (char& ch : upper) ch = detail::ascii_upper(ch);
              out.other_methods.push_back(std::move(upper));
            }
            if (sep == std::string_view::npos) break;
            start = sep + 1;
          }
          rest.remove_prefix(close + 1);
        }
      }
    }

    // Clauses stand at the end of the line: the first clause opener from
    // which the rest of the line parses as a run of clauses starts them.
    std::string_view url_part = rest;
    std::vector<std::string_view> clause_texts;
    for (std::size_t from = 0;;) {
      const std::size_t open = find_clause_opener(rest, from);
      if (open == std::string_view::npos) break;
      std::vector<std::string_view> pieces;
      if (split_clauses(rest.substr(open), pieces)) {
        url_part = rest.substr(0, open);
        clause_texts = std::move(pieces);
        break;
      }
      from = open + 1;
    }

    if (!url_part.empty()) {
      if (url_part.size() > lim.max_regex_bytes) {
        return error{"URL regex is " + std::to_string(url_part.size()) +
                     " bytes, over the limit of " + std::to_string(lim.max_regex_bytes) +
                     " (max_regex_bytes)"};
      }
      auto compiled = detail::compiled_regex::compile(url_part, /*need_wide=*/false);
      if (!compiled)
        return error{"URL regex '" + std::string(url_part) + "': " + compiled.message()};
      out.url.emplace(std::move(compiled).value());
    }

    for (const std::string_view clause_text : clause_texts) {
      auto compiled = compile_clause(clause_text, lim);
      if (!compiled) return error{compiled.message()};
      out.clauses.push_back(std::move(compiled).value());
    }
    return out;
  }

  static constexpr std::string_view query_keyword = "[QueryParam::";
  static constexpr std::string_view json_keyword = "[JsonData::";

  static std::size_t find_clause_opener(std::string_view s, std::size_t from) noexcept {
    const std::size_t q = s.find(query_keyword, from);
    const std::size_t j = s.find(json_keyword, from);
    return q < j ? q : j;
  }

  static bool starts_clause(std::string_view s) noexcept {
    return s.starts_with(query_keyword) || s.starts_with(json_keyword);
  }

  /// `s` starts with a clause opener. Each clause ends at a ']' followed by
  /// the end of the line or by another opener; false when none does.
  static bool split_clauses(std::string_view s, std::vector<std::string_view>& out) {
    while (!s.empty()) {
      if (!starts_clause(s)) return false;
      std::size_t end = std::string_view::npos;
      for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == ']' && (i + 1 == s.size() || starts_clause(s.substr(i + 1)))) {
          end = i;
          break;
        }
      }
      if (end == std::string_view::npos) return false;
      out.push_back(s.substr(1, end - 1));  // without the brackets
      s.remove_prefix(end + 1);
    }
    return true;
  }

  static result<clause> compile_clause(std::string_view text, const limits& lim) {
    const bool is_query = text.starts_with("QueryParam::");
    const std::string_view keyword = is_query ? "QueryParam" : "JsonData";
    const std::string_view body = text.substr(keyword.size() + 2);
    const std::size_t eq = body.find("==");
    if (eq == std::string_view::npos) {
      return error{std::string(keyword) + " clause '" + std::string(text) + "' has no '=='"};
    }
    const std::string_view name = body.substr(0, eq);
    const std::string_view pattern = body.substr(eq + 2);
    if (name.empty()) {
      return error{std::string(keyword) + " clause '" + std::string(text) + "' has an empty name"};
    }
    if (pattern.size() > lim.max_regex_bytes) {
      return error{std::string(keyword) + " clause regex is " + std::to_string(pattern.size()) +
                   " bytes, over the limit of " + std::to_string(lim.max_regex_bytes) +
                   " (max_regex_bytes)"};
    }
    std::optional<detail::json_path> path;
    if (!is_query) {
      auto parsed = detail::json_path::parse(name);
      if (!parsed) return error{"JsonData clause: " + parsed.message()};
      path.emplace(std::move(parsed).value());
    }
    auto compiled = detail::compiled_regex::compile(pattern, /*need_wide=*/true);
    if (!compiled) {
      return error{std::string(keyword) + " clause regex '" + std::string(pattern) +
                   "': " + compiled.message()};
    }
    return clause{is_query ? clause::kind::query_param : clause::kind::json_data, std::string(name),
                  std::move(path), std::move(compiled).value()};
  }

  /// The URL's bigrams cost about 22 ns a decision with AVX2, 44 without; a line screened
  /// out saves 20 ns hot and more cold. Below this many lines that can be screened, the
  /// screen does not pay (measured: 4 lines, 40 ns slower when the bigrams cost 50 ns, no
  /// faster at 22; 32 lines, 300 to 1400 ns faster).
  static constexpr std::size_t min_screened_lines = 8;

  /// Sets with more lines than this are not prefetched (a hint per line admitted).
  static constexpr std::size_t max_prefetched_lines = 8;

  /// How much of a method's candidates, and of the prefilters' blocks, a prefetch asks for.
  static constexpr std::size_t prefetched_candidate_bytes = 1024;
  static constexpr std::size_t prefetched_table_bytes = 512;

  std::vector<line> lines_;
  /// The candidates of every group, end to end, then the URL prefilters' blocks
  /// (index_lines()): what a decision reads, in one allocation.
  std::vector<std::byte> block_;
  hot_memory hot_;  ///< into lines_ and block_
};

}  // namespace tokenguard

#endif  // TOKENGUARD_RULES_HPP
