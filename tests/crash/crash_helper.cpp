// Crash test of the owned store file (SPEC 9): "a crash at any moment loses no
// acknowledged change and never leaves a partial file".
//
//   crash_helper writer STORE SEED
//     Opens STORE through token_service and creates and deletes tokens in a
//     loop, printing "intent create|delete LABEL" before each request and
//     "ack create|delete LABEL" once the service has answered 200, which is
//     after the change is on disk. Runs until killed.
//
//   crash_helper torture --dir DIR [--kills N] [--max-delay-ms M] [--seed S]
//     Starts the writer N times (default 200) and kills it with SIGKILL after
//     a random 0..M ms (default 40), in start-up, mid-request or between
//     requests. After every kill it reads the file and checks that it parses
//     and holds exactly the acknowledged changes, except that the one change
//     in flight (intent printed, no ack) may or may not be there. Exit 0 when
//     every check passed, 1 otherwise.
//
// SIGKILL ends the process at any instruction, but the kernel still completes
// writes it accepted; the fsync calls are what carries this over to power loss.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tokenguard/service.hpp"

namespace {

using namespace tokenguard;

void say(const std::string& line) {
  // One write(2) a line, unbuffered: what the parent reads is what was printed.
  const std::string text = line + "\n";
  (void)detail::write_all(STDOUT_FILENO, text);
}

int run_writer(const std::string& store_path, std::uint32_t seed) {
  authorizer auth;
  service_options options;
  options.create_if_missing = true;
  auto opened = token_service::open(store_path, auth, options);
  if (!opened) {
    std::cerr << "writer: " << opened.message() << "\n";
    return 3;
  }
  token_service& service = *opened.value();
  const caller_identity admin{"crash-test", true};
  const std::string base(management_prefix);

  // The labels in the store now, from the API itself.
  std::vector<std::pair<std::string, std::string>> alive;  // label, id
  {
    const service_response listed = service.handle("GET", base + "get", "", admin);
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (listed.status != 200 ||
        parser.parse(simdjson::padded_string(listed.body)).get(root) != simdjson::SUCCESS) {
      std::cerr << "writer: cannot list: " << listed.body << "\n";
      return 3;
    }
    for (simdjson::dom::element t : root["tokens"].get_array()) {
      alive.emplace_back(std::string(t["label"].get_string().value()),
                         std::string(t["id"].get_string().value()));
    }
  }

  std::mt19937 rng(seed);
  for (std::uint64_t n = 0;; ++n) {
    const bool remove = !alive.empty() && (alive.size() > 12 || rng() % 3 == 0);
    if (remove) {
      const std::size_t pick = rng() % alive.size();
      const auto [label, id] = alive[pick];
      say("intent delete " + label);
      const service_response r =
          service.handle("DELETE", base + "delete", R"({"id":")" + id + R"("})", admin);
      if (r.status != 200) {
        std::cerr << "writer: delete " << label << ": " << r.body << "\n";
        return 3;
      }
      alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(pick));
      say("ack delete " + label);
    } else {
      const std::string label = "s" + std::to_string(seed) + "-" + std::to_string(n);
      say("intent create " + label);
      const service_response r =
          service.handle("POST", base + "set", R"({"label":")" + label + R"("})", admin);
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      std::string_view id;
      if (r.status != 200 ||
          parser.parse(simdjson::padded_string(r.body)).get(root) != simdjson::SUCCESS ||
          root["id"].get_string().get(id) != simdjson::SUCCESS) {
        std::cerr << "writer: create " << label << ": " << r.body << "\n";
        return 3;
      }
      alive.emplace_back(label, std::string(id));
      say("ack create " + label);
    }
  }
}

struct torture_options {
  std::string dir;
  int kills = 200;
  int max_delay_ms = 40;
  std::uint32_t seed = 0;
};

/// What the writer has said: acknowledged labels, and the change in flight.
struct model {
  std::set<std::string> acknowledged;
  std::string pending_kind;  ///< "create", "delete" or empty
  std::string pending_label;

  void feed(std::string_view line) {
    const std::size_t a = line.find(' ');
    const std::size_t b = line.find(' ', a + 1);
    if (a == std::string_view::npos || b == std::string_view::npos) return;
    const std::string_view verb = line.substr(0, a);
    const std::string kind(line.substr(a + 1, b - a - 1));
    const std::string label(line.substr(b + 1));
    if (verb == "intent") {
      pending_kind = kind;
      pending_label = label;
    } else if (verb == "ack") {
      if (kind == "create") acknowledged.insert(label);
      if (kind == "delete") acknowledged.erase(label);
      pending_kind.clear();
    }
  }
};

