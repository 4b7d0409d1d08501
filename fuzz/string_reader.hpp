#ifndef TOKENGUARD_FUZZ_STRING_READER_HPP
#define TOKENGUARD_FUZZ_STRING_READER_HPP

/// A text read as a file is, for detail::parse_line_framed_file: shared by
/// fuzz_store.cpp and tests/line_framed_store_test.cpp, which add to it what
/// they check (read errors, the threads that read, the bytes asked for).

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace tokenguard::fuzz {

/// `read_at(into, n, offset)` over `text`, as pread reads a file: copies at
/// most `piece` (at least 1) of the n bytes from `offset` and returns how
/// many, 0 at or after the end. Small pieces make the reader's blocks end
/// anywhere. No state: two threads may read at once.
class string_reader {
 public:
  explicit string_reader(std::string_view text, std::size_t piece = std::string_view::npos) noexcept
      : text_(text), piece_(piece) {}

  std::ptrdiff_t operator()(char* into, std::size_t n, std::size_t offset) const noexcept {
    if (offset >= text_.size()) return 0;
    n = std::min({n, piece_, text_.size() - offset});
    std::memcpy(into, text_.data() + offset, n);
    return static_cast<std::ptrdiff_t>(n);
  }

 private:
  std::string_view text_;
  std::size_t piece_;
};

}  // namespace tokenguard::fuzz

#endif  // TOKENGUARD_FUZZ_STRING_READER_HPP
