#ifndef TOKENGUARD_SERVICE_HPP
#define TOKENGUARD_SERVICE_HPP

/// The management API of SPEC 9 (`tokenTools/get`, `set`, `delete`) over a
/// store file that the service owns. Framework-independent: a front end hands
/// in the method, the request target, the body and the authenticated caller,
/// and sends back the status and JSON body it gets. Every acknowledged change
/// is on disk before the answer and published to the authorizer as a new
/// snapshot. The management path: it allocates, locks and writes files, and
/// is never on the request path (only audit() is called there).

#include <openssl/rand.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenguard/address.hpp"
#include "tokenguard/audit.hpp"
#include "tokenguard/authorizer.hpp"
#include "tokenguard/decision.hpp"
#include "tokenguard/detail/durable_file.hpp"
#include "tokenguard/detail/form_query.hpp"
#include "tokenguard/detail/json_text.hpp"
#include "tokenguard/detail/sha256.hpp"
#include "tokenguard/detail/store_json_writer.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/token.hpp"

namespace tokenguard {

/// Who is calling, as the front end authenticated them.
struct caller_identity {
  std::string user;  ///< authenticated user name (the token's bound user)
  bool administrator = false;
};

struct service_response {
  int status = 200;
  std::string body;  ///< JSON: {"status":"ok",...} or {"status":"error","message":"..."}
};

struct service_options {
  limits lim;
  /// Refuse to open a store in which any token cannot authenticate.
  bool strict = false;
  /// Create an empty store when the file does not exist.
  bool create_if_missing = false;
  /// Bodies of set and delete over this are 413.
  std::size_t max_request_body_bytes = std::size_t{256} << 10;
  /// Take "<path>.lock" so that no second process owns the same store.
  bool lock_file = true;
  /// ms since the epoch; empty: the system clock. Tests pin it.
  std::function<std::int64_t()> clock;
  /// Fills the buffer with cryptographically random bytes, false on failure;
  /// empty: OpenSSL RAND_bytes. Tests make it deterministic or failing.
  std::function<bool(unsigned char*, std::size_t)> random_bytes;
  /// Where audit records go when the store's addAuditRecord is on.
  std::shared_ptr<audit_sink> audit;
};

/// Where the management API lives (SPEC 9).
inline constexpr std::string_view management_prefix = "/rest/extender/1.0/tokenTools/";

namespace detail {

inline constexpr std::string_view token_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::size_t generated_token_size = 32;
inline constexpr std::int64_t ms_per_day = 86'400'000;
inline constexpr std::int64_t max_days_until_expiry = 36'500;
inline constexpr std::size_t min_custom_token_size = 16;
inline constexpr std::size_t max_custom_token_size = 256;
inline constexpr std::uint64_t max_page_size = 1000;

/// `length` characters of [a-z0-9]. A byte is used only when it is below 252
/// (7 x 36): taking the rest modulo 36 would favour the first four symbols.
/// nullopt when the source fails (or, absurdly, keeps giving only 252..255).
template <class Source>
[[nodiscard]] std::optional<std::string> random_token(Source& random_bytes,
                                                      std::size_t length = generated_token_size) {
  constexpr std::size_t limit = 252;
  static_assert(limit % token_alphabet.size() == 0 && limit <= 256);
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> buffer{};
  for (int round = 0; round < 64 && out.size() < length; ++round) {
    if (!random_bytes(buffer.data(), buffer.size())) return std::nullopt;
    for (const unsigned char b : buffer) {
      if (b >= limit) continue;
      out.push_back(token_alphabet[b % token_alphabet.size()]);
      if (out.size() == length) break;
    }
  }
  if (out.size() < length) return std::nullopt;
  return out;
}

/// An opaque id: 128 random bits as 32 lower-case hex digits.
template <class Source>
[[nodiscard]] std::optional<std::string> random_id(Source& random_bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::array<unsigned char, 16> bytes{};
  if (!random_bytes(bytes.data(), bytes.size())) return std::nullopt;
  std::string out;
  for (const unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0F]);
  }
  return out;
}

