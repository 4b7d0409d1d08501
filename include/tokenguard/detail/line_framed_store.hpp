#ifndef TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP
#define TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP

/// Parsing a large store a few hundred kilobytes at a time. The whole
/// document's DOM of a million-token store is about 1 GB (the tape and a copy
/// of every string), and faulting it in was a third of the parse. A store
/// that our writer wrote (detail/store_json_writer.hpp) has one token a line
/// between a header line and a closing `]` line, and no JSON string can hold
/// a raw newline, so the token lines can be parsed in chunks with one reused
/// parser. Only the strings a snapshot needs are kept, and each distinct
/// limitTo text once.
///
/// This is a fast path, not a second parser: for any text not laid out so,
/// and for any chunk that does not parse exactly as the whole document
/// would, it answers nullopt and the caller parses the whole document, which
/// gives the same tokens or the error with its position.

#include <simdjson.h>

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tokenguard/detail/stable_strings.hpp"
#include "tokenguard/detail/text_hash.hpp"
#include "tokenguard/detail/two_threads.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/token.hpp"

namespace tokenguard::detail {

/// Tokens whose strings live in `strings` (which never move, even when this
/// is moved).
struct line_framed_tokens {
  std::vector<token_view> tokens;
  store_settings settings;
  stable_strings strings;
};

namespace line_framing {

/// Our header is a short line: a first line longer than this (a whole store
/// on one line, say) is not ours, and a file is not read on to its end.
inline constexpr std::size_t longest_header = std::size_t{64} << 10;

[[nodiscard]] inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

/// JSON's whitespace: a blank or a line break.
[[nodiscard]] inline bool is_json_space(char c) noexcept { return is_blank(c) || c == '\n'; }

[[nodiscard]] inline std::string_view trim_blank_end(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

/// Whether the first line opens the tokens array of the root: `[` (a bare
/// array), or an object whose only `"tokens"` key is the last member of the
/// line, as the writer puts it (`{"total":1,...,"tokens":[`). No bracket or
/// backslash may come between, so every quote opens or closes a string and
/// every member is the root's.
[[nodiscard]] inline bool opens_tokens(std::string_view header) noexcept {
  header = trim_blank_end(header);
  if (header == "[") return true;
  constexpr std::string_view tail = "\"tokens\":[";
  if (header.size() < 1 + tail.size() || header.front() != '{' || !header.ends_with(tail)) {
    return false;
  }
  const std::string_view members = header.substr(1, header.size() - 1 - tail.size());
  if (members.find_first_of("[]{}\\") != std::string_view::npos) return false;
  if (members.find("\"tokens\"") != std::string_view::npos) return false;
  return std::count(members.begin(), members.end(), '"') % 2 == 0;
}

}  // namespace line_framing

/// The chunked parse of the token lines, shared by the parse of a text in
/// memory and the parse of a file read a block at a time: both cut the same
/// chunks at the same lines.
class line_framed_parser {
 public:
  enum class state : std::uint8_t {
    more,     ///< the window ends inside a chunk: keep it from `offset`, read more
    closed,   ///< the tokens array's `]` is at `offset`
    refused,  ///< not our layout, or a chunk that does not parse
  };
  struct outcome {
    state what;
    std::size_t offset;
  };

  /// Which part of the token lines a parser reads: all of them, or one of
  /// the two parts that a line ending with a comma separates (a large file is
  /// parsed in two parts at once).
  enum class part : std::uint8_t {
    all,   ///< from the header's line break to the closing `]`
    head,  ///< from the header's line break to the end of the window, just after a comma line
    tail,  ///< from just after a comma line to the closing `]`
  };

  /// `size_hint`: the document's size, for reserving its tokens.
  line_framed_parser(const limits& lim, std::size_t chunk_bytes, std::size_t size_hint,
                     part reads = part::all)
      : lim_(lim), chunk_bytes_(chunk_bytes), part_(reads), any_chunk_(reads == part::tail) {
    // A hint only: tokens of a real store take well over 128 bytes each.
    out_.tokens.reserve(std::min(lim.max_tokens, size_hint / 128));
  }

