#ifndef TOKENGUARD_LOAD_HPP
#define TOKENGUARD_LOAD_HPP

/// Loading a store for a gateway: a JSON document straight to a compiled
/// snapshot. The management service keeps token_records to rewrite its store
/// (parse_store_json, then store::compile); a gateway that only decides needs
/// none of them, so this reads views into the parsed document instead, which
/// skips a record and its heap strings per token. Same document, same
/// snapshot, same problems, same errors as parsing and compiling. A store
/// with one token a line (what our writer writes) is parsed in chunks of
/// lines, without ever holding the whole document's DOM.

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "tokenguard/detail/line_framed_store.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/token.hpp"
#include "tokenguard/usage.hpp"

namespace tokenguard {

struct loaded_store {
  std::shared_ptr<const store> snapshot;
  store_settings settings;
  /// Tokens in the document, loaded or not; snapshot->problems() lists
  /// those that cannot authenticate.
  std::size_t tokens = 0;
};

namespace detail {

/// A snapshot of parsed tokens, and the loaded_store around it.
[[nodiscard]] inline result<loaded_store> compile_loaded(std::span<const token_view> views,
                                                         const store_settings& settings,
                                                         usage_store& usage, const limits& lim,
                                                         bool strict) {
  auto compiled = store::compile(views, usage, lim, strict);
  if (!compiled) return error{compiled.message()};
  return loaded_store{std::move(compiled).value(), settings, views.size()};
}

}  // namespace detail

/// Parses and compiles a store document held with simdjson::SIMDJSON_PADDING
/// readable bytes past its end, in place (a view with less room is copied
/// first; see parse_padded_store_json). Usage slots are bound in `usage`;
/// with `strict`, any token problem refuses the whole store, as
/// store::compile does.
[[nodiscard]] inline result<loaded_store> load_padded_store_json(
    simdjson::padded_string_view padded, usage_store& usage, const limits& lim = limits{},
    bool strict = false) {
  // A store laid out as our writer lays it out is parsed a chunk of lines at
  // a time, without the whole document's DOM (detail/line_framed_store.hpp).
  if (auto framed = detail::parse_line_framed_store(padded, lim)) {
    return detail::compile_loaded(framed->tokens, framed->settings, usage, lim, strict);
  }
  // Any other layout, and every error, from the whole document. The views
  // point into the parser's copy of the document's strings: it lives until
  // the snapshot, which copies what it keeps, is built.
  simdjson::dom::parser parser;
  auto parsed = detail::parse_store_document<detail::token_view>(parser, padded, lim);
  if (!parsed) return error{parsed.message()};
  return detail::compile_loaded(parsed.value().tokens, parsed.value().settings, usage, lim, strict);
}

/// The same for any text, copied into a padded buffer first.
[[nodiscard]] inline result<loaded_store> load_store_json(std::string_view json, usage_store& usage,
                                                          const limits& lim = limits{},
                                                          bool strict = false) {
  if (auto refused = detail::oversized_store(json.size(), lim)) {  // before the copy
    return *std::move(refused);
  }
  const simdjson::padded_string padded(json);
  return load_padded_store_json(padded, usage, lim, strict);
}

}  // namespace tokenguard

#endif  // TOKENGUARD_LOAD_HPP
