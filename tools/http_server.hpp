#ifndef TOKENGUARD_TOOLS_HTTP_SERVER_HPP
#define TOKENGUARD_TOOLS_HTTP_SERVER_HPP

// The HTTP/1.1 server under `tokenguard serve`, on Boost.Asio and Beast: an
// acceptor, one session per connection on its own strand, keep-alive and
// pipelining, bounded header and body sizes, timeouts, and a drain that
// stops accepting, closes idle connections and lets requests in flight finish.
//
// What to answer is the handler's business (serve_app.hpp). A handler either
// answers at once (checks, metrics) or hands back a job that runs on the
// background executor (management calls, which write files) and fills the
// answer there; the session waits for it without blocking a worker thread.

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http_request.hpp"
#include "http_response.hpp"
#include "serve_log.hpp"
#include "tokenguard/address.hpp"

namespace tokenguard::cli::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct server_limits {
  /// Request line and headers together (Beast's header limit).
  std::uint32_t max_header_bytes = 16 * 1024;
  /// Request body; more is answered 413 (SPEC 10: the body read for JsonData).
  std::uint64_t max_body_bytes = std::uint64_t{1} << 20;
  /// A keep-alive connection with no request started is closed after this.
  std::chrono::milliseconds idle_timeout{75'000};
  /// From a request's first byte to its last.
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
};

/// What a handler returns: an answer already written into the output buffer,
/// or a job to run on the background executor that writes it there.
struct answer {
  std::function<void(std::string& out)> later;
  [[nodiscard]] bool ready() const noexcept { return !later; }
};

class handler {
 public:
  virtual ~handler() = default;
  /// Writes a complete response into `out` (see response_writer), or returns
  /// a job that will. `keep_alive` is what the response must announce.
  virtual answer respond(const incoming& in, const ip_address& peer, bool keep_alive,
                         std::string& out) = 0;
  /// Every response the server sends, including its own error answers.
  virtual void responded(int status) noexcept = 0;
  virtual void connections_changed(std::size_t open, bool opened) noexcept = 0;
};

class server;

class session : public std::enable_shared_from_this<session> {
 public:
  session(server& owner, tcp::socket socket);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start();
  /// Called on the session's strand when the server drains.
  void drain();

 private:
  enum class state : std::uint8_t { idle, reading, processing, writing, closing };

  void wait_for_request();
  void on_first_bytes(beast::error_code ec, std::size_t n);
  void read_request();
  void on_header(beast::error_code ec);
  void on_body(beast::error_code ec);
  void on_read_error(beast::error_code ec);
  void process();
  void send(bool keep_alive);
  void on_written(beast::error_code ec, std::size_t n);
  void send_error(int status);
  void linger();
  void linger_read();
  void close();

  server& server_;
  beast::tcp_stream stream_;
  ip_address peer_;
  beast::flat_buffer buffer_;
  request_storage storage_;
  std::optional<capture_parser> parser_;
  std::string out_;
  state state_ = state::idle;
  bool keep_alive_ = true;
  bool draining_ = false;
  int status_ = 0;
  std::size_t lingered_ = 0;
  std::uint64_t served_ = 0;
  asio::steady_timer grace_;
  std::list<std::weak_ptr<session>>::iterator registration_;
  bool registered_ = false;

  friend class server;
};

class server {
 public:
  server(asio::io_context& io, handler& h, server_limits limits, asio::thread_pool& background)
      : io_(io),
        handler_(h),
        limits_(limits),
        background_(background),
        acceptor_(asio::make_strand(io)),
        retry_(acceptor_.get_executor()) {}

  /// Opens, binds and listens (throws boost::system::system_error); accepting
  /// starts with start(), so a store can load meanwhile while clients queue.
  void listen(const tcp::endpoint& at) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (at.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }
  [[nodiscard]] tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void start() {
    asio::post(acceptor_.get_executor(), [this] { accept(); });
  }

  /// Stop accepting; close idle connections; let the others finish their
  /// request and close. Safe from any thread.
  void drain() {
    asio::post(acceptor_.get_executor(), [this] {
      draining_.store(true);
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
    });
    draining_.store(true);
    for (const auto& s : live_sessions()) {
      asio::post(s->stream_.get_executor(), [s] { s->drain(); });
    }
  }