int run_torture(const torture_options& o, const char* self) {
  std::filesystem::remove_all(o.dir);
  std::filesystem::create_directories(o.dir);
  const std::string store_path = o.dir + "/store.json";
  std::mt19937 rng(o.seed != 0 ? o.seed : std::random_device{}());
  model m;
  int failures = 0;
  int kills_done = 0, killed_mid_flight = 0, in_flight_applied = 0, acks = 0;
  const auto started = std::chrono::steady_clock::now();

  for (int k = 0; k < o.kills; ++k) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return 2;
    const pid_t pid = ::fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      const std::string seed = std::to_string(k + 1);
      ::execl(self, self, "writer", store_path.c_str(), seed.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    ++kills_done;

    // Read what the writer says until the random moment, then kill it.
    const int delay_ms = static_cast<int>(rng() % static_cast<unsigned>(o.max_delay_ms + 1));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    std::string buffer;
    bool killed = false;
    char chunk[4096];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (!killed && left <= 0) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      pollfd p{fds[0], POLLIN, 0};
      const int ready = ::poll(&p, 1, killed ? 1000 : static_cast<int>(left));
      if (ready <= 0) continue;
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) break;  // the writer is gone
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      std::cerr << "kill " << k << ": the writer ended by itself (status " << status << ")\n";
      ++failures;
    }

    // Complete lines only: a line cut by the kill is not an acknowledgement.
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(buffer.data() + start, nl - start);
      if (line.starts_with("ack ")) ++acks;
      m.feed(line);
    }

    // The file: parses, and holds every acknowledged change.
    std::set<std::string> on_disk;
    const bool exists = std::filesystem::exists(store_path);
    if (exists) {
      std::string text;
      {
        std::FILE* f = std::fopen(store_path.c_str(), "rb");
        char b[65536];
        for (std::size_t got; f != nullptr && (got = std::fread(b, 1, sizeof b, f)) > 0;) {
          text.append(b, got);
        }
        if (f != nullptr) std::fclose(f);
      }
      auto parsed = parse_store_json(text);
      if (!parsed) {
        std::cerr << "kill " << k << ": the file does not parse: " << parsed.message() << "\n";
        ++failures;
        break;
      }
      for (const token_record& r : parsed.value().tokens) on_disk.insert(r.label);
    }
    std::set<std::string> with_pending = m.acknowledged;
    if (m.pending_kind == "create") with_pending.insert(m.pending_label);
    if (m.pending_kind == "delete") with_pending.erase(m.pending_label);
    if (!m.pending_kind.empty()) ++killed_mid_flight;
    if (on_disk == m.acknowledged) {
      // the change in flight, if any, did not happen
    } else if (!m.pending_kind.empty() && on_disk == with_pending) {
      m.acknowledged = with_pending;  // it happened, unacknowledged: now it is the state
      ++in_flight_applied;
    } else {
      std::cerr << "kill " << k << ": the file holds " << on_disk.size()
                << " tokens, the acknowledged state " << m.acknowledged.size()
                << (exists ? "" : " (no file)") << "\n";
      for (const auto& l : m.acknowledged) {
        if (!on_disk.count(l)) std::cerr << "  lost: " << l << "\n";
      }
      for (const auto& l : on_disk) {
        if (!m.acknowledged.count(l)) std::cerr << "  unexpected: " << l << "\n";
      }
      ++failures;
      break;
    }
    m.pending_kind.clear();
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "crash test: " << kills_done << " SIGKILLs in " << seconds << " s, " << acks
            << " acknowledged changes, " << killed_mid_flight << " kills with a change in flight ("
            << in_flight_applied << " of them already on disk), " << m.acknowledged.size()
            << " tokens at the end, " << failures << " failures\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "writer") {
    return run_writer(args[1], static_cast<std::uint32_t>(std::stoul(args[2])));
  }
  if (!args.empty() && args[0] == "torture") {
    torture_options o;
    for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
      if (args[i] == "--dir") {
        o.dir = args[i + 1];
      } else if (args[i] == "--kills") {
        o.kills = std::stoi(args[i + 1]);
      } else if (args[i] == "--max-delay-ms") {
        o.max_delay_ms = std::stoi(args[i + 1]);
      } else if (args[i] == "--seed") {
        o.seed = static_cast<std::uint32_t>(std::stoul(args[i + 1]));
      } else {
        std::cerr << "unknown option " << args[i] << "\n";
        return 2;
      }
    }
    if (o.dir.empty() || o.kills < 1 || o.max_delay_ms < 0) {
      std::cerr << "usage: crash_helper torture --dir DIR [--kills N] [--max-delay-ms M]\n";
      return 2;
    }
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 2;
    self[n] = '\0';
    return run_torture(o, self);
  }
  std::cerr << "usage: crash_helper writer STORE SEED\n"
               "       crash_helper torture --dir DIR [--kills N] [--max-delay-ms M] [--seed S]\n";
  return 2;
}