/// Decimal digits only; a value past 2^64-1 saturates (it is still a
/// non-negative integer: a startAt past any end, a maxResults clamped).
[[nodiscard]] inline std::optional<std::uint64_t> parse_non_negative(
    std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      value = UINT64_MAX;
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

/// A method as an error message may name it: one of RFC 9110's methods as is,
/// anything else by its length only.
[[nodiscard]] inline std::string describe_method(std::string_view method) {
  static constexpr std::string_view known[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                               "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (const std::string_view k : known) {
    if (method == k) return std::string(method);
  }
  return "a method of " + std::to_string(method.size()) + " bytes";
}

[[nodiscard]] inline service_response error_response(int status, std::string_view message) {
  service_response out;
  out.status = status;
  out.body = R"({"status":"error","message":)";
  append_json_string(out.body, message);
  out.body.push_back('}');
  return out;
}

/// Parses a set or delete body, which must be a JSON object; the error
/// answer, naming the position, when it is not.
[[nodiscard]] inline std::optional<service_response> parse_body(simdjson::dom::parser& parser,
                                                                std::string_view body,
                                                                simdjson::dom::object& object) {
  simdjson::dom::element root;
  const simdjson::padded_string padded(body);
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) {
    std::string what;
    json_locator locator(body);
    const std::size_t at = locator.locate(what);
    if (at == std::string_view::npos) {
      return error_response(400, "the body holds a number beyond 64 bits or a double's range");
    }
    return error_response(
        400, "the body is not valid JSON at " + describe_offset(body, at) + ": " + what);
  }
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return error_response(400, "the body must be a JSON object");
  }
  return std::nullopt;
}

/// Stable order of SPEC 9: dateCreated, then id.
[[nodiscard]] inline bool token_order(const token_record& a, const token_record& b) noexcept {
  if (a.date_created != b.date_created) return a.date_created < b.date_created;
  return a.id < b.id;
}

/// Secure mode: drops the plaintext secret, keeping its SHA-256. Refused (with
/// the reason) when the record's tokenSha256 is not that digest: keeping
/// either one would let a token authenticate that now fails closed.
[[nodiscard]] inline std::optional<std::string> keep_digest_only(token_record& r) {
  if (!r.token) return std::nullopt;
  const sha256_digest digest = sha256(*r.token);
  if (r.token_sha256) {
    const auto stored = parse_hex_digest(*r.token_sha256);
    if (!stored || !digest_equal(*stored, digest)) {
      return "token " + json_string(r.label) +
             ": tokenSha256 is not the SHA-256 of token; a secure store cannot keep the plaintext "
             "secret, so fix or delete this token first";
    }
  }
  r.token_sha256 = to_hex(digest);
  r.token.reset();
  return std::nullopt;
}

/// The secret's digest, when the record has a usable one.
[[nodiscard]] inline std::optional<sha256_digest> record_digest(const token_record& r) {
  if (r.token && !r.token->empty()) return sha256(*r.token);
  if (r.token_sha256) return parse_hex_digest(*r.token_sha256);
  return std::nullopt;
}

}  // namespace detail

class token_service {
 public:
  token_service(const token_service&) = delete;
  token_service& operator=(const token_service&) = delete;

  /// Opens (or, when the file does not exist and `create_if_missing`, creates)
  /// the owned store file, compiles it and publishes the snapshot to `auth`.
  /// `auth` and `options.audit` must outlive the service. A store whose tokens
  /// have fields of the wrong type is refused: rewriting it would lose them.
  [[nodiscard]] static result<std::unique_ptr<token_service>> open(const std::string& path,
                                                                   authorizer& auth,
                                                                   service_options options = {});

  /// One management request. `target` is the request target as received, e.g.
  /// "/rest/extender/1.0/tokenTools/get?startAt=0&maxResults=10". Never throws.
  [[nodiscard]] service_response handle(std::string_view method, std::string_view target,
                                        std::string_view body, const caller_identity& caller);

  /// Writes counters and usage details (lastUsed, lastIp) into the file when
  /// they changed: true when it wrote. Call periodically and at shutdown.
  [[nodiscard]] result<bool> flush();

  [[nodiscard]] store_settings settings() const;

  /// SPEC 9 addAuditRecord: the server calls this after every decision; a
  /// decision that presented a known token goes to options.audit when the
  /// store's setting is on. Request path: one atomic load when off.
  void audit(const decision& d, std::string_view method, std::string_view subject_url,
             std::int64_t now_ms) noexcept;
  /// Whether audit() would write a record: lets a caller skip preparing one.
  [[nodiscard]] bool audit_enabled() const noexcept {
    return audit_on_.load(std::memory_order_relaxed) && options_.audit != nullptr;
  }

