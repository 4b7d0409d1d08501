#ifndef TOKENGUARD_ADDRESS_HPP
#define TOKENGUARD_ADDRESS_HPP

/// Client addresses (SPEC 6): a token's `ip` allow list, and the client address
/// derived from the peer, X-Forwarded-For and the trusted proxy networks.
///
/// Addresses are held as two 64-bit integers plus a family, so that `contains`
/// is two masked compares. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
/// stored as the IPv4 address it carries, wherever it comes from, so the two
/// spellings of one client always compare equal. An IPv6 network never
/// contains an IPv4 address and vice versa (so `::/0` does not match IPv4
/// clients).
///
/// Text is a bare address: zone ids (`fe80::1%eth0`), brackets (`[::1]`),
/// ports (`1.2.3.4:80`) and IPv4 parts with leading zeros (`010.0.0.1`, which
/// some parsers read as octal) are refused. Parsing uses Boost.Asio
/// (inet_pton), after a character check that keeps it away from the zone-id
/// path (if_nametoindex).

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenguard/result.hpp"

namespace tokenguard {

class ip_network;
class ip_allow_list;

namespace detail {

/// An address as parsed, before IPv4-mapped addresses are folded to IPv4:
/// networks need to know that `::ffff:10.0.0.0/104` was written in IPv6 form.
struct raw_address {
  std::uint64_t hi = 0;  // v6: bytes 0..7, big-endian; v4: 0
  std::uint64_t lo = 0;  // v6: bytes 8..15, big-endian; v4: the address
  bool v6 = false;
};

/// Longest bare address text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
inline constexpr std::size_t max_address_input = 45;

[[nodiscard]] constexpr bool is_address_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':';
}

/// True when a dotted-decimal part (the whole text, or what follows the last
/// ':') has a part like "010". glibc's inet_pton refuses these too; checking
/// here keeps the rule independent of the C library.
[[nodiscard]] constexpr bool has_dotted_leading_zero(std::string_view text) noexcept {
  const std::size_t colon = text.rfind(':');
  std::string_view tail = colon == std::string_view::npos ? text : text.substr(colon + 1);
  if (tail.find('.') == std::string_view::npos) return false;
  while (true) {
    const std::size_t dot = tail.find('.');
    const std::string_view part = tail.substr(0, dot);
    if (part.size() > 1 && part[0] == '0') return true;
    if (dot == std::string_view::npos) return false;
    tail.remove_prefix(dot + 1);
  }
}

[[nodiscard]] inline std::optional<raw_address> parse_raw_address(std::string_view text) noexcept {
  if (text.empty() || text.size() > max_address_input) return std::nullopt;
  bool has_colon = false;
  for (const char c : text) {
    if (!is_address_char(c)) return std::nullopt;
    has_colon = has_colon || c == ':';
  }
  if (has_dotted_leading_zero(text)) return std::nullopt;

  // Boost's const char* overloads need a terminator; the string_view ones
  // would build a std::string.
  char buf[max_address_input + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  boost::system::error_code ec;
  raw_address out;
  if (has_colon) {
    const auto a = boost::asio::ip::make_address_v6(buf, ec);
    if (ec) return std::nullopt;
    const auto bytes = a.to_bytes();
    for (std::size_t i = 0; i < 8; ++i) out.hi = (out.hi << 8) | bytes[i];
    for (std::size_t i = 8; i < 16; ++i) out.lo = (out.lo << 8) | bytes[i];
    out.v6 = true;
  } else {
    const auto a = boost::asio::ip::make_address_v4(buf, ec);
    if (ec) return std::nullopt;
    out.lo = a.to_uint();
  }
  return out;
}

[[nodiscard]] constexpr bool is_v4_mapped(std::uint64_t hi, std::uint64_t lo) noexcept {
  return hi == 0 && (lo >> 32) == 0xffffu;
}

/// Quotes untrusted text for an error message: bounded length, no control
/// bytes, so a hostile store cannot flood or forge log lines.
inline std::string quote_for_message(std::string_view text) {
  constexpr std::size_t max_shown = 64;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_shown) out += "...";
  out += '"';
  return out;
}

}  // namespace detail

