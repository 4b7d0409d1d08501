#ifndef TOKENGUARD_BENCH_SUPPORT_HPP
#define TOKENGUARD_BENCH_SUPPORT_HPP

/// What every benchmark of the suite shares: the generated stores (tokens and
/// limitTo rules of the seed's kind), the generated requests, and the
/// allocation and memory counters. Deterministic: the same run, the same data.

#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/token.hpp"

namespace tgbench {

/// Defined in alloc_counter.cpp, which replaces the global operator new.
long allocations_on_this_thread() noexcept;
long long live_heap_bytes() noexcept;

/// Resident set size of this process, in bytes (from /proc/self/statm).
inline long long resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long pages = 0, resident = 0;
  const int got = std::fscanf(f, "%lld %lld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? resident * sysconf(_SC_PAGESIZE) : 0;
}

/// The high-water mark of this process's resident set, in bytes (VmHWM in
/// /proc/self/status); 0 when unknown.
inline long long peak_resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  long long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib * 1024;
}

/// Starts a new high-water mark at the current resident set (Linux 4.0 and
/// later); false when the kernel refuses.
inline bool reset_peak_resident() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

/// Gives freed heap pages back to the system, so that RSS deltas count live data.
inline void trim_heap() { malloc_trim(0); }

/// The clock of every decision: inside every generated token's validity.
inline constexpr std::int64_t now_ms = 1'700'000'000'000;
inline constexpr std::int64_t valid_until_ms = 4'102'444'800'000;  // 2100-01-01
inline constexpr std::string_view host = "https://jira.example.com";
inline constexpr std::string_view peer_address = "192.0.2.7";
inline constexpr std::size_t url_bytes = 80;

/// splitmix64: small, fast, good enough to scatter secrets and picks.
struct rng {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

/// One limitTo line as generated: its method bits (0 = no method list) and
/// its URL regex, which every engine of the suite reads the same way.
struct rule_line {
  std::uint16_t methods = 0;
  std::string regex;
  std::string text;  ///< as written in limitTo
};

struct rule_set_spec {
  std::vector<rule_line> lines;
  std::string limit_to;  ///< lines joined by <br>, as tokenTools/get returns them
};

inline rule_line make_line(std::string_view method_list, std::string regex) {
  rule_line l;
  l.regex = std::move(regex);
  if (!method_list.empty()) {
    std::size_t start = 0;
    while (start <= method_list.size()) {
      std::size_t sep = method_list.find(',', start);
      if (sep == std::string_view::npos) sep = method_list.size();
      l.methods |= tokenguard::detail::method_bit(method_list.substr(start, sep - start));
      start = sep + 1;
    }
    l.text = "[" + std::string(method_list) + "]";
  }
  l.text += l.regex;
  return l;
}

/// Rule set `k` with `lines` lines, of the seed's kind. The line that the
/// allowed request matches is last; the others cycle through POST-only,
/// GET-only, PUT/DELETE and any-method lines (so 2 of 4 lines apply to POST,
/// 16 of 32), all on the same URL prefix so that every engine has to look.
inline rule_set_spec make_rule_set(int k, int lines) {
  rule_set_spec s;
  const std::string ks = std::to_string(k);
  for (int i = 0; i + 1 < lines; ++i) {
    const std::string is = std::to_string(i);
    switch (i % 4) {
      case 0:
        s.lines.push_back(make_line("post", ".*/rest/api/2/issue/KANBAN" + ks + "-" +
                                                std::to_string(100 + i) + "/comment.*"));
        break;
      case 1:
        s.lines.push_back(
            make_line("get", ".*/rest/api/2/issue/OPS" + ks + "-" + is + "/worklog.*"));
        break;
      case 2:
        s.lines.push_back(
            make_line("put,delete", ".*/rest/api/2/issue/OPS" + ks + "-[0-9]{1,4}/attachments.*"));
        break;
      default:
        s.lines.push_back(make_line("", ".*/rest/api/2/issue/SCRUM" + ks + "-[1-2]{1}/watchers.*"));
        break;
    }
  }
  s.lines.push_back(make_line("post", ".*/rest/api/2/issue/SCRUM" + ks + "-[1-2]{1}/comment.*"));
  for (const rule_line& l : s.lines) {
    if (!s.limit_to.empty()) s.limit_to += "<br>";
    s.limit_to += l.text;
  }
  return s;
}

/// An absolute URL of exactly url_bytes bytes: `path` then a comment id and padding.
inline std::string make_url(std::string_view path) {
  std::string url = std::string(host) + std::string(path) + "10042/properties/sd.public.comment";
  while (url.size() < url_bytes) url += 'x';
  url.resize(url_bytes);
  return url;
}

/// The URL that rule set k's last line matches, and one that no line of it matches.
inline std::string allow_url(int k) {
  return make_url("/rest/api/2/issue/SCRUM" + std::to_string(k) + "-2/comment/");
}
inline std::string deny_url(int k) {
  return make_url("/rest/api/2/issue/SCRUM" + std::to_string(k) + "-3/comment/");
}

inline std::string make_secret(std::uint64_t t) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  rng r{t * 7919 + 17};
  std::string s(32, 'a');
  for (char& c : s) c = alphabet[r.next() % 36];
  return s;
}