  /// Tokens of the store that cannot authenticate (SPEC 8), as of the last change.
  [[nodiscard]] std::vector<token_problem> problems() const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  token_service(std::string path, authorizer& auth, service_options options)
      : path_(std::move(path)), auth_(auth), options_(std::move(options)) {}

  struct failure {
    int status;
    std::string message;
  };

  [[nodiscard]] std::int64_t now() const {
    return options_.clock ? options_.clock() : system_now_ms();
  }
  [[nodiscard]] bool random(unsigned char* out, std::size_t size) const {
    if (options_.random_bytes) return options_.random_bytes(out, size);
    return size <= static_cast<std::size_t>(INT32_MAX) &&
           RAND_bytes(out, static_cast<int>(size)) == 1;
  }
  [[nodiscard]] static bool owns(const caller_identity& caller, const token_record& r) {
    return !caller.user.empty() && detail::iequals_ascii(r.user, caller.user);
  }

  service_response handle_get(std::string_view query, const caller_identity& caller) const;
  service_response handle_set(std::string_view body, const caller_identity& caller);
  service_response handle_delete(std::string_view body, const caller_identity& caller);

  /// The record with its live counter and usage details.
  [[nodiscard]] token_record live_record(std::size_t i) const;
  /// Moves live counters and usage details into the records; true when any changed.
  bool fold_usage();
  /// Writes the file (and, with `recompile`, compiles and publishes a new
  /// snapshot). The caller holds the exclusive lock and rolls back on failure.
  [[nodiscard]] std::optional<failure> persist(bool recompile);
  void adopt(const std::shared_ptr<const store>& compiled);

  std::string path_;
  authorizer& auth_;
  service_options options_;
  std::optional<detail::file_lock> lock_;

  mutable std::shared_mutex mutex_;
  std::vector<token_record> records_;                          ///< in the stable order of SPEC 9
  std::vector<std::optional<detail::sha256_digest>> digests_;  ///< parallel to records_
  std::vector<std::optional<usage_slot>> slots_;               ///< parallel to records_
  std::vector<token_problem> problems_;
  store_settings settings_;
  bool dirty_ = false;  ///< folded usage not yet written
  std::atomic<bool> audit_on_{false};
};

// ---------------------------------------------------------------------------

inline result<std::unique_ptr<token_service>> token_service::open(const std::string& path,
                                                                  authorizer& auth,
                                                                  service_options options) {
  std::unique_ptr<token_service> s(new token_service(path, auth, std::move(options)));
  const limits& lim = s->options_.lim;
  if (s->options_.lock_file) {
    auto lock = detail::file_lock::acquire(path);
    if (!lock) return error{lock.message()};
    s->lock_.emplace(std::move(lock).value());
    detail::remove_stale_temp_files(path);
  }

  auto text = detail::read_file_if_exists(path, lim.max_store_bytes);
  if (!text) return error{text.message()};
  bool write_now = false;
  if (!text.value()) {
    if (!s->options_.create_if_missing) return error{"the store '" + path + "' does not exist"};
    write_now = true;
  } else {
    auto parsed = parse_padded_store_json(*text.value(), lim);
    if (!parsed) return error{path + ": " + parsed.message()};
    s->records_ = std::move(parsed.value().tokens);
    s->settings_ = parsed.value().settings;
    for (std::size_t i = 0; i < s->records_.size(); ++i) {
      const token_record& r = s->records_[i];
      if (!r.load_error.empty()) {
        return error{path + ": token " + std::to_string(i) + " " + detail::json_string(r.label) +
                     ": " + r.load_error +
                     " (an owned store is rewritten, which would lose this field: fix the file)"};
      }
    }
  }
  std::stable_sort(s->records_.begin(), s->records_.end(), detail::token_order);

  // A secure store keeps digests only; a plaintext secret found in one (a
  // hand edit) is replaced by its digest and the file rewritten at once.
  if (s->settings_.secure_mode) {
    for (token_record& r : s->records_) {
      if (!r.token) continue;
      if (auto refused = detail::keep_digest_only(r)) return error{path + ": " + *refused};
      write_now = true;
    }
  }
  s->digests_.reserve(s->records_.size());
  for (const token_record& r : s->records_) s->digests_.push_back(detail::record_digest(r));

  auto compiled = store::compile(s->records_, auth.usage(), lim, s->options_.strict);
  if (!compiled) return error{path + ": " + compiled.message()};
  if (write_now) {
    const std::string out = detail::store_file_json(s->records_, s->settings_);
    if (auto written = detail::replace_file_durably(path, out); !written) {
      return error{written.message()};
    }
  }
  auth.replace_store(compiled.value());
  s->adopt(compiled.value());
  auth.set_collect_usage_details(s->settings_.collect_usage_details);
  s->audit_on_.store(s->settings_.add_audit_record);
  return s;
}

