#ifndef TOKENGUARD_DETAIL_JSON_BODY_HPP
#define TOKENGUARD_DETAIL_JSON_BODY_HPP

/// JsonData clauses (SPEC 3): a dotted path into the request body and the text
/// of the scalar found there. The body is validated in full with simdjson's DOM
/// (so "valid JSON" means one thing for every clause), navigated on the DOM, and
/// for a number node the token is read as written with the on-demand API, since
/// the DOM keeps only the parsed value ("1.50" would come back as 1.5).
///
/// Semantics where the spec is silent:
/// - A segment names an object key verbatim (after JSON unescaping of the key);
///   a key containing '.' cannot be addressed.
/// - On an array, a segment in canonical decimal ("0", "17"; not "01", "+1",
///   "-1") is a 0-based index, as RFC 6901 and Jackson's JsonPointer read it;
///   any other segment, or an index past the end, finds nothing. On an object a
///   numeric segment is an ordinary key.
/// - Duplicate keys: the first occurrence wins.
/// - The body is invalid when simdjson's DOM refuses it: bad syntax, trailing
///   non-space text, invalid UTF-8 or escapes, nesting over 1024, and also a
///   number simdjson cannot represent (an integer outside int64/uint64, or a
///   float beyond double range such as 1e400). Every clause then fails (fails
///   closed).

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/result.hpp"

namespace tokenguard::detail {

inline constexpr std::size_t max_json_path_segments = 64;

class json_body;

/// A compiled `JsonData::` path: dot-separated object keys; a segment of decimal digits also
/// indexes arrays.
class json_path {
 public:
  /// Errors (message names the path): empty path, empty segment ("a..b", ".a", "a."), over 64
  /// segments.
  [[nodiscard]] static result<json_path> parse(std::string_view dotted) {
    const auto fail = [dotted](std::string_view why) {
      return error{"JSON path \"" + std::string(dotted) + "\" " + std::string(why)};
    };
    if (dotted.empty()) return fail("is empty");
    json_path path;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = dotted.find('.', start);
      const std::string_view segment = dotted.substr(
          start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (segment.empty()) {
        return fail("has an empty segment at byte " + std::to_string(start + 1));
      }
      if (path.segments_.size() == max_json_path_segments) {
        return fail("has more than " + std::to_string(max_json_path_segments) + " segments");
      }
      path.segments_.emplace_back(segment);
      path.indexes_.push_back(array_index(segment));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    return path;
  }

  [[nodiscard]] std::span<const std::string> segments() const noexcept { return segments_; }

 private:
  friend class json_body;

  static constexpr std::size_t no_index = std::numeric_limits<std::size_t>::max();

  json_path() = default;

  /// Canonical decimal only, so that "01" and "1" never name the same element;
  /// an index too large for size_t cannot exist in any body either.
  [[nodiscard]] static std::size_t array_index(std::string_view segment) noexcept {
    if (segment.size() > 1 && segment.front() == '0') return no_index;
    std::size_t value = 0;
    for (const char ch : segment) {
      if (ch < '0' || ch > '9') return no_index;
      const auto digit = static_cast<std::size_t>(ch - '0');
      if (value > (no_index - 1 - digit) / 10) return no_index;
      value = value * 10 + digit;
    }
    return value;
  }

  std::vector<std::string> segments_;
  std::vector<std::size_t> indexes_;  ///< per segment: its array index, or no_index
};

namespace json_body_impl {

/// Parsers and the padded copy of the body, per thread, grown to the largest
/// body seen and never shrunk, so steady-state lookups allocate nothing.
struct thread_state {
  /// Capacities are rounded up so that bodies growing a little at a time do
  /// not reallocate on every request.
  static constexpr std::size_t granule = 4096;

  simdjson::dom::parser dom;
  simdjson::dom::document doc;
  simdjson::ondemand::parser ondemand;
  std::unique_ptr<char[]> buffer;  ///< capacity + SIMDJSON_PADDING bytes
  std::size_t capacity = 0;        ///< bytes of body that buffer, dom and doc can hold
  std::size_t ondemand_capacity = 0;
  /// Bumped by every parse: a json_body whose parse was overwritten by another
  /// one on this thread sees a different number and parses again.
  std::uint64_t generation = 0;