/// An IPv4 or IPv6 address, 16 bytes + family. IPv4-mapped IPv6 (::ffff:a.b.c.d)
/// is stored as the IPv4 address.
class ip_address {
 public:
  /// Longest text `format` writes: eight full IPv6 groups and seven colons.
  static constexpr std::size_t max_text_size = 39;

  ip_address() noexcept = default;  // 0.0.0.0

  /// A bare IPv4 or IPv6 address, nothing around it. Request path: no allocation.
  [[nodiscard]] static std::optional<ip_address> parse(std::string_view text) noexcept {
    const auto raw = detail::parse_raw_address(text);
    if (!raw) return std::nullopt;
    return from_raw(raw->hi, raw->lo, raw->v6);
  }

  [[nodiscard]] static ip_address v4(std::uint32_t host_order) noexcept {
    ip_address a;
    a.lo_ = host_order;
    return a;
  }

  /// Network byte order; ::ffff:a.b.c.d becomes the IPv4 address a.b.c.d.
  [[nodiscard]] static ip_address v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    for (std::size_t i = 0; i < 8; ++i) hi = (hi << 8) | bytes[i];
    for (std::size_t i = 8; i < 16; ++i) lo = (lo << 8) | bytes[i];
    return from_raw(hi, lo, true);
  }

  /// For a peer taken from a Boost.Asio endpoint. The scope id is dropped.
  [[nodiscard]] static ip_address from(const boost::asio::ip::address& a) noexcept {
    if (a.is_v4()) return v4(a.to_v4().to_uint());
    return v6(a.to_v6().to_bytes());
  }

  [[nodiscard]] bool is_v4() const noexcept { return v4_; }

  /// The IPv4 address in host order; 0 for an IPv6 address.
  [[nodiscard]] std::uint32_t v4_value() const noexcept {
    return v4_ ? static_cast<std::uint32_t>(lo_) : 0u;
  }

  /// Network byte order; an IPv4 address comes back in its mapped form.
  [[nodiscard]] std::array<std::uint8_t, 16> to_v6_bytes() const noexcept {
    const std::uint64_t lo = v4_ ? (0xffffull << 32) | lo_ : lo_;
    std::array<std::uint8_t, 16> out{};
    for (std::size_t i = 0; i < 8; ++i) {
      out[7 - i] = static_cast<std::uint8_t>(hi_ >> (8 * i));
      out[15 - i] = static_cast<std::uint8_t>(lo >> (8 * i));
    }
    return out;
  }

  /// Canonical text (dotted quad; RFC 5952 for IPv6) without allocating, for
  /// logging on the request path. Returns the number of characters written.
  std::size_t format(std::span<char, max_text_size> out) const noexcept {
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t n = 0;
    if (v4_) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        const auto octet = static_cast<unsigned>((lo_ >> shift) & 0xffu);
        if (octet >= 100) out[n++] = static_cast<char>('0' + octet / 100);
        if (octet >= 10) out[n++] = static_cast<char>('0' + octet / 10 % 10);
        out[n++] = static_cast<char>('0' + octet % 10);
        if (shift != 0) out[n++] = '.';
      }
      return n;
    }
    std::array<unsigned, 8> words{};
    for (std::size_t i = 0; i < 4; ++i) {
      words[i] = static_cast<unsigned>((hi_ >> (48 - 16 * i)) & 0xffffu);
      words[4 + i] = static_cast<unsigned>((lo_ >> (48 - 16 * i)) & 0xffffu);
    }
    // RFC 5952 4.2: compress the first longest run of two or more zero groups.
    std::size_t best_start = 8;
    std::size_t best_len = 1;
    for (std::size_t i = 0; i < 8;) {
      if (words[i] != 0) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < 8 && words[j] == 0) ++j;
      if (j - i > best_len) {
        best_start = i;
        best_len = j - i;
      }
      i = j;
    }
    for (std::size_t i = 0; i < 8; ++i) {
      if (i == best_start) {
        out[n++] = ':';
        out[n++] = ':';
        i += best_len - 1;
        continue;
      }
      if (i != 0 && i != best_start + best_len) out[n++] = ':';
      const unsigned w = words[i];
      bool started = false;
      for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned digit = (w >> shift) & 0xfu;
        if (digit != 0 || started || shift == 0) {
          out[n++] = hex[digit];
          started = true;
        }
      }
    }
    return n;
  }

  [[nodiscard]] std::string to_string() const {
    std::array<char, max_text_size> buf{};
    return std::string(buf.data(), format(buf));
  }

  friend bool operator==(const ip_address&, const ip_address&) noexcept = default;

 private:
  friend class ip_network;

  [[nodiscard]] static ip_address from_raw(std::uint64_t hi, std::uint64_t lo, bool v6) noexcept {
    if (!v6 || detail::is_v4_mapped(hi, lo)) return v4(static_cast<std::uint32_t>(lo));
    ip_address a;
    a.hi_ = hi;
    a.lo_ = lo;
    a.v4_ = false;
    return a;
  }

  std::uint64_t hi_ = 0;  // IPv4: always 0
  std::uint64_t lo_ = 0;  // IPv4: the address in the low 32 bits
  bool v4_ = true;
};