inline void token_service::adopt(const std::shared_ptr<const store>& compiled) {
  slots_.assign(records_.size(), std::nullopt);
  for (const store::entry& e : compiled->entries()) slots_[e.record] = e.slot;
  const auto problems = compiled->problems();
  problems_.assign(problems.begin(), problems.end());
}

inline store_settings token_service::settings() const {
  const std::shared_lock lock(mutex_);
  return settings_;
}

inline std::vector<token_problem> token_service::problems() const {
  const std::shared_lock lock(mutex_);
  return problems_;
}

inline std::size_t token_service::size() const {
  const std::shared_lock lock(mutex_);
  return records_.size();
}

inline void token_service::audit(const decision& d, std::string_view method,
                                 std::string_view subject_url, std::int64_t now_ms) noexcept {
  if (!d.token_known() || !audit_enabled()) return;
  audit_record record;
  record.time_ms = now_ms;
  record.token_id = d.token_id();
  record.label = d.label();
  record.identity = d.user();
  record.method = method;
  record.subject_url = subject_url;
  record.client = d.client();
  record.why = d.why();
  try {
    options_.audit->write(record);
  } catch (...) {
    // A failing sink loses the record; it must not fail the request.
  }
}

inline token_record token_service::live_record(std::size_t i) const {
  token_record r = records_[i];
  if (slots_[i]) {
    const usage_snapshot live = auth_.usage().read(*slots_[i]);
    r.counter = std::max(r.counter, live.count);
    if (live.last_used_ms > r.last_used) {
      r.last_used = live.last_used_ms;
      r.last_ip = live.last_address ? live.last_address->to_string() : std::string();
    }
  }
  return r;
}

inline bool token_service::fold_usage() {
  bool changed = false;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    if (!slots_[i]) continue;
    const usage_snapshot live = auth_.usage().read(*slots_[i]);
    token_record& r = records_[i];
    if (live.count > r.counter) {
      r.counter = live.count;
      changed = true;
    }
    if (live.last_used_ms > r.last_used) {
      r.last_used = live.last_used_ms;
      r.last_ip = live.last_address ? live.last_address->to_string() : std::string();
      changed = true;
    }
  }
  dirty_ = dirty_ || changed;
  return changed;
}

inline std::optional<token_service::failure> token_service::persist(bool recompile) {
  fold_usage();
  std::shared_ptr<const store> compiled;
  if (recompile) {
    auto next = store::compile(records_, auth_.usage(), options_.lim, /*strict=*/false);
    if (!next) return failure{500, "cannot compile the store: " + next.message()};
    compiled = std::move(next).value();
  }
  const std::string text = detail::store_file_json(records_, settings_);
  if (text.size() > options_.lim.max_store_bytes) {
    return failure{400, "the store file would be " + std::to_string(text.size()) +
                            " bytes, over the limit of " +
                            std::to_string(options_.lim.max_store_bytes) + " (max_store_bytes)"};
  }
  if (auto written = detail::replace_file_durably(path_, text); !written) {
    return failure{500, "cannot write the store file: " + written.message()};
  }
  dirty_ = false;
  if (compiled) {
    // The request path takes no lock of ours, so publishing under our lock
    // cannot hold it up; replace_store only waits for readers of the old one.
    auth_.replace_store(compiled);
    adopt(compiled);
  }
  return std::nullopt;
}

inline result<bool> token_service::flush() {
  const std::unique_lock lock(mutex_);
  fold_usage();
  if (!dirty_) return false;
  const std::string text = detail::store_file_json(records_, settings_);
  if (auto written = detail::replace_file_durably(path_, text); !written) {
    return error{"cannot write the store file: " + written.message()};
  }
  dirty_ = false;
  return true;
}