inline std::string user_of(std::uint64_t t) { return "user" + std::to_string(t); }

/// Half the tokens carry an address list that admits peer_address.
inline std::string ip_of(std::uint64_t t) { return t % 2 == 0 ? "" : "192.0.2.0/24, 10.0.0.0/8"; }

struct store_spec {
  std::size_t tokens = 1000;
  int lines = 4;  ///< 0: unrestricted tokens
  int sets = 1;   ///< distinct rule sets; token t uses set t % sets
  bool secure = false;
};

inline std::string hex_sha256(std::string_view secret) {
  return tokenguard::detail::to_hex(tokenguard::detail::sha256(secret));
}

/// The records a loader would produce for a generated store.
inline std::vector<tokenguard::token_record> make_records(const store_spec& spec,
                                                          const std::vector<rule_set_spec>& sets) {
  std::vector<tokenguard::token_record> out(spec.tokens);
  for (std::size_t t = 0; t < spec.tokens; ++t) {
    tokenguard::token_record& r = out[t];
    r.label = "token " + std::to_string(t);
    r.user = user_of(t);
    const std::string secret = make_secret(t);
    if (spec.secure) {
      r.token_sha256 = hex_sha256(secret);
    } else {
      r.token = secret;
    }
    r.id = "tok-" + std::to_string(t);
    if (spec.lines > 0) r.limit_to = sets[t % sets.size()].limit_to;
    r.ip = ip_of(t);
    r.valid_until = valid_until_ms;
    r.date_created = 1'600'000'000'000;
  }
  return out;
}

/// A store file in the shape of tokenTools/get, with the seed's fields.
inline std::string make_store_json(const store_spec& spec, const std::vector<rule_set_spec>& sets) {
  std::string json = "{\"total\":" + std::to_string(spec.tokens) +
                     ",\"pages\":1,\"maxResults\":1000,\"startAt\":0,\"tokens\":[\n";
  for (std::size_t t = 0; t < spec.tokens; ++t) {
    if (t != 0) json += ",\n";
    const std::string secret = make_secret(t);
    json += "{\"authorKey\":\"JIRAUSER10100\",\"userKey\":\"JIRAUSER" + std::to_string(20000 + t) +
            "\",\"userDisplayName\":\"User " + std::to_string(t) + "\",\"label\":\"token " +
            std::to_string(t) + "\",\"user\":\"" + user_of(t) + "\",";
    json += spec.secure ? "\"tokenSha256\":\"" + hex_sha256(secret) + "\","
                        : "\"token\":\"" + secret + "\",";
    json += "\"id\":\"tok-" + std::to_string(t) + "\",\"limitTo\":\"" +
            (spec.lines > 0 ? sets[t % sets.size()].limit_to : std::string()) + "\",\"ip\":\"" +
            ip_of(t) + "\",\"validUntil\":" + std::to_string(valid_until_ms) +
            ",\"dateCreated\":1600000000000,\"counter\":" + std::to_string(t % 1000) + "}";
  }
  json += "\n],\"status\":\"ok\"}\n";
  return json;
}

inline std::vector<rule_set_spec> make_rule_sets(int lines, int sets) {
  std::vector<rule_set_spec> out;
  if (lines <= 0) return out;
  out.reserve(static_cast<std::size_t>(sets));
  for (int k = 0; k < sets; ++k) out.push_back(make_rule_set(k, lines));
  return out;
}

/// `Basic base64(user:secret)`.
inline std::string basic_header(std::string_view user, std::string_view secret) {
  static constexpr char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string plain = std::string(user) + ":" + std::string(secret);
  std::string out = "Basic ";
  std::size_t i = 0;
  for (; i + 3 <= plain.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(plain[i]) << 16) |
                   (static_cast<unsigned char>(plain[i + 1]) << 8) |
                   static_cast<unsigned char>(plain[i + 2]);
    out += digits[(n >> 18) & 63];
    out += digits[(n >> 12) & 63];
    out += digits[(n >> 6) & 63];
    out += digits[n & 63];
  }
  if (plain.size() - i == 1) {
    const auto n = static_cast<unsigned char>(plain[i]) << 16;
    out += digits[(n >> 18) & 63];
    out += digits[(n >> 12) & 63];
    out += "==";
  } else if (plain.size() - i == 2) {
    const auto n = (static_cast<unsigned char>(plain[i]) << 16) |
                   (static_cast<unsigned char>(plain[i + 1]) << 8);
    out += digits[(n >> 18) & 63];
    out += digits[(n >> 12) & 63];
    out += digits[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace tgbench

#endif  // TOKENGUARD_BENCH_SUPPORT_HPP