/// An address or CIDR network ("10.0.0.0/8", "2001:db8::/32", "192.0.2.1" = /32,
/// "::1" = /128). "::ffff:10.0.0.0/104" is the IPv4 network 10.0.0.0/8. Host bits
/// set below the prefix ("10.0.0.1/8") are an error: the writer meant either the
/// host or the network, and guessing wrong would widen or narrow the list.
class ip_network {
 public:
  /// The error message names the text and what is wrong with it.
  [[nodiscard]] static result<ip_network> parse(std::string_view text) {
    std::string why;
    auto net = try_parse(text, why);
    if (!net) return error{"invalid network " + detail::quote_for_message(text) + ": " + why};
    return *net;
  }

  /// A single address, /32 or /128.
  [[nodiscard]] static ip_network host(const ip_address& a) noexcept {
    return make(a.hi_, a.lo_, a.v4_, a.v4_ ? 32 : 128);
  }

  [[nodiscard]] bool contains(const ip_address& a) const noexcept {
    return a.v4_ == v4_ && (a.hi_ & mask_hi_) == net_hi_ && (a.lo_ & mask_lo_) == net_lo_;
  }

  [[nodiscard]] bool is_v4() const noexcept { return v4_; }
  [[nodiscard]] unsigned prefix_length() const noexcept { return prefix_; }
  [[nodiscard]] ip_address address() const noexcept {
    ip_address a;
    a.hi_ = net_hi_;
    a.lo_ = net_lo_;
    a.v4_ = v4_;
    return a;
  }

  /// "10.0.0.0/8"; a single address (/32, /128) prints bare.
  [[nodiscard]] std::string to_string() const {
    std::string s = address().to_string();
    if (prefix_ != (v4_ ? 32u : 128u)) s += "/" + std::to_string(prefix_);
    return s;
  }

  friend bool operator==(const ip_network&, const ip_network&) noexcept = default;

 private:
  friend class ip_allow_list;

  ip_network() noexcept = default;

  [[nodiscard]] static ip_network make(std::uint64_t hi, std::uint64_t lo, bool v4,
                                       unsigned prefix) noexcept {
    ip_network n;
    n.v4_ = v4;
    n.prefix_ = static_cast<std::uint8_t>(prefix);
    if (v4) {
      n.mask_hi_ = 0;
      n.mask_lo_ = prefix == 0 ? 0 : (0xffffffffull << (32 - prefix)) & 0xffffffffull;
    } else {
      n.mask_hi_ = prefix == 0 ? 0 : prefix >= 64 ? ~0ull : ~0ull << (64 - prefix);
      n.mask_lo_ = prefix <= 64 ? 0 : prefix == 128 ? ~0ull : ~0ull << (128 - prefix);
    }
    n.net_hi_ = hi & n.mask_hi_;
    n.net_lo_ = lo & n.mask_lo_;
    return n;
  }

