#ifndef TOKENGUARD_DETAIL_LOAD_FILE_HPP
#define TOKENGUARD_DETAIL_LOAD_FILE_HPP

/// Loading a store file as a gateway does (the CLI and the server): a store
/// laid out one token a line is read a block at a time, so that the file's
/// text is never held whole.

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "tokenguard/detail/durable_file.hpp"
#include "tokenguard/detail/line_framed_store.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/load.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/usage.hpp"

namespace tokenguard::detail {

/// Loads an opened store file as a gateway does. A store laid out one token
/// a line is read a block at a time and never held whole (its chunked parse
/// needs only the strings it keeps); a large one is parsed in two parts on
/// two threads (parse_line_framed_file). Any other file is read whole and
/// loaded as load_padded_store_json loads it, which also says what is wrong
/// with it. `path` names the file in a read error.
[[nodiscard]] inline result<loaded_store> load_opened_store(const opened_file& file,
                                                            const std::string& path,
                                                            usage_store& usage, const limits& lim,
                                                            bool strict) {
  const auto read = [&file](char* into, std::size_t n, std::size_t offset) -> ssize_t {
    return read_at(file, into, n, offset);
  };
  if (auto framed = parse_line_framed_file(read, file.size, lim)) {
    return compile_loaded(framed->tokens, framed->settings, usage, lim, strict);
  }
  auto text = read_whole(file, path);
  if (!text) return error{text.message()};
  return load_padded_store_json(text.value(), usage, lim, strict);
}

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_LOAD_FILE_HPP