  [[nodiscard]] bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t open_connections() const {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    return sessions_.size();
  }

  /// Force-closes whatever is left (after the drain deadline).
  void abort_all() {
    for (const auto& s : live_sessions()) {
      asio::post(s->stream_.get_executor(), [s] { s->close(); });
    }
  }

  [[nodiscard]] const server_limits& limits() const noexcept { return limits_; }
  [[nodiscard]] handler& app() noexcept { return handler_; }
  [[nodiscard]] asio::thread_pool& background() noexcept { return background_; }

 private:
  friend class session;

  void accept() {
    if (draining()) return;
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        // Out of descriptors and the like: wait a little instead of spinning.
        if (!accept_error_logged_) {
          accept_error_logged_ = true;
          log_line("error: accept: " + ec.message() + " (retrying)");
        }
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      accept_error_logged_ = false;
      auto created = std::make_shared<session>(*this, std::move(s));
      enroll(created);
      created->start();
      accept();
    });
  }

  /// The sessions alive now. Taken under the lock, used after it: a session
  /// released by the caller may be destroyed, and its destructor locks too.
  [[nodiscard]] std::vector<std::shared_ptr<session>> live_sessions() {
    std::vector<std::shared_ptr<session>> out;
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    out.reserve(sessions_.size());
    for (const auto& weak : sessions_) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  void enroll(const std::shared_ptr<session>& s) {
    std::size_t open = 0;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      s->registration_ = sessions_.insert(sessions_.end(), s);
      s->registered_ = true;
      open = sessions_.size();
    }
    handler_.connections_changed(open, true);
  }

  void withdraw(session& s) {
    std::size_t open = 0;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      if (!s.registered_) return;
      sessions_.erase(s.registration_);
      s.registered_ = false;
      open = sessions_.size();
    }
    handler_.connections_changed(open, false);
  }

  asio::io_context& io_;
  handler& handler_;
  server_limits limits_;
  asio::thread_pool& background_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  bool accept_error_logged_ = false;
  std::atomic<bool> draining_{false};
  mutable std::mutex sessions_mutex_;
  std::list<std::weak_ptr<session>> sessions_;
};

// ---------------------------------------------------------------------------

inline session::session(server& owner, tcp::socket socket)
    : server_(owner),
      stream_(std::move(socket)),
      buffer_(std::size_t{64} * 1024 + owner.limits().max_header_bytes),
      grace_(stream_.get_executor()) {
  beast::error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? ip_address::v4(0) : ip_address::from(remote.address());
  stream_.socket().set_option(tcp::no_delay(true), ec);
  storage_.text.reserve(owner.limits().max_header_bytes + 256);
  out_.reserve(1024);
}

inline session::~session() { server_.withdraw(*this); }

inline void session::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->server_.draining()) self->draining_ = true;
    self->wait_for_request();
  });
}

inline void session::drain() {
  draining_ = true;
  // A connection that has started a request finishes it and closes after its
  // answer; one between requests is closed now, unless the bytes of its next
  // request are already waiting. A connection that has not sent its first
  // request yet was opened to send one: it gets a moment to do so.
  if (state_ != state::idle) return;
  beast::error_code ec;
  if (stream_.socket().available(ec) > 0 && !ec) return;
  if (served_ > 0) return stream_.cancel();
  grace_.expires_after(std::chrono::seconds(1));
  grace_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e && self->state_ == state::idle) self->stream_.cancel();
  });
}

inline void session::wait_for_request() {
  if (draining_ && buffer_.size() == 0) return close();
  if (buffer_.size() > 0) return read_request();  // pipelined
  state_ = state::idle;
  stream_.expires_after(server_.limits().idle_timeout);
  stream_.async_read_some(buffer_.prepare(std::size_t{16} * 1024),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->on_first_bytes(ec, n);
                          });
}

inline void session::on_first_bytes(beast::error_code ec, std::size_t n) {
  buffer_.commit(n);
  if (n == 0 || (ec && ec != asio::error::operation_aborted)) return close();
  read_request();
}

