#ifndef TOKENGUARD_TOOLS_SERVE_HPP
#define TOKENGUARD_TOOLS_SERVE_HPP

// `tokenguard serve` (SPEC 12): the gateway sidecar. This file is the outer
// edge: options, the listening socket, loading and reloading the store,
// signals, worker threads, and the log lines on stderr.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "http_server.hpp"
#include "serve_app.hpp"
#include "serve_log.hpp"
#include "serve_metrics.hpp"

namespace tokenguard::cli {

inline constexpr std::string_view serve_help =
    R"(usage: tokenguard serve --store FILE [--listen HOST:PORT] [--admin USER]...
                       [--auth-mode basic|bearer|both] [--trusted-proxy CIDR]...
                       [--audit-log FILE] [--read-only]

Answers gateway auth sub-requests and serves the management API (HTTP/1.1).

  GET|POST|... /check[/...]   auth sub-request; the original request comes from
                              X-Original-Method + X-Original-URI (nginx auth_request),
                              X-Forwarded-Method/-Proto/-Host/-Uri (Traefik ForwardAuth),
                              or the request itself minus /check (Envoy ext_authz).
                              200 + X-Tokenguard-User/-Label, or 401/403 + X-Tokenguard-Reason
  /rest/extender/1.0/tokenTools/{get,set,delete}
                              the management API; the caller authenticates with a token
                              of the store bound to a user, whose limitTo allows the call
  GET /metrics                Prometheus text
  GET /healthz                200 once the store is loaded

  --store FILE          the token store; owned (rewritten) unless --read-only
  --listen HOST:PORT    where to listen (default 127.0.0.1:8080; [::1]:8080 for IPv6;
                        port 0 picks a free port, printed on stderr)
  --admin USER          a user who administers every token (repeatable)
  --auth-mode MODE      accepted schemes: basic (default), bearer or both
  --trusted-proxy CIDR  a proxy whose X-Forwarded-For is believed (repeatable); list
                        your gateway here so that clients' addresses are seen
  --audit-log FILE      append audit records (JSON Lines) here when the store's
                        addAuditRecord setting is on
  --read-only           serve checks only (the management API answers 403); never
                        write the store; reload it on SIGHUP

Signals: SIGTERM or SIGINT stops accepting, finishes the requests in flight, writes the
usage counters and exits 0; SIGHUP reloads the store file in --read-only mode.
)";

struct serve_options {
  std::string store_path;
  std::string listen = "127.0.0.1:8080";
  app_options app;
  authorizer_options auth;
  std::string audit_log;
  http::server_limits limits;
};

/// "HOST:PORT", "[V6]:PORT" -> endpoint. Names are resolved (first address).
[[nodiscard]] inline boost::asio::ip::tcp::endpoint parse_listen(const std::string& text) {
  using boost::asio::ip::tcp;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw usage_error{"--listen expects HOST:PORT, not '" + text + "'"};
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    throw usage_error{"--listen: write an IPv6 address in brackets, as [::1]:8080"};
  }
  const std::int64_t port = parse_int64("--listen port", port_text);
  if (port < 0 || port > 65535) throw usage_error{"--listen: port out of range: " + port_text};
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (!ec) return {address, static_cast<unsigned short>(port)};
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  const auto found = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
  if (ec || found.empty()) throw usage_error{"--listen: cannot resolve '" + host + "'"};
  return found.begin()->endpoint();
}

/// nullopt after printing --help.
[[nodiscard]] inline std::optional<serve_options> parse_serve_options(args& a) {
  serve_options o;
  while (!a.done()) {
    const std::string name = a.next_option();
    if (name == "--store") {
      o.store_path = a.value();
    } else if (name == "--listen") {
      o.listen = a.value();
    } else if (name == "--admin") {
      std::string user = a.value();
      if (user.empty()) throw usage_error{"--admin expects a user name"};
      o.app.admins.push_back(std::move(user));
    } else if (name == "--auth-mode") {
      o.auth.mode = parse_mode_option(a.value());
    } else if (name == "--trusted-proxy") {
      o.auth.trusted_proxies.push_back(parse_proxy_option(a.value()));
    } else if (name == "--audit-log") {
      o.audit_log = a.value();
      if (o.audit_log.empty()) throw usage_error{"--audit-log expects a file name"};
    } else if (name == "--read-only") {
      a.no_value();
      o.app.read_only = true;
    } else if (name == "--help") {
      std::cout << serve_help;
      return std::nullopt;
    } else {
      throw usage_error{"serve: unknown option " + name};
    }
  }
  if (o.store_path.empty()) throw usage_error{"serve: --store FILE is required"};
  o.limits.max_body_bytes = o.auth.lim.max_body_bytes;
  return o;
}

/// Logs the store's token problems: the first few, then how many more.
inline void log_problems(const std::string& path, const store& s) {
  constexpr std::size_t shown = 20;
  const auto problems = s.problems();
  for (std::size_t i = 0; i < problems.size() && i < shown; ++i) {
    log_line("warning: " + path + ": " + describe(problems[i]) +
             " (this token cannot authenticate)");
  }
  if (problems.size() > shown) {
    log_line("warning: " + path + ": " + std::to_string(problems.size() - shown) +
             " more tokens cannot authenticate (see tokenguard validate)");
  }
}

[[nodiscard]] inline std::string describe_store(const store& s) {
  std::string text = std::to_string(s.size()) + (s.size() == 1 ? " token" : " tokens");
  if (!s.problems().empty()) {
    text += ", " + std::to_string(s.problems().size()) + " that cannot authenticate";
  }
  return text;
}