  /// Parses every whole chunk of token lines in `window`, which starts where
  /// the last call left off (just after the header line, the first time).
  /// `at_end`: nothing follows the window. What a call has read of a chunk it
  /// could not finish is not read again by the next: a file read in small
  /// pieces costs what one read of it costs.
  [[nodiscard]] outcome scan(std::string_view window, bool at_end) {
    using line_framing::is_json_space;
    std::size_t at = resume_.at;
    bool ends_with_comma = resume_.ends_with_comma;  // the last line read
    std::size_t searched = resume_.searched;         // the current line holds no '\n' before this
    resume_ = {};
    std::size_t start = 0;
    while (true) {
      // Whole lines up to about chunk_bytes; the chunk ends before the line
      // that starts with `]`, or after a line that ends with a comma (the
      // one between two tokens).
      const auto incomplete = [&] {
        if (at_end) return outcome{state::refused, start};  // no closing line
        resume_ = {at - start, ends_with_comma, std::max(searched, at) - start};
        return outcome{state::more, start};
      };
      std::size_t closing = std::string_view::npos;
      while (true) {
        // Past blank lines to the next text: the array's `]`, or a token line.
        std::size_t first = at;
        std::size_t line_of_first = at;
        for (; first < window.size() && is_json_space(window[first]); ++first) {
          if (window[first] == '\n') line_of_first = first + 1;
        }
        if (first == window.size()) {
          at = line_of_first;  // the whole blank lines are read
          // A head ends where the window does, as if at a `]` there.
          if (!at_end || part_ != part::head) return incomplete();
          closing = window.size();
          break;
        }
        if (window[first] == ']') {
          if (part_ == part::head) return {state::refused, start};  // the array closed early
          closing = first;
          break;
        }
        at = line_of_first;  // the blank lines are read once, not once a line
        if (at - start >= chunk_bytes_ && ends_with_comma) break;
        const std::size_t newline = window.find('\n', std::max(searched, at));
        if (newline == std::string_view::npos) {
          searched = window.size();
          return incomplete();
        }
        // Not empty: it holds window[first], which is text.
        const std::string_view line = line_framing::trim_blank_end(window.substr(at, newline - at));
        ends_with_comma = line.back() == ',';
        at = newline + 1;
      }
      const bool last = closing != std::string_view::npos;
      std::string_view body = window.substr(start, (last ? closing : at) - start);
      while (!body.empty() && is_json_space(body.back())) body.remove_suffix(1);
      if (!last || part_ == part::head) {
        // Chunks, and the head and the tail, are joined by the comma between two tokens.
        if (body.empty() || body.back() != ',') return {state::refused, start};
        body.remove_suffix(1);
      }
      if (body.empty()) {
        // `[` then `]`: no tokens at all; `,` then `]`: a trailing comma
        // (a tail follows a comma).
        if (last && !any_chunk_) return {state::closed, closing};
        return {state::refused, start};
      }
      if (!parse_chunk(body)) return {state::refused, start};
      any_chunk_ = true;
      if (last) return {state::closed, closing};
      start = at;
      ends_with_comma = false;
    }
  }

  /// The tokens of a head, once scan() reached its end (no settings: they
  /// come with the tail's trailer).
  [[nodiscard]] line_framed_tokens take() && { return std::move(out_); }

  /// The tokens, once scan() found the closing `]`: `header` is the first
  /// line with its line break, `trailer` the text from the `]` on. The rest
  /// of the document, with an empty tokens array in its place, gives the
  /// settings and says whether it is JSON of the right shape at all.
  [[nodiscard]] std::optional<line_framed_tokens> finish(std::string_view header,
                                                         std::string_view trailer) && {
    simdjson::padded_string outline(header.size() + trailer.size());
    std::memcpy(outline.data(), header.data(), header.size());
    std::memcpy(outline.data() + header.size(), trailer.data(), trailer.size());
    auto rest = parse_store_document<token_view>(parser_, outline, lim_);
    if (!rest || !rest.value().tokens.empty()) return std::nullopt;
    out_.settings = rest.value().settings;
    return std::move(out_);
  }

