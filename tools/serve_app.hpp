#ifndef TOKENGUARD_TOOLS_SERVE_APP_HPP
#define TOKENGUARD_TOOLS_SERVE_APP_HPP

// What `tokenguard serve` answers (SPEC 12): gateway auth sub-requests at
// /check in the nginx, Traefik and Envoy header conventions, the management
// API of SPEC 9 with callers authenticated by the store's own tokens,
// /metrics and /healthz. The sockets are http_server.hpp's business.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http_request.hpp"
#include "http_response.hpp"
#include "http_server.hpp"
#include "serve_metrics.hpp"
#include "tokenguard/audit.hpp"
#include "tokenguard/detail/canonical_url.hpp"
#include "tokenguard/service.hpp"
#include "tokenguard/tokenguard.hpp"

namespace tokenguard::cli {

inline constexpr std::string_view management_root = "/rest/extender/1.0/tokenTools";

enum class route : std::uint8_t { check, management, metrics, healthz, not_found };

/// The path of a request target, without its query.
[[nodiscard]] constexpr std::string_view target_path(std::string_view target) noexcept {
  return target.substr(0, std::min(target.find('?'), target.find('#')));
}

[[nodiscard]] constexpr bool is_under(std::string_view path, std::string_view prefix) noexcept {
  return path.substr(0, prefix.size()) == prefix &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

[[nodiscard]] constexpr route route_of(std::string_view target) noexcept {
  const std::string_view path = target_path(target);
  if (is_under(path, "/check")) return route::check;
  if (is_under(path, management_root)) return route::management;
  if (path == "/metrics") return route::metrics;
  if (path == "/healthz") return route::healthz;
  return route::not_found;
}

/// Which gateway convention a /check request follows.
enum class gateway_style : std::uint8_t { nginx, traefik, envoy };

/// The original request that a /check sub-request describes.
struct subject {
  gateway_style style = gateway_style::envoy;
  std::string_view method;
  /// Absolute or origin-form; empty when the headers are unusable, which the
  /// authorizer answers as malformed_request.
  std::string_view url;
};

/// Traefik sends the scheme and the host apart from the URI; they must not be
/// able to change where the path starts (a '/' in the host would).
[[nodiscard]] constexpr bool usable_scheme(std::string_view s) noexcept {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

[[nodiscard]] constexpr bool usable_host(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\') {
      return false;
    }
  }
  return true;
}

/// Reads the original method and URL from a /check request. `scratch` holds
/// the URL that Traefik's headers are joined into.
[[nodiscard]] inline subject read_subject(const http::incoming& in, std::string& scratch) {
  using http::header;
  subject s;
  if (in.has(header::x_original_uri) || in.has(header::x_original_method)) {
    // nginx auth_request: both headers, once each. A missing method is not
    // guessed (the sub-request's own method is GET whatever the original was).
    s.style = gateway_style::nginx;
    if (in.count(header::x_original_uri) == 1 && in.count(header::x_original_method) == 1) {
      s.method = in.get(header::x_original_method);
      s.url = in.get(header::x_original_uri);
    }
    return s;
  }
  if (in.has(header::x_forwarded_uri) || in.has(header::x_forwarded_method)) {
    // Traefik ForwardAuth: the absolute URL is proto://host + uri.
    s.style = gateway_style::traefik;
    const auto once = [&in](header h) { return in.count(h) == 1; };
    if (once(header::x_forwarded_uri) && once(header::x_forwarded_method) &&
        once(header::x_forwarded_proto) && once(header::x_forwarded_host)) {
      const std::string_view proto = in.get(header::x_forwarded_proto);
      const std::string_view host = in.get(header::x_forwarded_host);
      const std::string_view uri = in.get(header::x_forwarded_uri);
      s.method = in.get(header::x_forwarded_method);
      if (usable_scheme(proto) && usable_host(host) && !uri.empty() && uri.front() == '/') {
        scratch.clear();
        scratch.append(proto).append("://").append(host).append(uri);
        s.url = scratch;
      }
    }
    return s;
  }
  // Envoy ext_authz (HTTP, path_prefix /check): the request's own method and
  // target, without the prefix.
  s.style = gateway_style::envoy;
  s.method = in.method;
  std::string_view rest = in.target.substr(std::string_view("/check").size());
  if (rest.empty() || rest.front() != '/') {
    scratch.assign("/").append(rest);
    rest = scratch;
  }
  s.url = rest;
  return s;
}

/// The Authorization value handed to the authorizer: several Authorization
/// headers are ambiguous, so they become a value that parses as malformed.
[[nodiscard]] inline std::string_view authorization_of(const http::incoming& in) noexcept {
  using http::header;
  if (in.count(header::authorization) > 1) return "duplicated-authorization-headers";
  return in.get(header::authorization);
}

struct app_options {
  std::vector<std::string> admins;
  bool read_only = false;
};

class serve_app final : public http::handler {
 public:
  serve_app(authorizer& auth, server_metrics& metrics, app_options options)
      : auth_(auth), metrics_(metrics), options_(std::move(options)) {}