[[nodiscard]] inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& e) {
  const std::string host = e.address().to_string();
  return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

inline int run_serve(args& a) {
  namespace asio = boost::asio;
  std::optional<serve_options> parsed = parse_serve_options(a);
  if (!parsed) return exit_ok;
  serve_options& options = *parsed;
  std::signal(SIGPIPE, SIG_IGN);

  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(threads));
  asio::thread_pool background(1);  // management calls, reloads, flushes: file work
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set hup_signal(io, SIGHUP);

  auto usage = std::make_shared<local_usage>();
  authorizer auth(options.auth, usage);
  server_metrics metrics;
  serve_app app(auth, metrics, options.app);
  http::server server(io, app, options.limits, background);

  // Listen first, so that a busy port fails fast; clients that connect while
  // the store loads wait in the backlog.
  const auto endpoint = parse_listen(options.listen);
  try {
    server.listen(endpoint);
  } catch (const boost::system::system_error& e) {
    throw usage_error{"cannot listen on " + options.listen + ": " + e.code().message()};
  }

  // Audit records (when the store's addAuditRecord is on): JSON Lines to
  // --audit-log, else to standard output (stderr carries the log).
  std::shared_ptr<audit_sink> audit;
  if (options.audit_log.empty()) {
    audit = std::make_shared<json_lines_audit_sink>(std::cout);
  } else {
    auto opened = json_lines_audit_sink::open(options.audit_log);
    if (!opened) throw usage_error{opened.message()};
    audit = std::shared_ptr<audit_sink>(std::move(opened).value());
  }
  app.set_audit_sink(audit);

  std::unique_ptr<token_service> service;
  if (options.app.read_only) {
    loaded_store loaded = load_store_file(options.store_path, *usage, options.auth.lim, false);
    log_problems(options.store_path, *loaded.snapshot);
    auth.replace_store(loaded.snapshot);
    app.set_read_only_audit(loaded.settings.add_audit_record);
  } else {
    service_options service_opts;
    service_opts.lim = options.auth.lim;
    service_opts.audit = audit;
    auto opened = token_service::open(options.store_path, auth, service_opts);
    if (!opened) throw usage_error{options.store_path + ": " + opened.message()};
    service = std::move(opened).value();
    app.set_service(service.get());
    if (const auto current = auth.current_store()) log_problems(options.store_path, *current);
  }
  app.set_loaded(true);

  const auto current = auth.current_store();
  log_line("listening on http://" + endpoint_text(server.local_endpoint()) + " with " +
           std::to_string(threads) + (threads == 1 ? " worker thread, " : " worker threads, ") +
           (current ? describe_store(*current) : std::string("no store")) + " from " +
           options.store_path + (options.app.read_only ? " (read-only)" : ""));

  // Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads in --read-only.
  // (The sets were registered before loading: a signal that came meanwhile
  // waits for its handler.)
  asio::steady_timer drain_timer(io);
  asio::steady_timer flush_timer(io);
  const auto drain_deadline = std::chrono::seconds(35);
  std::chrono::steady_clock::time_point drain_started;

  std::function<void()> watch_drain = [&] {
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (server.open_connections() == 0) return;  // done: nothing holds the io_context
      if (std::chrono::steady_clock::now() - drain_started > drain_deadline) {
        log_line("error: connections still open after the drain deadline; closing them");
        server.abort_all();
        return;
      }
      watch_drain();
    });
  };

  stop_signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    log_line(std::string("received ") + (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
             ": draining " + std::to_string(server.open_connections()) + " connections");
    drain_started = std::chrono::steady_clock::now();
    server.drain();
    hup_signal.cancel();
    flush_timer.cancel();
    watch_drain();
  });

  std::function<void()> wait_hup = [&] {
    hup_signal.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      if (!options.app.read_only) {
        log_line(
            "SIGHUP ignored: the store is owned by this server (change it through the "
            "management API)");
      } else {
        asio::post(background, [&] {
          try {
            loaded_store loaded =
                load_store_file(options.store_path, *usage, options.auth.lim, false);
            log_problems(options.store_path, *loaded.snapshot);
            auth.replace_store(loaded.snapshot);
            app.set_read_only_audit(loaded.settings.add_audit_record);
            metrics.count_reload(true);
            log_line("reloaded " + describe_store(*loaded.snapshot) + " from " +
                     options.store_path);
          } catch (const usage_error& e) {
            metrics.count_reload(false);
            log_line("error: reload failed, the previous store stays in service: " + e.message);
          } catch (const std::exception& e) {
            metrics.count_reload(false);
            log_line(std::string("error: reload failed, the previous store stays in service: ") +
                     e.what());
          }
        });
      }
      wait_hup();
    });
  };
  wait_hup();

  // Usage counters (and details) reach the file periodically, off the workers.
  std::function<void()> schedule_flush = [&] {
    flush_timer.expires_after(std::chrono::seconds(10));
    flush_timer.async_wait([&](boost::system::error_code ec) {
      if (ec || !service) return;
      asio::post(background, [&] {
        auto flushed = service->flush();
        if (!flushed) {
          metrics.count_flush_failure();
          log_line("error: writing usage counters: " + flushed.message());
        }
      });
      schedule_flush();
    });
  };
  if (service) schedule_flush();

  server.start();
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (std::thread& t : workers) t.join();
  background.join();

  int status = exit_ok;
  if (service) {
    auto flushed = service->flush();
    if (!flushed) {
      log_line("error: writing usage counters at shutdown: " + flushed.message());
      status = exit_problems;
    }
  }
  log_line("stopped");
  return status;
}

}  // namespace tokenguard::cli

#endif  // TOKENGUARD_TOOLS_SERVE_HPP