inline void session::read_request() {
  state_ = state::reading;
  const server_limits& lim = server_.limits();
  parser_.emplace(storage_, lim.max_header_bytes, lim.max_body_bytes);
  stream_.expires_after(lim.request_timeout);
  beast::http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

inline void session::on_header(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  if (parser_->is_done()) return process();
  const incoming in = parser_->view();
  // curl and others wait for "100 Continue" before sending a larger body.
  if (in.has(header::expect) && iequals(in.get(header::expect), "100-continue")) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(server_.limits().write_timeout);
    asio::async_write(stream_, asio::buffer(go_on.data(), go_on.size()),
                      [self = shared_from_this()](beast::error_code e, std::size_t) {
                        if (e) return self->close();
                        self->stream_.expires_after(self->server_.limits().request_timeout);
                        beast::http::async_read(
                            self->stream_, self->buffer_, *self->parser_,
                            [self](beast::error_code e2, std::size_t) { self->on_body(e2); });
                      });
    return;
  }
  beast::http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_body(e); });
}

inline void session::on_body(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  process();
}

inline void session::on_read_error(beast::error_code ec) {
  namespace h = beast::http;
  if (ec == h::error::header_limit) return send_error(431);
  if (ec == h::error::body_limit || ec == h::error::buffer_overflow) return send_error(413);
  if (ec == beast::error::timeout) {
    // The stream closed the socket on timeout: nothing can be sent.
    return close();
  }
  if (ec == h::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
      ec == h::error::partial_message) {
    return close();
  }
  // Any other parse error (bad request line, bad header, bad chunk...) is 400.
  if (ec.category() == h::make_error_code(h::error::bad_target).category()) return send_error(400);
  close();
}

inline void session::process() {
  state_ = state::processing;
  const incoming in = parser_->view();
  keep_alive_ = in.keep_alive && !draining_ && !server_.draining();
  out_.clear();
  answer a;
  try {
    a = server_.app().respond(in, peer_, keep_alive_, out_);
  } catch (...) {
    // Out of memory and the like: this request fails, the server goes on.
    return send_error(500);
  }
  if (a.ready()) return send(keep_alive_);
  // The job runs on the background executor; the session (kept alive by the
  // captured pointer) does nothing until the answer is posted back.
  asio::post(server_.background(), [self = shared_from_this(), job = std::move(a.later)] {
    try {
      job(self->out_);
    } catch (...) {
      self->out_.clear();
      self->keep_alive_ = false;
      response_writer w(self->out_);
      w.start(500);
      w.finish({}, false, 11);
    }
    asio::post(self->stream_.get_executor(), [self] { self->send(self->keep_alive_); });
  });
}

inline void session::send(bool keep_alive) {
  state_ = state::writing;
  keep_alive_ = keep_alive;
  ++served_;
  // The status code is the second word of what was written.
  status_ = out_.size() > 12 ? (out_[9] - '0') * 100 + (out_[10] - '0') * 10 + (out_[11] - '0') : 0;
  server_.app().responded(status_);
  stream_.expires_after(server_.limits().write_timeout);
  asio::async_write(stream_, asio::buffer(out_),
                    [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                      self->on_written(ec, n);
                    });
}

inline void session::on_written(beast::error_code ec, std::size_t) {
  if (ec) return close();
  if (!keep_alive_) return linger();
  wait_for_request();
}

inline void session::send_error(int status) {
  out_.clear();
  response_writer w(out_);
  w.start(status);
  w.finish({}, false, 11);
  send(false);
}

/// After a final answer: stop sending, then read and discard what the client
/// may still be sending for a little while, so that closing does not reset
/// the connection before the client has read the answer.
inline void session::linger() {
  state_ = state::closing;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  buffer_.clear();
  lingered_ = 0;
  stream_.expires_after(std::chrono::seconds(2));
  linger_read();
}

inline void session::linger_read() {
  stream_.async_read_some(buffer_.prepare(std::size_t{16} * 1024),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->buffer_.clear();
                            self->lingered_ += n;
                            if (ec || self->lingered_ > (std::size_t{4} << 20))
                              return self->close();
                            self->linger_read();
                          });
}

inline void session::close() {
  state_ = state::closing;
  grace_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

}  // namespace tokenguard::cli::http

#endif  // TOKENGUARD_TOOLS_HTTP_SERVER_HPP