  /// Why a would-be address is not one, for load-time messages.
  [[nodiscard]] static std::string why_not_address(std::string_view text) {
    if (text.find('%') != std::string_view::npos) {
      return "zone ids (\"%...\") are not allowed; write the bare address";
    }
    if (text.find_first_of("[]") != std::string_view::npos) {
      return "brackets are not allowed; write the bare address";
    }
    const std::size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos &&
        detail::parse_raw_address(text.substr(0, colon))) {
      return "ports are not allowed; write the bare address";
    }
    if (text.size() <= detail::max_address_input && detail::has_dotted_leading_zero(text)) {
      return "IPv4 parts with leading zeros are not allowed (octal or decimal is ambiguous)";
    }
    return "not an IPv4 or IPv6 address";
  }

  [[nodiscard]] static std::optional<ip_network> try_parse(std::string_view text,
                                                           std::string& why) {
    if (text.empty()) {
      why = "empty";
      return std::nullopt;
    }
    const std::size_t slash = text.find('/');
    const std::string_view addr_text = text.substr(0, slash);
    std::optional<unsigned> prefix;
    std::string_view p;  // the prefix as written: digits, no leading zero
    if (slash != std::string_view::npos) {
      p = text.substr(slash + 1);
      if (addr_text.empty()) {
        why = "no address before \"/\"";
        return std::nullopt;
      }
      if (p.empty()) {
        why = "no prefix length after \"/\"";
        return std::nullopt;
      }
      unsigned value = 0;
      for (const char c : p) {
        if (c < '0' || c > '9') {
          why = "prefix length " + detail::quote_for_message(p) + " is not a decimal number";
          return std::nullopt;
        }
        if (value < 1000) value = value * 10 + static_cast<unsigned>(c - '0');
      }
      if (p.size() > 1 && p[0] == '0') {
        why = "prefix length " + detail::quote_for_message(p) + " has a leading zero";
        return std::nullopt;
      }
      prefix = value;
    }
    const auto raw = detail::parse_raw_address(addr_text);
    if (!raw) {
      why = why_not_address(addr_text);
      return std::nullopt;
    }
    const unsigned max_prefix = raw->v6 ? 128 : 32;
    if (prefix && *prefix > max_prefix) {
      why = "prefix length " + std::string(p.substr(0, 24)) + (p.size() > 24 ? "..." : "") +
            " is out of range 0.." + std::to_string(max_prefix) +
            (raw->v6 ? " for IPv6" : " for IPv4");
      return std::nullopt;
    }
    unsigned bits = prefix.value_or(max_prefix);
    bool v4 = !raw->v6;
    std::uint64_t hi = raw->hi;
    std::uint64_t lo = raw->lo;
    if (raw->v6 && bits >= 96 && detail::is_v4_mapped(hi, lo)) {
      // The mapped range ::ffff:0:0/96 is IPv4 space; fold it like addresses are.
      v4 = true;
      bits -= 96;
      hi = 0;
      lo &= 0xffffffffull;
    }
    const ip_network net = make(hi, lo, v4, bits);
    if (net.net_hi_ != hi || net.net_lo_ != lo) {
      why = "host bits are set below the /" + std::to_string(prefix.value_or(max_prefix)) +
            " prefix (the network would be " + net.address().to_string() + "/" +
            std::to_string(net.prefix_) + ")";
      return std::nullopt;
    }
    return net;
  }

  std::uint64_t net_hi_ = 0;
  std::uint64_t net_lo_ = 0;
  std::uint64_t mask_hi_ = 0;
  std::uint64_t mask_lo_ = 0;
  bool v4_ = true;
  std::uint8_t prefix_ = 0;
};