 private:
  /// Parses `body` as `{"":[` body `]}`: its tokens sit as deep as in the
  /// document, so that simdjson's depth limit answers alike.
  bool parse_chunk(std::string_view body) {
    constexpr std::string_view open = R"({"":[)";
    constexpr std::string_view close = "]}";
    const std::size_t size = open.size() + body.size() + close.size();
    if (buffer_.size() < size + simdjson::SIMDJSON_PADDING) {
      buffer_.resize(size + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(buffer_.data(), open.data(), open.size());
    std::memcpy(buffer_.data() + open.size(), body.data(), body.size());
    std::memcpy(buffer_.data() + open.size() + body.size(), close.data(), close.size());
    simdjson::dom::element root;
    simdjson::dom::array items;
    if (parser_.parse(buffer_.data(), size, false).get(root) != simdjson::SUCCESS ||
        root.at_key("").get_array().get(items) != simdjson::SUCCESS) {
      return false;
    }
    for (const simdjson::dom::element item : items) {
      simdjson::dom::object object;
      if (item.get_object().get(object) != simdjson::SUCCESS) return false;
      if (out_.tokens.size() == lim_.max_tokens) return false;  // the whole parse refuses
      token_view& t = out_.tokens.emplace_back();
      read_token(object, t);
      t.label = out_.strings.keep(t.label);
      t.user = out_.strings.keep(t.user);
      if (t.token) t.token = out_.strings.keep(*t.token);
      if (t.token_sha256) t.token_sha256 = out_.strings.keep(*t.token_sha256);
      t.id = out_.strings.keep(t.id);
      t.ip = out_.strings.keep(t.ip);
      if (!t.limit_to.empty()) {
        auto found = limit_texts_.find(t.limit_to);
        if (found == limit_texts_.end()) {
          const std::string_view kept = out_.strings.keep(t.limit_to);
          found = limit_texts_.emplace(kept, kept).first;
        }
        t.limit_to = found->second;
      }
    }
    return true;
  }

  /// Where the chunk a scan could not finish stands, from its start.
  struct progress {
    std::size_t at = 0;  ///< the first line not read
    bool ends_with_comma = false;
    std::size_t searched = 0;  ///< the line from `at` holds no '\n' before this
  };

  const limits& lim_;
  std::size_t chunk_bytes_;
  part part_;
  progress resume_;
  line_framed_tokens out_;
  boost::unordered_flat_map<std::string_view, std::string_view, text_hash> limit_texts_;
  simdjson::dom::parser parser_;
  std::vector<char> buffer_;
  bool any_chunk_;  ///< tokens came before (a tail follows a comma), so `]` may not come next
};

/// The tokens of `json` when it is laid out one token a line, parsed in
/// chunks of about `chunk_bytes`; nullopt otherwise (see above), and for a
/// store over max_store_bytes.
[[nodiscard]] inline std::optional<line_framed_tokens> parse_line_framed_store(
    std::string_view json, const limits& lim, std::size_t chunk_bytes = std::size_t{256} << 10) {
  if (json.size() > lim.max_store_bytes) return std::nullopt;  // the whole parse says why
  const std::size_t header_end = json.find('\n');
  if (header_end == std::string_view::npos || header_end > line_framing::longest_header ||
      !line_framing::opens_tokens(json.substr(0, header_end))) {
    return std::nullopt;
  }
  line_framed_parser parser(lim, chunk_bytes, json.size());
  const std::string_view lines = json.substr(header_end + 1);
  const auto found = parser.scan(lines, true);
  if (found.what != line_framed_parser::state::closed) return std::nullopt;
  return std::move(parser).finish(json.substr(0, header_end + 1), lines.substr(found.offset));
}

namespace line_framing {

/// The unparsed text of a file read a block at a time, from its start or
/// from a cut (positional_reader): [from, size) of a buffer that grows, never
/// zero-filled. `read(into, n)` reads at most n bytes into `into` and returns
/// how many, 0 at the end, or a negative number on an error.
template <class Read>
class block_buffer {
 public:
  block_buffer(Read& read, std::size_t block_bytes, std::size_t max_bytes)
      : read_(read), block_bytes_(block_bytes), max_bytes_(max_bytes) {}

  /// Appends what one read gives, into room for at least a block; the
  /// consumed bytes are dropped only when room runs short. False on an
  /// error or past max_bytes.
  bool read_block() {
    if (capacity_ - size_ < block_bytes_ && from_ > 0) {
      std::memmove(data_.get(), data_.get() + from_, size_ - from_);
      size_ -= from_;
      from_ = 0;
    }
    if (capacity_ - size_ < block_bytes_) {
      const std::size_t grown = std::max(2 * capacity_, size_ + block_bytes_);
      auto bigger = std::make_unique_for_overwrite<char[]>(grown);
      if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      capacity_ = grown;
    }
    const auto n = read_(data_.get() + size_, capacity_ - size_);
    if (n < 0) return false;
    if (n == 0) at_end_ = true;
    size_ += static_cast<std::size_t>(n);
    total_ += static_cast<std::size_t>(n);
    return total_ <= max_bytes_;
  }

  [[nodiscard]] std::string_view pending() const noexcept {
    return {data_.get() + from_, size_ - from_};
  }
  void consume(std::size_t n) noexcept { from_ += n; }
  [[nodiscard]] bool at_end() const noexcept { return at_end_; }
  /// Bytes read so far.
  [[nodiscard]] std::size_t total() const noexcept { return total_; }

 private:
  Read& read_;
  std::size_t block_bytes_;
  std::size_t max_bytes_;
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::size_t from_ = 0;
  std::size_t total_ = 0;
  bool at_end_ = false;
};

/// The header line with its line break, consumed; nullopt when the text is
/// not laid out one token a line (the header is not ours, or longer than
/// ours ever is) or cannot be read.
template <class Read>
[[nodiscard]] std::optional<std::string> read_header(block_buffer<Read>& in) {
  std::size_t header_end = std::string_view::npos;
  for (std::size_t searched = 0;
       (header_end = in.pending().find('\n', searched)) == std::string_view::npos;) {
    searched = in.pending().size();
    if (in.at_end() || searched > longest_header || !in.read_block()) return std::nullopt;
  }
  if (header_end > longest_header || !opens_tokens(in.pending().substr(0, header_end))) {
    return std::nullopt;
  }
  std::string header(in.pending().substr(0, header_end + 1));
  in.consume(header_end + 1);
  return header;
}

/// Feeds `parser` from `in` until it reaches the end of its part: true then
/// (for a part that ends at the `]`, the trailer starts in.pending()).
template <class Read>
[[nodiscard]] bool parse_part(block_buffer<Read>& in, line_framed_parser& parser) {
  while (true) {
    const auto found = parser.scan(in.pending(), in.at_end());
    if (found.what == line_framed_parser::state::refused) return false;
    in.consume(found.offset);  // scan() keeps what it read of an unfinished chunk
    if (found.what == line_framed_parser::state::closed) return true;
    if (!in.read_block()) return false;
  }
}

/// The tokens and settings of a part that ends at the `]`: the rest of the
/// text is read to its end for the trailer.
template <class Read>
[[nodiscard]] std::optional<line_framed_tokens> parse_to_end(block_buffer<Read>& in,
                                                             line_framed_parser& parser,
                                                             std::string_view header) {
  if (!parse_part(in, parser)) return std::nullopt;
  while (!in.at_end()) {
    if (!in.read_block()) return std::nullopt;
  }
  return std::move(parser).finish(header, in.pending());
}

}  // namespace line_framing

namespace line_framing {

/// Where a file of token lines can be cut in two: the start of the first
/// line at or after `from` whose previous line ends with a comma (between
/// two tokens, in a text that is ours), looked for within `within` bytes.
/// `read_at(into, n, offset)` reads as pread does.
template <class ReadAt>
[[nodiscard]] std::optional<std::size_t> find_cut(ReadAt& read_at, std::size_t from,
                                                  std::size_t size, std::size_t within) {
  std::string window(std::min(within, size - from), '\0');
  std::size_t got = 0;
  while (got < window.size()) {
    const auto n = read_at(window.data() + got, window.size() - got, from + got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  window.resize(got);
  for (std::size_t newline = window.find('\n'); newline != std::string::npos;
       newline = window.find('\n', newline + 1)) {
    std::size_t last = newline;  // the line's last character that is not blank
    while (last > 0 && is_blank(window[last - 1])) --last;
    if (last > 0 && window[last - 1] == ',') return from + newline + 1;
  }
  return std::nullopt;
}

/// The `read(into, n)` of a block_buffer, over `read_at(into, n, offset)`
/// (as pread reads): each read starts where the last one ended, and none
/// goes past `end` (the cut, for the first of two parts). It holds `read_at`
/// by reference, as both parts read through the same one.
template <class ReadAt>
class positional_reader {
 public:
  positional_reader(ReadAt& read_at, std::size_t offset,
                    std::size_t end = std::string_view::npos) noexcept
      : read_at_(read_at), offset_(offset), end_(end) {}

  /// As `read(into, n)` reads (see block_buffer). Not noexcept: `read_at` may throw.
  std::ptrdiff_t operator()(char* into, std::size_t n) {
    const auto got = read_at_(into, std::min(n, end_ - offset_), offset_);
    if (got > 0) offset_ += static_cast<std::size_t>(got);
    return got;
  }

  /// Where the next read starts.
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }
  /// Reads stop at `end` (not before the current offset).
  void stop_at(std::size_t end) noexcept { end_ = end; }

 private:
  ReadAt& read_at_;
  std::size_t offset_;
  std::size_t end_;
};

}  // namespace line_framing

/// The same for a file of `size` bytes read `block_bytes` at a time, without
/// holding the whole text: `read_at(into, n, offset)` reads as pread does (at
/// most n bytes from `offset` into `into`, and returns how many, 0 at the
/// end, or a negative number on an error: then nullopt, and the caller's own
/// read of the whole text says what went wrong); it is called from two
/// threads at once. The file is read to its end whatever `size` said (a file
/// that grew past max_store_bytes after its size was taken is refused). A
/// file of at least `two_threads_from` bytes is cut in two at a line between
/// two tokens, and the second part is parsed on a thread of its own while
/// this one parses the first (run_beside). The tokens, settings and answers
/// are those of the parse in one part, except that a cut inside an object
/// written over lines refuses, as other such texts may, and leaves it to the
/// whole parse.
template <class ReadAt>
[[nodiscard]] std::optional<line_framed_tokens> parse_line_framed_file(
    ReadAt&& read_at, std::size_t size, const limits& lim,
    std::size_t two_threads_from = std::size_t{32} << 20,
    std::size_t chunk_bytes = std::size_t{256} << 10,
    std::size_t block_bytes = std::size_t{4} << 20) {
  if (size > lim.max_store_bytes || block_bytes == 0) return std::nullopt;
  // The first part is read only as far as the cut, once it is known. The
  // readers outlive the buffers that hold them by reference.
  line_framing::positional_reader read_head(read_at, 0);
  line_framing::block_buffer head_in(read_head, block_bytes, lim.max_store_bytes);
  const auto header = line_framing::read_header(head_in);
  if (!header) return std::nullopt;
  const std::size_t middle = size / 2;
  std::optional<std::size_t> cut;
  if (size >= two_threads_from && middle >= read_head.offset() &&
      std::thread::hardware_concurrency() != 1) {
    cut = line_framing::find_cut(read_at, middle, size, line_framing::longest_header);
  }
  if (!cut) {
    line_framed_parser parser(lim, chunk_bytes, size);
    return line_framing::parse_to_end(head_in, parser, *header);
  }
  read_head.stop_at(*cut);

  // The tail: its own reader, parser and strings, and the settings.
  std::optional<line_framed_tokens> tail;
  const auto parse_tail = [&] {
    line_framing::positional_reader read_tail(read_at, *cut);
    line_framing::block_buffer in(read_tail, block_bytes, lim.max_store_bytes - *cut);
    line_framed_parser parser(lim, chunk_bytes, size - *cut, line_framed_parser::part::tail);
    tail = line_framing::parse_to_end(in, parser, *header);
  };
  std::optional<line_framed_tokens> head;
  const auto parse_head = [&] {
    line_framed_parser parser(lim, chunk_bytes, size, line_framed_parser::part::head);
    if (line_framing::parse_part(head_in, parser)) head = std::move(parser).take();
  };
  run_beside(parse_tail, parse_head);
  if (!head || !tail || tail->tokens.size() > lim.max_tokens - head->tokens.size()) {
    return std::nullopt;
  }
  head->tokens.insert(head->tokens.end(), tail->tokens.begin(), tail->tokens.end());
  head->strings.adopt(std::move(tail->strings));
  head->settings = tail->settings;
  return head;
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_LINE_FRAMED_STORE_HPP