inline service_response token_service::handle(std::string_view method, std::string_view target,
                                              std::string_view body,
                                              const caller_identity& caller) {
  try {
    // An absolute-form target (RFC 9112 3.2.2) names the same resource.
    if (target.starts_with("http://") || target.starts_with("https://")) {
      const std::size_t authority = target.find("://") + 3;
      const std::size_t slash = target.find_first_of("/?#", authority);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) {
      target = target.substr(0, hash);
    }
    std::string_view path = target;
    std::string_view query;
    if (const std::size_t q = target.find('?'); q != std::string_view::npos) {
      path = target.substr(0, q);
      query = target.substr(q + 1);
    }
    if (!path.starts_with(management_prefix)) {
      return detail::error_response(404, "no such endpoint: " + std::string(path));
    }
    const std::string_view endpoint = path.substr(management_prefix.size());
    std::string_view wanted;
    if (endpoint == "get") {
      wanted = "GET";
    } else if (endpoint == "set") {
      wanted = "POST";
    } else if (endpoint == "delete") {
      wanted = "DELETE";
    } else {
      return detail::error_response(404, "no such endpoint: " + std::string(path));
    }
    if (method != wanted) {
      // Only a standard method is named back: the method is the client's free text, and an
      // error message must never carry a credential a client put in the wrong place.
      return detail::error_response(400, "tokenTools/" + std::string(endpoint) + " takes " +
                                             std::string(wanted) + ", not " +
                                             detail::describe_method(method));
    }
    if (!caller.administrator && caller.user.empty()) {
      return detail::error_response(403, "the caller has no user name");
    }
    if (endpoint == "get") return handle_get(query, caller);
    if (body.size() > options_.max_request_body_bytes) {
      return detail::error_response(
          413, "the request body is " + std::to_string(body.size()) + " bytes, over the limit of " +
                   std::to_string(options_.max_request_body_bytes) + " (max_request_body_bytes)");
    }
    if (endpoint == "set") return handle_set(body, caller);
    return handle_delete(body, caller);
  } catch (const std::exception& e) {
    return detail::error_response(500, std::string("internal error: ") + e.what());
  } catch (...) {
    return detail::error_response(500, "internal error");
  }
}

inline service_response token_service::handle_get(std::string_view query,
                                                  const caller_identity& caller) const {
  if (!detail::query_decodes(query)) {
    return detail::error_response(400, "the query string is not valid form-urlencoded UTF-8");
  }
  std::uint64_t start_at = 0;
  std::uint64_t max_results = detail::max_page_size;
  bool seen_start = false;
  bool seen_max = false;
  std::optional<std::string> problem;
  std::string scratch(query.size(), '\0');
  const bool walked = detail::for_each_query_param(
      query, scratch.data(), scratch.size(), [&](std::string_view name, std::string_view value) {
        const bool is_start = name == "startAt";
        if (!is_start && name != "maxResults") return true;  // other parameters: cache busters
        bool& seen = is_start ? seen_start : seen_max;
        if (seen) {
          problem = std::string(name) + " is given more than once";
          return false;
        }
        seen = true;
        const auto number = detail::parse_non_negative(value);
        if (!number) {
          problem = std::string(name) + " must be a non-negative integer, not " +
                    detail::json_string(value);
          return false;
        }
        (is_start ? start_at : max_results) = *number;
        return true;
      });
  if (!walked) return detail::error_response(400, "the query string does not decode");
  if (problem) return detail::error_response(400, *problem);
  max_results = std::clamp<std::uint64_t>(max_results, 1, detail::max_page_size);

  const std::shared_lock lock(mutex_);
  std::vector<std::size_t> visible;
  if (!caller.administrator) {
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (owns(caller, records_[i])) visible.push_back(i);
    }
  }
  const std::size_t total = caller.administrator ? records_.size() : visible.size();
  const std::uint64_t pages = total / max_results + (total % max_results != 0 ? 1 : 0);

  service_response out;
  std::string& b = out.body;
  b = R"({"total":)" + std::to_string(total) + R"(,"pages":)" + std::to_string(pages) +
      R"(,"maxResults":)" + std::to_string(max_results) + R"(,"startAt":)" +
      std::to_string(start_at) + R"(,"tokens":[)";
  detail::token_json_options options;
  options.secure_mode = settings_.secure_mode;
  options.usage_details = settings_.collect_usage_details ? detail::usage_details_output::always
                                                          : detail::usage_details_output::never;
  const std::uint64_t end = start_at >= total
                                ? start_at
                                : start_at + std::min<std::uint64_t>(max_results, total - start_at);
  for (std::uint64_t k = start_at; k < end; ++k) {
    const std::size_t i = caller.administrator ? static_cast<std::size_t>(k) : visible[k];
    if (k != start_at) b.push_back(',');
    detail::append_token_json(b, live_record(i), options);
  }
  b += R"(],"status":"ok"})";
  return out;
}

