#ifndef TOKENGUARD_RULES_HPP
#define TOKENGUARD_RULES_HPP

/// limitTo (SPEC 3): the text of a token's restrictions, compiled once into a
/// rule set that many requests evaluate concurrently. A rule that does not
/// compile is an error here, at load or create time, never at request time.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

[[nodiscard]] constexpr char ascii_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

[[nodiscard]] constexpr bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

/// Bit for a standard method (compared case-insensitively), 0 for any other.
[[nodiscard]] constexpr std::uint16_t method_bit(std::string_view method) noexcept {
  for (std::size_t i = 0; i < known_methods.size(); ++i) {
    if (iequals_ascii(method, known_methods[i])) return static_cast<std::uint16_t>(1U << i);
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
      : subject_(subject),
        body_(subject.body, subject.max_body_bytes),
        budget_(budget_units),
        url_facts_(scan_text(subject.url)) {}

  [[nodiscard]] const rule_subject& subject() const noexcept { return subject_; }
  [[nodiscard]] json_body& body() noexcept { return body_; }
  [[nodiscard]] match_budget& budget() noexcept { return budget_; }
  [[nodiscard]] const text_facts& url_facts() const noexcept { return url_facts_; }
  /// The URL's bigrams, computed on first use (only rule sets with screened lines ask).
  [[nodiscard]] const bigram_mask& url_bigrams() noexcept {
    if (!url_bigrams_ready_) {
      url_bigrams_ = text_bigrams(subject_.url);
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
  bigram_mask url_bigrams_{};
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
  // heads_ and the lines' prefilters point into lines_' and tables_' buffers, which move.
  rule_set(rule_set&&) noexcept = default;
  rule_set& operator=(rule_set&&) noexcept = default;
  rule_set(const rule_set& other)  // the lines' prefilter blocks are copied, then gathered
      : lines_(other.lines_), url_needs_(other.url_needs_), screen_urls_(other.screen_urls_) {
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
    out.url_needs_.reserve(out.lines_.size());
    std::size_t screened = 0;
    for (const line& l : out.lines_) {
      out.url_needs_.push_back(l.url ? l.url->required_bigrams() : detail::bigram_mask{});
      if (out.url_needs_.back() != detail::bigram_mask{}) ++screened;
    }
    out.screen_urls_ = screened >= min_screened_lines;
    out.index_lines();
    return out;
  }

  [[nodiscard]] bool unrestricted() const noexcept { return lines_.empty(); }

  /// Where evaluate() reads, for prefetch(): a store keeps it beside each rule set, so that
  /// the hint does not wait for the rule set itself.
  struct hot_memory {
    const void* heads = nullptr;
    std::size_t head_bytes = 0;
    const void* tables = nullptr;
    std::size_t table_bytes = 0;
  };
  [[nodiscard]] hot_memory hot() const noexcept {
    return {heads_.data(), heads_.size() * sizeof(head), tables_.data(), tables_.size()};
  }
  /// Request path, a hint: starts fetching the rule set, its line heads and the first of its
  /// prefilter tables.
  static void prefetch(const rule_set* set, const hot_memory& hot) noexcept {
    detail::prefetch_for_read(set);
    detail::prefetch_range_for_read(hot.heads, std::min<std::size_t>(hot.head_bytes, 128));
    detail::prefetch_range_for_read(hot.tables,
                                    std::min<std::size_t>(hot.table_bytes, prefetched_table_bytes));
  }
  [[nodiscard]] std::span<const line> lines() const noexcept { return lines_; }

  /// SPEC 3 matching: at least one line passes. A line the engine gave up on
  /// does not pass; if no line passes and one gave up, the outcome says so.
  [[nodiscard]] rules_outcome evaluate(detail::rule_context& ctx) const noexcept {
    if (heads_.empty()) return rules_outcome::pass;
    const detail::rule_subject& s = ctx.subject();
    // The lines are tried one after another, each after the previous one's answer; in a
    // cold rule set, ask for the matchers of all the lines the method admits at once.
    if (heads_.size() <= max_prefetched_lines) {
      for (const head& h : heads_) {
        const std::byte* tables = h.url_hot.prefilter.data();
        if (tables != nullptr && method_may_pass(h, s)) {
          detail::prefetch_range_for_read(tables, 256);
        }
      }
    }
    // Sets with few lines to screen skip the screen: the bigram masks would be one more cold
    // read.
    const bool screening = screen_urls_ && ctx.url_facts().ascii;
    bool gave_up = false;
    for (std::size_t i = 0; i < heads_.size(); ++i) {
      // The method and the screen, from the head; the line only for a non-standard method.
      const head& h = heads_[i];
      if (!h.any_method) {
        if (s.method_bit != 0) {
          if ((h.method_mask & s.method_bit) == 0) continue;
        } else if (!h.other_methods || !other_method_allowed(lines_[i], s)) {
          continue;
        }
      }
      // A URL without a bigram the line's regex needs: the regex's answer, after the same
      // budget check and charge as a call. (A non-standard method a method list admitted
      // goes to the regex.)
      if (screening && h.url_screened && (h.any_method || s.method_bit != 0) &&
          !detail::covers(ctx.url_bigrams(), url_needs_[i])) {
        detail::match_budget& budget = ctx.budget();
        if (budget.exhausted()) {
          gave_up = true;
        } else {
          budget.remaining -= detail::match_call_units;
        }
        continue;
      }
      switch (match_line(h, lines_[i], ctx)) {
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
  /// What evaluate() reads of a line before the line itself, dense: the method test and
  /// the URL matcher, so that a line is read only for a non-standard method or clauses.
  struct head {
    const detail::compiled_regex* url = nullptr;  ///< the line's (nullptr: any URL)
    detail::compiled_regex::hot_fields url_hot;   ///< url->hot()
    std::uint16_t method_mask = 0;
    bool any_method = true;
    bool other_methods = false;  ///< the list names non-standard methods
    bool clauses = false;
    bool url_screened = false;  ///< url_needs_ holds bigrams
  };

  /// Whether the method may pass, without reading the line (a non-standard method may, when
  /// the list names one).
  static bool method_may_pass(const head& h, const detail::rule_subject& s) noexcept {
    if (h.any_method) return true;
    return s.method_bit != 0 ? (h.method_mask & s.method_bit) != 0 : h.other_methods;
  }

  /// Builds the heads, and gathers the URL prefilters' blocks into tables_, in line order.
  void index_lines() {
    std::size_t bytes = 0;
    for (const line& l : lines_) bytes += l.url ? l.url->prefilter_bytes() : 0;
    tables_.assign(bytes, std::byte{0});  // aligned as operator new aligns
    std::size_t at = 0;
    heads_.clear();
    heads_.reserve(lines_.size());
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      line& l = lines_[i];
      head h;
      if (l.url) {
        const std::size_t n = l.url->prefilter_bytes();
        if (n != 0) {
          l.url->move_prefilter_to(tables_.data() + at);
          at += n;
        }
        h.url = &*l.url;
        h.url_hot = l.url->hot();
      }
      h.method_mask = l.method_mask;
      h.any_method = l.any_method;
      h.other_methods = !l.other_methods.empty();
      h.clauses = !l.clauses.empty();
      h.url_screened = url_needs_[i] != detail::bigram_mask{};
      heads_.push_back(h);
    }
  }

  static bool other_method_allowed(const line& l, const detail::rule_subject& s) noexcept {
    for (const std::string& m : l.other_methods) {
      if (detail::iequals_ascii(m, s.method)) return true;
    }
    return false;
  }

  /// A line its method admits: the URL regex, then the clauses.
  static detail::match_result match_line(const head& h, const line& l,
                                         detail::rule_context& ctx) noexcept {
    using detail::match_result;
    if (h.url != nullptr) {
      const match_result r =
          h.url->match(ctx.subject().url, ctx.url_facts(), ctx.budget(), h.url_hot);
      if (r != match_result::match) return r;
    }
    if (!h.clauses) return match_result::match;
    for (const clause& c : l.clauses) {
      const match_result r =
          c.type == clause::kind::query_param ? query_clause(c, ctx) : json_clause(c, ctx);
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

  /// The URL's bigrams cost about 50 ns a decision; a line screened out saves 20 ns hot and
  /// more cold. Below this many lines that can be screened, the screen costs more than it
  /// saves (measured: 4 lines, 40 ns slower; 32 lines, 300 to 1400 ns faster).
  static constexpr std::size_t min_screened_lines = 8;

  /// Sets with more lines than this are not prefetched (a hint per line admitted).
  static constexpr std::size_t max_prefetched_lines = 8;

  /// How much of tables_ a prefetch asks for.
  static constexpr std::size_t prefetched_table_bytes = 512;

  std::vector<line> lines_;
  std::vector<head> heads_;                     ///< one per line; index_lines()
  std::vector<std::byte> tables_;               ///< the URL prefilters' blocks, end to end
  std::vector<detail::bigram_mask> url_needs_;  ///< per line: bigrams its URL regex needs
  bool screen_urls_ = false;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_RULES_HPP