  [[nodiscard]] static thread_state& get() noexcept {
    thread_local thread_state state;
    return state;
  }

  [[nodiscard]] bool reserve(std::size_t size) noexcept {
    if (size <= capacity) return true;
    if (size > std::numeric_limits<std::size_t>::max() - granule - simdjson::SIMDJSON_PADDING) {
      return false;
    }
    const std::size_t want = (size + granule - 1) / granule * granule;
    try {
      // Until all three are in place the old capacity no longer holds.
      capacity = 0;
      ondemand_capacity = 0;
      buffer.reset();
      buffer.reset(new char[want + simdjson::SIMDJSON_PADDING]);
      if (doc.allocate(want) != simdjson::SUCCESS) return false;
      if (dom.allocate(want) != simdjson::SUCCESS) return false;
    } catch (...) {  // std::bad_alloc, or anything else simdjson lets escape
      return false;
    }
    capacity = want;
    return true;
  }

  [[nodiscard]] bool reserve_ondemand() noexcept {
    if (ondemand_capacity >= capacity) return true;
    try {
      ondemand_capacity = 0;
      if (ondemand.allocate(capacity) != simdjson::SUCCESS) return false;
    } catch (...) {
      return false;
    }
    ondemand_capacity = capacity;
    return true;
  }
};

}  // namespace json_body_impl

/// One request body, parsed lazily at most once, shared by all JsonData clauses of one decision.
/// Uses per-thread simdjson parsers whose capacity is reserved on first use, so steady-state
/// lookups allocate nothing.
///
/// At most one json_body per thread may be alive at a time: they share that
/// thread's parsers and body copy. (As a safety net, a json_body whose parse was
/// overwritten by another one parses again, so its own lookups stay correct, but
/// texts returned earlier by the other one are then invalid.) Use a json_body on
/// the thread that made it.
class json_body {
 public:
  json_body(std::string_view body, std::size_t max_body_bytes) noexcept
      : body_(body), max_body_bytes_(max_body_bytes) {}

  /// The text of the node at `path` when it exists and is a string (unescaped content), a number
  /// (exactly as written in the body), or a boolean ("true"/"false"). False for a missing node,
  /// null, object, array, an invalid JSON body, an empty body or one over max_body_bytes. `text`
  /// stays valid until this json_body is destroyed.
  [[nodiscard]] bool text_at(const json_path& path, std::string_view& text) noexcept {
    if (!ensure_parsed()) return false;
    const std::span<const std::string> segments = path.segments();
    if (segments.empty() || segments.size() > max_json_path_segments) return false;

    // Where each step went, as the ordinal of the child in its container, so
    // that an on-demand walk lands on the same node without comparing keys again.
    std::array<std::size_t, max_json_path_segments> ordinals{};
    simdjson::dom::element node = root_;
    for (std::size_t k = 0; k < segments.size(); ++k) {
      const simdjson::dom::element_type type = node.type();
      if (type == simdjson::dom::element_type::OBJECT) {
        simdjson::dom::object object;
        if (node.get_object().get(object) != simdjson::SUCCESS) return false;
        std::size_t ordinal = 0;
        bool found = false;
        for (const simdjson::dom::key_value_pair field : object) {
          if (field.key == segments[k]) {
            node = field.value;
            found = true;
            break;
          }
          ++ordinal;
        }
        if (!found) return false;
        ordinals[k] = ordinal;
      } else if (type == simdjson::dom::element_type::ARRAY) {
        const std::size_t index = path.indexes_[k];
        if (index == json_path::no_index) return false;
        simdjson::dom::array array;
        if (node.get_array().get(array) != simdjson::SUCCESS) return false;
        std::size_t ordinal = 0;
        bool found = false;
        for (const simdjson::dom::element child : array) {
          if (ordinal == index) {
            node = child;
            found = true;
            break;
          }
          ++ordinal;
        }
        if (!found) return false;
        ordinals[k] = ordinal;
      } else {
        return false;
      }
    }

    switch (node.type()) {
      case simdjson::dom::element_type::STRING:
        return node.get_string().get(text) == simdjson::SUCCESS;
      case simdjson::dom::element_type::BOOL: {
        bool value = false;
        if (node.get_bool().get(value) != simdjson::SUCCESS) return false;
        text = value ? std::string_view("true") : std::string_view("false");
        return true;
      }
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE:
        return number_text(std::span<const std::size_t>(ordinals.data(), segments.size()), text);
      default:
        return false;
    }
  }