inline service_response token_service::handle_set(std::string_view body,
                                                  const caller_identity& caller) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (auto refused = detail::parse_body(parser, body, object)) return std::move(*refused);

  // The shape of the body: known fields, each once, of the right type.
  std::optional<std::string_view> label, user_name, limit_to, ip, secret;
  std::optional<std::int64_t> days;
  std::optional<std::uint64_t> usage_limit;
  std::optional<bool> collect, audit_flag, secure;
  std::string_view first_token_field, first_setting;
  std::vector<std::string_view> seen;
  for (auto field : object) {
    const std::string_view key = field.key;
    const simdjson::dom::element v = field.value;
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return detail::error_response(
          400, "field " + detail::json_string(key) + " is given more than once");
    }
    seen.push_back(key);
    const bool is_setting =
        key == "collectUsageDetails" || key == "addAuditRecord" || key == "secureMode";
    const bool is_token_field = key == "label" || key == "daysUntilExpiry" || key == "userName" ||
                                key == "limitTo" || key == "ip" || key == "usageLimit" ||
                                key == "token";
    if (!is_setting && !is_token_field) {
      return detail::error_response(400, "unknown field " + detail::json_string(key));
    }
    if (is_setting) {
      if (first_setting.empty()) first_setting = key;
      bool flag = false;
      if (v.get_bool().get(flag) != simdjson::SUCCESS) {
        return detail::error_response(400, std::string(key) + " must be true or false");
      }
      (key == "collectUsageDetails" ? collect
       : key == "addAuditRecord"    ? audit_flag
                                    : secure) = flag;
      continue;
    }
    if (first_token_field.empty()) first_token_field = key;
    if (v.is_null()) continue;  // an optional field sent as null is left out
    if (key == "daysUntilExpiry") {
      std::int64_t n = 0;
      if (!(v.is_int64() || v.is_uint64()) || v.get_int64().get(n) != simdjson::SUCCESS || n < 0 ||
          n > detail::max_days_until_expiry) {
        return detail::error_response(400, "daysUntilExpiry must be an integer from 0 to " +
                                               std::to_string(detail::max_days_until_expiry));
      }
      days = n;
    } else if (key == "usageLimit") {
      std::uint64_t n = 0;
      if (!(v.is_int64() || v.is_uint64()) || v.get_uint64().get(n) != simdjson::SUCCESS) {
        return detail::error_response(400, "usageLimit must be a non-negative integer");
      }
      usage_limit = n;
    } else {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) {
        return detail::error_response(400, std::string(key) + " must be a string");
      }
      (key == "label"      ? label
       : key == "userName" ? user_name
       : key == "limitTo"  ? limit_to
       : key == "ip"       ? ip
                           : secret) = s;
    }
  }
  if (!first_setting.empty() && !first_token_field.empty()) {
    return detail::error_response(400, "a request cannot mix settings (" +
                                           std::string(first_setting) + ") and token fields (" +
                                           std::string(first_token_field) + ")");
  }

  // Settings.
  if (!first_setting.empty()) {
    if (!caller.administrator) {
      return detail::error_response(403, "only administrators can change settings");
    }
    const std::unique_lock lock(mutex_);
    if (secure && !*secure && settings_.secure_mode) {
      return detail::error_response(
          400, "secureMode cannot be turned off: the store no longer holds the secrets");
    }
    const store_settings before = settings_;
    std::vector<token_record> saved;
    if (collect) settings_.collect_usage_details = *collect;
    if (audit_flag) settings_.add_audit_record = *audit_flag;
    if (secure && *secure && !settings_.secure_mode) {
      settings_.secure_mode = true;
      saved = records_;
      for (token_record& r : records_) {
        if (auto refused = detail::keep_digest_only(r)) {
          settings_ = before;
          records_ = std::move(saved);
          return detail::error_response(400, "secureMode: " + *refused);
        }
      }
    }
    if (auto failed = persist(/*recompile=*/false)) {
      settings_ = before;
      if (!saved.empty()) records_ = std::move(saved);
      return detail::error_response(failed->status, failed->message);
    }
    auth_.set_collect_usage_details(settings_.collect_usage_details);
    audit_on_.store(settings_.add_audit_record);
    service_response out;
    out.body = R"({"settings":)";
    detail::append_settings_json(out.body, settings_);
    out.body += R"(,"status":"ok"})";
    return out;
  }

  // Create: permissions, then values, then conflicts.
  if (!label) return detail::error_response(400, "label is required");
  std::string bound_user;
  if (caller.administrator) {
    bound_user = std::string(user_name.value_or(""));
  } else if (!user_name || user_name->empty() || detail::iequals_ascii(*user_name, caller.user)) {
    bound_user = caller.user;  // others' tokens are always their own
  } else {
    return detail::error_response(
        403, "only administrators can create tokens for another user (userName)");
  }
  if (label->empty() || label->size() > max_label_bytes) {
    return detail::error_response(400, "label must be 1 to " + std::to_string(max_label_bytes) +
                                           " bytes, not " + std::to_string(label->size()));
  }
  if (bound_user.size() > max_user_bytes) {
    return detail::error_response(
        400, "userName must be at most " + std::to_string(max_user_bytes) + " bytes");
  }
  for (const char c : bound_user) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == ':') {
      return detail::error_response(
          400, "userName must not hold ':' or control characters (Basic auth could not send it)");
    }
  }
  const std::int64_t now_ms = now();
  std::int64_t valid_until = 0;
  if (days && *days != 0) {
    std::int64_t span = 0;
    if (__builtin_mul_overflow(*days, detail::ms_per_day, &span) ||
        __builtin_add_overflow(now_ms, span, &valid_until)) {
      return detail::error_response(400, "daysUntilExpiry: the expiry time overflows");
    }
  }
  std::string joined_limit_to;
  if (limit_to && !limit_to->empty()) {
    auto rules = rule_set::compile(*limit_to, options_.lim);
    if (!rules) return detail::error_response(400, "limitTo: " + rules.message());
    joined_limit_to = detail::join_limit_to(*limit_to);
  }
  if (ip && !ip->empty()) {
    auto parsed = ip_allow_list::parse(*ip);
    if (!parsed) return detail::error_response(400, "ip: " + parsed.message());
  }
  if (secret) {
    bool printable = secret->size() >= detail::min_custom_token_size &&
                     secret->size() <= detail::max_custom_token_size;
    for (const char c : *secret) printable = printable && c > 0x20 && c < 0x7F;
    if (!printable) {
      return detail::error_response(
          400, "token must be " + std::to_string(detail::min_custom_token_size) + " to " +
                   std::to_string(detail::max_custom_token_size) +
                   " printable ASCII characters without spaces");
    }
  }

  const std::unique_lock lock(mutex_);
  if (records_.size() >= options_.lim.max_tokens) {
    return detail::error_response(400, "the store holds " + std::to_string(records_.size()) +
                                           " tokens, the limit (max_tokens)");
  }
  auto taken_secret = [this](const detail::sha256_digest& d) {
    return std::any_of(digests_.begin(), digests_.end(), [&d](const auto& other) {
      return other && detail::digest_equal(*other, d);
    });
  };
  auto taken_id = [this](std::string_view id) {
    return std::any_of(records_.begin(), records_.end(),
                       [id](const token_record& r) { return r.id == id; });
  };
  auto source = [this](unsigned char* out, std::size_t size) { return random(out, size); };
  std::string secret_text;
  detail::sha256_digest digest{};
  if (secret) {
    secret_text = std::string(*secret);
    digest = detail::sha256(secret_text);
    if (taken_secret(digest)) {
      return detail::error_response(409, "token: another token already has this secret");
    }
  } else {
    for (int attempt = 0;; ++attempt) {
      auto generated = detail::random_token(source);
      if (!generated || attempt == 8) {
        return detail::error_response(500, "the random generator failed");
      }
      secret_text = std::move(*generated);
      digest = detail::sha256(secret_text);
      if (!taken_secret(digest)) break;
    }
  }
  std::string id;
  for (int attempt = 0;; ++attempt) {
    auto generated = detail::random_id(source);
    if (!generated || attempt == 8)
      return detail::error_response(500, "the random generator failed");
    id = std::move(*generated);
    if (!taken_id(id)) break;
  }

  token_record r;
  r.author_key = caller.user;
  r.user_key = bound_user;
  r.user_display_name = bound_user;
  r.label = std::string(*label);
  r.user = bound_user;
  if (settings_.secure_mode) {
    r.token_sha256 = detail::to_hex(digest);
  } else {
    r.token = secret_text;
  }
  r.id = id;
  r.limit_to = std::move(joined_limit_to);
  r.ip = std::string(ip.value_or(""));
  r.valid_until = valid_until;
  r.date_created = now_ms;
  r.usage_limit = usage_limit.value_or(0);

  const auto at = static_cast<std::size_t>(
      std::upper_bound(records_.begin(), records_.end(), r, detail::token_order) -
      records_.begin());
  records_.insert(records_.begin() + static_cast<std::ptrdiff_t>(at), r);
  digests_.insert(digests_.begin() + static_cast<std::ptrdiff_t>(at), digest);
  slots_.insert(slots_.begin() + static_cast<std::ptrdiff_t>(at), std::nullopt);
  if (auto failed = persist(/*recompile=*/true)) {
    records_.erase(records_.begin() + static_cast<std::ptrdiff_t>(at));
    digests_.erase(digests_.begin() + static_cast<std::ptrdiff_t>(at));
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(at));
    return detail::error_response(failed->status, failed->message);
  }

  service_response out;
  detail::token_json_options options;
  options.secure_mode = settings_.secure_mode;
  options.shown_secret = secret_text;
  options.usage_details = settings_.collect_usage_details ? detail::usage_details_output::always
                                                          : detail::usage_details_output::never;
  detail::append_token_json(out.body, r, options);
  out.body.pop_back();
  out.body += R"(,"status":"ok"})";
  return out;
}