  void set_service(token_service* service) noexcept { service_ = service; }
  void set_loaded(bool loaded) noexcept { loaded_.store(loaded); }
  /// --read-only: the server writes audit records itself while the loaded
  /// store's addAuditRecord setting is on (an owned store's service does it).
  void set_audit_sink(std::shared_ptr<audit_sink> sink) { sink_ = std::move(sink); }
  void set_read_only_audit(bool on) noexcept { read_only_audit_.store(on); }
  [[nodiscard]] bool loaded() const noexcept { return loaded_.load(); }

  http::answer respond(const http::incoming& in, const ip_address& peer, bool keep_alive,
                       std::string& out) override {
    const bool head = in.method == "HEAD";
    switch (route_of(in.target)) {
      case route::check:
        answer_check(in, peer, keep_alive, out);
        return {};
      case route::management:
        return answer_management(in, peer, keep_alive, out);
      case route::metrics:
        if (!allow_read_only_method(in, keep_alive, out)) return {};
        simple(out, 200, metrics_.render(figures()), keep_alive, in.version, head,
               "text/plain; version=0.0.4; charset=utf-8");
        return {};
      case route::healthz:
        if (!allow_read_only_method(in, keep_alive, out)) return {};
        if (loaded()) {
          simple(out, 200, "ok\n", keep_alive, in.version, head, "text/plain; charset=utf-8");
        } else {
          simple(out, 503, "loading\n", keep_alive, in.version, head, "text/plain; charset=utf-8");
        }
        return {};
      case route::not_found:
        break;
    }
    simple(out, 404, "not found\n", keep_alive, in.version, head, "text/plain; charset=utf-8");
    return {};
  }

  void responded(int status) noexcept override { metrics_.count_response(status); }
  void connections_changed(std::size_t open, bool opened) noexcept override {
    if (opened) metrics_.count_connection();
    metrics_.set_open_connections(open);
  }

  [[nodiscard]] server_metrics::store_figures figures() const {
    server_metrics::store_figures f;
    f.loaded = loaded();
    if (const auto current = auth_.current_store()) {
      f.tokens = current->size();
      f.problems = current->problems().size();
      f.rule_sets = current->distinct_rule_sets();
    }
    return f;
  }

 private:
  /// Per-thread buffer for Traefik's joined URL.
  static std::string& url_scratch() {
    thread_local std::string scratch = [] {
      std::string s;
      s.reserve(hard_max_url_bytes);
      return s;
    }();
    return scratch;
  }

  static void simple(std::string& out, int status, std::string_view body, bool keep_alive,
                     int version, bool head, std::string_view content_type) {
    http::response_writer w(out);
    w.start(status);
    w.finish(body, keep_alive, version, head, content_type);
  }

  static bool allow_read_only_method(const http::incoming& in, bool keep_alive, std::string& out) {
    if (in.method == "GET" || in.method == "HEAD") return true;
    http::response_writer w(out);
    w.start(405);
    w.header("Allow", "GET, HEAD");
    w.finish("method not allowed\n", keep_alive, in.version, false, "text/plain; charset=utf-8");
    return false;
  }

  /// SPEC 9 addAuditRecord: every decision on a known token, with the
  /// subject URL of SPEC 4 (a known token means the URL was well formed).
  void audit(const decision& d, std::string_view method, std::string_view url, std::int64_t now) {
    if (!d.token_known()) return;
    const bool read_only_audit = read_only_audit_.load(std::memory_order_relaxed) && sink_;
    // Canonicalising for the record costs as much as the check: only when a record is written.
    const bool service_audit = service_ != nullptr && service_->audit_enabled();
    if (!service_audit && !read_only_audit) return;
    thread_local std::vector<char> buffer(hard_max_url_bytes + 1);
    detail::canonical_url canonical;
    std::string_view subject_url = url;
    if (url.size() < buffer.size() &&
        detail::canonicalize_url(url, buffer.data(), buffer.size(), canonical)) {
      subject_url = canonical.subject;
    }
    if (service_audit) return service_->audit(d, method, subject_url, now);
    audit_record record;
    record.time_ms = now;
    record.token_id = d.token_id();
    record.label = d.label();
    record.identity = d.user();
    record.method = method;
    record.subject_url = subject_url;
    record.client = d.client();
    record.why = d.why();
    try {
      sink_->write(record);
    } catch (...) {
      // A failing sink loses the record, not the request.
    }
  }