 private:
  enum class parse_state : std::uint8_t { unparsed, valid, invalid };

  /// Validates once; the verdict is kept for every later lookup.
  [[nodiscard]] bool ensure_parsed() noexcept {
    if (state_ == parse_state::invalid) return false;
    auto& st = json_body_impl::thread_state::get();
    if (state_ == parse_state::valid && generation_ == st.generation) return true;

    state_ = parse_state::invalid;
    if (body_.empty() || body_.size() > max_body_bytes_) return false;
    // Bumped before anything is overwritten or freed, even if reserving fails.
    generation_ = ++st.generation;
    if (!st.reserve(body_.size())) return false;
    std::memcpy(st.buffer.get(), body_.data(), body_.size());
    std::memset(st.buffer.get() + body_.size(), 0, simdjson::SIMDJSON_PADDING);
    simdjson::dom::element root;
    if (st.dom.parse_into_document(st.doc, st.buffer.get(), body_.size(), false).get(root) !=
        simdjson::SUCCESS) {
      return false;
    }
    root_ = root;
    state_ = parse_state::valid;
    return true;
  }

  /// The number token as written: walks the same ordinals with the on-demand
  /// API over the same buffer; the token points into that buffer.
  [[nodiscard]] bool number_text(std::span<const std::size_t> ordinals,
                                 std::string_view& text) noexcept {
    auto& st = json_body_impl::thread_state::get();
    if (!st.reserve_ondemand()) return false;
    simdjson::ondemand::document doc;
    if (st.ondemand.iterate(st.buffer.get(), body_.size(), st.capacity + simdjson::SIMDJSON_PADDING)
            .get(doc) != simdjson::SUCCESS) {
      return false;
    }
    simdjson::ondemand::value node;
    if (!child_at(doc, ordinals[0], node)) return false;
    for (std::size_t k = 1; k < ordinals.size(); ++k) {
      simdjson::ondemand::value next;
      if (!child_at(node, ordinals[k], next)) return false;
      node = next;
    }
    simdjson::ondemand::json_type type{};
    if (node.type().get(type) != simdjson::SUCCESS ||
        type != simdjson::ondemand::json_type::number) {
      return false;
    }
    std::string_view token = node.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                              token.back() == '\r')) {
      token.remove_suffix(1);
    }
    if (token.empty()) return false;
    text = token;
    return true;
  }

  /// The ordinal-th child of an on-demand object or array (a document or a value).
  template <class Node>
  [[nodiscard]] static bool child_at(Node& container, std::size_t ordinal,
                                     simdjson::ondemand::value& out) noexcept {
    simdjson::ondemand::json_type type{};
    if (container.type().get(type) != simdjson::SUCCESS) return false;
    std::size_t i = 0;
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      if (container.get_object().get(object) != simdjson::SUCCESS) return false;
      for (auto field : object) {
        if (field.error() != simdjson::SUCCESS) return false;
        if (i++ == ordinal) return field.value().get(out) == simdjson::SUCCESS;
      }
      return false;
    }
    if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array array;
      if (container.get_array().get(array) != simdjson::SUCCESS) return false;
      for (auto child : array) {
        if (child.error() != simdjson::SUCCESS) return false;
        if (i++ == ordinal) return child.get(out) == simdjson::SUCCESS;
      }
      return false;
    }
    return false;
  }

  std::string_view body_;
  std::size_t max_body_bytes_;
  parse_state state_ = parse_state::unparsed;
  std::uint64_t generation_ = 0;
  simdjson::dom::element root_{};
};

}  // namespace tokenguard::detail

#endif  // TOKENGUARD_DETAIL_JSON_BODY_HPP