/// A token's `ip` field: entries separated by commas and/or white space; empty = any address.
class ip_allow_list {
 public:
  ip_allow_list() = default;  // empty: any address

  /// Empty entries (",,", a leading or trailing comma) are skipped; text of
  /// only white space is the empty list; commas with no entry at all are an
  /// error, so a mangled field cannot silently mean "any address". The error
  /// names the first bad entry and its 1-based position.
  [[nodiscard]] static result<ip_allow_list> parse(std::string_view text) {
    const auto is_separator = [](char c) {
      return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    ip_allow_list list;
    bool saw_comma = false;
    std::size_t position = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      if (is_separator(text[i])) {
        saw_comma = saw_comma || text[i] == ',';
        ++i;
        continue;
      }
      std::size_t end = i;
      while (end < text.size() && !is_separator(text[end])) ++end;
      const std::string_view entry = text.substr(i, end - i);
      ++position;
      std::string why;
      auto net = ip_network::try_parse(entry, why);
      if (!net) {
        return error{"ip entry " + std::to_string(position) + " " +
                     detail::quote_for_message(entry) + ": " + why};
      }
      list.entries_.push_back(*net);
      i = end;
    }
    if (list.entries_.empty() && saw_comma) {
      return error{"ip list " + detail::quote_for_message(text) +
                   " has separators but no entries (leave it empty to allow any address)"};
    }
    return list;
  }

  [[nodiscard]] bool allows_any() const noexcept { return entries_.empty(); }

  [[nodiscard]] bool contains(const ip_address& a) const noexcept {
    if (entries_.empty()) return true;
    for (const ip_network& n : entries_) {
      if (n.contains(a)) return true;
    }
    return false;
  }

  [[nodiscard]] std::span<const ip_network> entries() const noexcept { return entries_; }

 private:
  std::vector<ip_network> entries_;
};

/// Peer + X-Forwarded-For + trusted proxy networks -> the client address (SPEC 6).
class client_address_resolver {
 public:
  client_address_resolver() = default;  // no trusted proxies
  explicit client_address_resolver(std::vector<ip_network> trusted_proxies)
      : trusted_(std::move(trusted_proxies)) {}

  /// xff: the X-Forwarded-For value as received (several headers already joined
  /// with ", "), empty when absent. Entries are split at commas and trimmed of
  /// spaces and tabs. Returns nullopt when the walk meets an entry that is not
  /// an address (an empty entry, "unknown", a port, ...): no client address.
  [[nodiscard]] std::optional<ip_address> resolve(const ip_address& peer,
                                                  std::string_view xff) const noexcept {
    if (!is_trusted(peer)) return peer;
    const auto is_blank = [](char c) { return c == ' ' || c == '\t'; };
    std::size_t end = xff.size();
    while (end > 0 && is_blank(xff[end - 1])) --end;
    if (end == 0) return peer;  // no or blank X-Forwarded-For

    std::optional<ip_address> leftmost;
    while (true) {
      const std::size_t comma = xff.rfind(',', end - 1);
      std::size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
      std::size_t stop = end;
      while (begin < stop && is_blank(xff[begin])) ++begin;
      while (stop > begin && is_blank(xff[stop - 1])) --stop;
      const auto a = ip_address::parse(xff.substr(begin, stop - begin));
      if (!a) return std::nullopt;
      if (!is_trusted(*a)) return a;
      leftmost = a;
      if (comma == std::string_view::npos) return leftmost;
      end = comma;
      if (end == 0) return std::nullopt;  // leading comma: an empty entry
    }
  }

 private:
  [[nodiscard]] bool is_trusted(const ip_address& a) const noexcept {
    for (const ip_network& n : trusted_) {
      if (n.contains(a)) return true;
    }
    return false;
  }

  std::vector<ip_network> trusted_;
};

}  // namespace tokenguard

#endif  // TOKENGUARD_ADDRESS_HPP