inline service_response token_service::handle_delete(std::string_view body,
                                                     const caller_identity& caller) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (auto refused = detail::parse_body(parser, body, object)) return std::move(*refused);
  std::optional<std::string_view> secret, id;
  for (auto field : object) {
    const std::string_view key = field.key;
    if (key != "token" && key != "id") {
      return detail::error_response(400, "unknown field " + detail::json_string(key));
    }
    std::optional<std::string_view>& target = key == "token" ? secret : id;
    if (target) {
      return detail::error_response(
          400, "field " + detail::json_string(key) + " is given more than once");
    }
    std::string_view s;
    if (field.value.get_string().get(s) != simdjson::SUCCESS) {
      return detail::error_response(400, std::string(key) + " must be a string");
    }
    if (s.empty()) return detail::error_response(400, std::string(key) + " must not be empty");
    target = s;
  }
  if (secret && id) return detail::error_response(400, "give token or id, not both");
  if (!secret && !id) return detail::error_response(400, "token or id is required");

  const std::optional<detail::sha256_digest> digest =
      secret ? std::optional(detail::sha256(*secret)) : std::nullopt;
  const std::unique_lock lock(mutex_);
  std::vector<std::size_t> matches;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const bool hit =
        digest ? digests_[i] && detail::digest_equal(*digests_[i], *digest) : records_[i].id == *id;
    if (hit) matches.push_back(i);
  }
  if (matches.empty()) {
    return detail::error_response(404, secret ? std::string("no token has this secret")
                                              : "no token has the id " + detail::json_string(*id));
  }
  if (!caller.administrator) {
    for (const std::size_t i : matches) {
      if (!owns(caller, records_[i])) {
        return detail::error_response(403, "only administrators can delete another user's token");
      }
    }
  }
  struct removed {
    std::size_t index;
    token_record record;
    std::optional<detail::sha256_digest> digest;
    std::optional<usage_slot> slot;
  };
  std::vector<removed> saved;
  for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
    const auto at = static_cast<std::ptrdiff_t>(*it);
    saved.push_back({*it, std::move(records_[*it]), digests_[*it], slots_[*it]});
    records_.erase(records_.begin() + at);
    digests_.erase(digests_.begin() + at);
    slots_.erase(slots_.begin() + at);
  }
  if (auto failed = persist(/*recompile=*/true)) {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      const auto at = static_cast<std::ptrdiff_t>(it->index);
      records_.insert(records_.begin() + at, std::move(it->record));
      digests_.insert(digests_.begin() + at, it->digest);
      slots_.insert(slots_.begin() + at, it->slot);
    }
    return detail::error_response(failed->status, failed->message);
  }
  service_response out;
  out.body = R"({"deleted":)" + std::to_string(matches.size()) + R"(,"status":"ok"})";
  return out;
}

}  // namespace tokenguard

#endif  // TOKENGUARD_SERVICE_HPP