  /// Deny headers shared by /check and the management API.
  void deny_headers(http::response_writer& w, reason why) const {
    if (is_authentication_failure(why)) {
      w.header("WWW-Authenticate", "Basic realm=\"tokenguard\"");
      if (auth_.options().mode != auth_mode::basic) {
        w.header("WWW-Authenticate", "Bearer realm=\"tokenguard\"");
      }
    }
    w.header("X-Tokenguard-Reason", to_string(why));
  }

  void answer_check(const http::incoming& in, const ip_address& peer, bool keep_alive,
                    std::string& out) {
    const auto started = std::chrono::steady_clock::now();
    const subject s = read_subject(in, url_scratch());
    const request req{
        s.method, s.url, peer, in.get(http::header::x_forwarded_for), authorization_of(in),
        in.body};
    const std::int64_t now = system_now_ms();
    const decision d = auth_.decide(req, now);
    metrics_.count_decision(decision_source::check, d.why());
    audit(d, s.method, s.url, now);

    http::response_writer w(out);
    if (d.allowed()) {
      w.start(200);
      w.header_escaped("X-Tokenguard-User", d.user());
      w.header_escaped("X-Tokenguard-Label", d.label());
    } else {
      w.start(is_authentication_failure(d.why()) ? 401 : 403);
      deny_headers(w, d.why());
    }
    w.finish({}, keep_alive, in.version);
    metrics_.observe_check_latency(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count()));
  }

  static void json_error(std::string& out, int status, std::string_view message, bool keep_alive,
                         int version, bool head) {
    std::string body = R"({"status":"error","message":)";
    detail::append_json_string(body, message);
    body += "}";
    http::response_writer w(out);
    w.start(status);
    w.finish(body, keep_alive, version, head, "application/json");
  }

  /// True when the token presented is bound to a user (SPEC 12: a caller
  /// whose token has no bound user only asserts its Basic user name).
  [[nodiscard]] bool token_has_bound_user(std::string_view authorization) const {
    char scratch[max_authorization_bytes];
    credentials cred;
    if (parse_authorization(authorization, auth_.options().mode, scratch, cred) !=
        credentials_status::ok) {
      return false;
    }
    const auto current = auth_.current_store();
    if (!current) return false;
    const store::entry* e = current->find(detail::sha256(cred.secret));
    return e != nullptr && !current->user(*e).empty();
  }

  [[nodiscard]] bool is_admin(std::string_view user) const noexcept {
    return std::any_of(options_.admins.begin(), options_.admins.end(),
                       [user](const std::string& a) { return http::iequals(a, user); });
  }

  http::answer answer_management(const http::incoming& in, const ip_address& peer, bool keep_alive,
                                 std::string& out) {
    const bool head = in.method == "HEAD";
    if (options_.read_only || service_ == nullptr) {
      json_error(out, 403, "the management API is off: this server runs with --read-only",
                 keep_alive, in.version, head);
      return {};
    }
    // The caller is authenticated like any request: its own method and URL.
    const std::string_view authorization = authorization_of(in);
    const request req{in.method,     in.target, peer, in.get(http::header::x_forwarded_for),
                      authorization, in.body};
    const std::int64_t now = system_now_ms();
    const decision d = auth_.decide(req, now);
    metrics_.count_decision(decision_source::management, d.why());
    audit(d, in.method, in.target, now);
    if (!d.allowed()) {
      std::string body = R"({"status":"error","message":)";
      detail::append_json_string(body, "request refused: " + std::string(to_string(d.why())));
      body += "}";
      http::response_writer w(out);
      w.start(is_authentication_failure(d.why()) ? 401 : 403);
      deny_headers(w, d.why());
      w.finish(body, keep_alive, in.version, head, "application/json");
      return {};
    }
    if (!token_has_bound_user(authorization)) {
      json_error(out, 403,
                 "this token is not bound to a user, so it cannot call the management API",
                 keep_alive, in.version, head);
      return {};
    }
    caller_identity caller{std::string(d.user()), is_admin(d.user())};
    // The service writes the store file before answering: that runs on the
    // background executor, with copies of what it needs.
    return http::answer{[this, method = std::string(in.method), target = std::string(in.target),
                         body = std::string(in.body), caller = std::move(caller), keep_alive,
                         version = in.version, head](std::string& response) {
      const service_response r = service_->handle(method, target, body, caller);
      http::response_writer w(response);
      w.start(r.status);
      w.finish(r.body, keep_alive, version, head, "application/json");
    }};
  }

  authorizer& auth_;
  server_metrics& metrics_;
  app_options options_;
  std::atomic<bool> loaded_{false};
  std::shared_ptr<audit_sink> sink_;
  std::atomic<bool> read_only_audit_{false};
  token_service* service_ = nullptr;
};

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_SERVE_APP_HPP
