// Fuzz target: the management service's request bodies (SPEC 9),
// token_service::handle, over a store file on a private directory (tmpfs when
// there is one: every acknowledged change is fsynced).
//
// Input (text, one request a line, at most 16):
//   first line: '0' empty store, '2' secure store, anything else a plain store
//     with two tokens (alice's and one without a user);
//   'A' / 'U' / 'B' / 'N': the caller becomes the administrator, alice, bob,
//     or a caller with no user name;
//   'G<query>': GET get?<query>;  'S<body>': POST set;  'D<body>': DELETE delete;
//   'R<method> <target>': any method and target, empty body.
// Invariants:
// - handle never throws; the status is one SPEC 9 names and never 500 (an
//   internal error); the body is a JSON object whose "status" is "ok" exactly
//   on 200, and an error carries a non-empty "message";
// - a secret never appears in an error's message (unless the request itself
//   carried that text outside its "token" field: then it may be echoed as a
//   label, a rule or a field name; chosen secrets are tracked when they are
//   made of letters, digits, '-' and '_'); in secure mode, never in a get answer nor
//   in the file; a create's answer shows only its own secret;
// - after every request the file parses and compiles, and holds as many
//   tokens as the service says; a 200 create adds one, a 200 delete removes
//   as many as it says it deleted (at least one), anything else none.

#include <simdjson.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/service.hpp"
#include "tokenguard/store.hpp"

namespace {

namespace tg = tokenguard;
using tg::fuzz::show;

constexpr std::int64_t now_ms = 1'700'000'000'000;
/// TOKENGUARD_FUZZ_VERBOSE=1 prints each answer (for checking what a seed reaches).
const bool verbose = std::getenv("TOKENGUARD_FUZZ_VERBOSE") != nullptr;

/// A private directory for this process, on tmpfs when there is one, removed at exit. One
/// object that owns its path: a function-local static would be destroyed before a separate
/// cleanup object that still needs it. Named by process id, so that directories left by a
/// process that did not exit normally (killed, or ended by _Exit) are removed by the next one.
class work_directory {
 public:
  work_directory() {
    std::error_code ec;
    const std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    const std::string prefix = "tokenguard-fuzz-service-";
    for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with(prefix)) continue;
      const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      if (pid > 0 && !std::filesystem::exists("/proc/" + std::to_string(pid), ec)) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
    path_ = base + "/" + prefix + std::to_string(::getpid());
    std::filesystem::remove_all(path_, ec);
    if (!std::filesystem::create_directory(path_, ec) || ec) std::abort();
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
  }
  work_directory(const work_directory&) = delete;
  work_directory& operator=(const work_directory&) = delete;
  ~work_directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

const work_directory& work_dir() {
  static const work_directory dir;
  return dir;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const char* const plain_store =
    R"({"tokens":[{"label":"alice's","user":"alice","token":"alice-secret-0123456789abcdef","id":"a1",)"
    R"("limitTo":"[get]","dateCreated":1},{"label":"anyone","token":"anyone-secret-0123456789abcdef",)"
    R"("id":"n1","dateCreated":2}]})";
const char* const secure_store =
    R"({"tokens":[{"label":"hashed","user":"bob","id":"h1","dateCreated":1,"tokenSha256":)"
    R"("dbf546b90f49769896172bbe9ff6cad1224e4712a357f426c2c84a00f064518e"}],)"
    R"("settings":{"secureMode":true}})";

struct answer {
  bool object = false;
  std::string status, message;
  std::optional<std::string> created_secret;  ///< "token" of the answer's token, on a create
  std::uint64_t deleted = 0;                  ///< "deleted", on a delete
  std::string text;  ///< every key and string of the answer, unescaped, one a line
};

/// Keys and strings as a reader of the answer sees them: "\u0001abc" in the body is the echo
/// of a control byte, not the text "u0001abc".
void collect_text(simdjson::dom::element e, std::string& out) {
  std::string_view s;
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    out.append(s).push_back('\n');
  } else if (e.get_array().get(array) == simdjson::SUCCESS) {
    for (const simdjson::dom::element item : array) collect_text(item, out);
  } else if (e.get_object().get(object) == simdjson::SUCCESS) {
    for (const simdjson::dom::key_value_pair field : object) {
      out.append(field.key).push_back('\n');
      collect_text(field.value, out);
    }
  }
}

answer read_answer(simdjson::dom::parser& parser, const std::string& body) {
  answer a;
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string(body)).get(root) != simdjson::SUCCESS) return a;
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return a;
  a.object = true;
  collect_text(root, a.text);
  std::string_view s;
  if (object["status"].get_string().get(s) == simdjson::SUCCESS) a.status = s;
  if (object["message"].get_string().get(s) == simdjson::SUCCESS) a.message = s;
  if (object["deleted"].get_uint64().get(a.deleted) != simdjson::SUCCESS) a.deleted = 0;
  // A create answers with the token: at the top level, or under "token".
  simdjson::dom::element token;
  if (object["token"].get(token) == simdjson::SUCCESS &&
      (token.get_string().get(s) == simdjson::SUCCESS ||
       token["token"].get_string().get(s) == simdjson::SUCCESS)) {
    a.created_secret = std::string(s);
  }
  return a;
}

/// The "token" member of a request body that is a JSON object, if any.
std::optional<std::string> token_field(simdjson::dom::parser& parser, std::string_view body) {
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string(body)).get(root) != simdjson::SUCCESS) return {};
  std::string_view s;
  if (root["token"].get_string().get(s) != simdjson::SUCCESS) return {};
  return std::string(s);
}

bool token_like(std::string_view s) {
  for (const char c : s) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    if (!word) return false;
  }
  return true;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

struct request_text {
  std::string text;   ///< target and body
  std::string token;  ///< the body's "token" member, or empty
};

/// True when some request carried `secret` other than as its "token" member (as a label, a
/// rule, a field name): an answer or a file may then hold that text without leaking anything.
bool echoed_by_requests(const std::vector<request_text>& history, const std::string& secret) {
  for (const request_text& r : history) {
    if (occurrences(r.text, secret) > (r.token == secret ? 1U : 0U)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = tg::fuzz::split_fields(input, 16);
  const std::string path = work_dir().path() + "/store.json";
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::set<std::string> secrets;
  const char first = lines[0].empty() ? '1' : lines[0][0];
  if (first == '2') {
    std::ofstream(path, std::ios::binary) << secure_store;
    secrets.insert("hashed-secret-0123456789abcdef");  // the digest above is its SHA-256
  } else if (first != '0') {
    std::ofstream(path, std::ios::binary) << plain_store;
    secrets.insert("alice-secret-0123456789abcdef");
    secrets.insert("anyone-secret-0123456789abcdef");
  }

  tg::authorizer auth;
  tg::service_options options;
  options.create_if_missing = true;
  options.lock_file = false;  // one process, and the fuzzer reopens the store for every input
  options.clock = [] { return now_ms; };
  auto counter = std::make_shared<std::uint64_t>(0x9E3779B97F4A7C15ULL);
  options.random_bytes = [counter](unsigned char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t z = (*counter += 0x9E3779B97F4A7C15ULL);  // splitmix64
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      out[i] = static_cast<unsigned char>(z ^ (z >> 31));
    }
    return true;
  };
  auto opened = tg::token_service::open(path, auth, options);
  TOKENGUARD_FUZZ_CHECK(opened.ok(), opened.ok() ? std::string() : opened.message());
  tg::token_service& service = *opened.value();

  simdjson::dom::parser parser;
  std::vector<request_text> history;
  tg::caller_identity caller{"admin", true};
  const std::string prefix(tg::management_prefix);
  for (std::size_t k = 1; k < lines.size(); ++k) {
    const std::string_view line = lines[k];
    if (line.empty()) continue;
    std::string method, target, body;
    switch (line[0]) {
      case 'A':
        caller = {"admin", true};
        continue;
      case 'U':
        caller = {"alice", false};
        continue;
      case 'B':
        caller = {"bob", false};
        continue;
      case 'N':
        caller = {"", false};
        continue;
      case 'G':
        method = "GET";
        target = prefix + "get" + (line.size() > 1 ? "?" + std::string(line.substr(1)) : "");
        break;
      case 'S':
        method = "POST";
        target = prefix + "set";
        body = std::string(line.substr(1));
        break;
      case 'D':
        method = "DELETE";
        target = prefix + "delete";
        body = std::string(line.substr(1));
        break;
      case 'R': {
        const std::string_view rest = line.substr(1);
        const std::size_t space = rest.find(' ');
        method = std::string(rest.substr(0, space));
        target = space == std::string_view::npos ? "" : std::string(rest.substr(space + 1));
        break;
      }
      default:
        continue;
    }
    const std::optional<std::string> presented = token_field(parser, body);
    // A chosen secret is tracked when it looks like one (letters, digits, '-', '_'): one made of
    // words, blanks and punctuation can be spelt by a message's own text around an echoed path
    // ("ch endpoint: /rest/exten"), which no harness can tell from a leak.
    if (presented && presented->size() >= tg::detail::min_custom_token_size &&
        token_like(*presented)) {
      secrets.insert(*presented);
    }
    const std::size_t before = service.size();
    const auto where = [&] {
      return "request " + std::to_string(k) + " " + show(method) + " " + show(target) + " body " +
             show(body) + " as " + show(caller.user) + (caller.administrator ? " (admin)" : "");
    };

    tg::service_response r;
    try {
      r = service.handle(method, target, body, caller);
    } catch (...) {
      tg::fuzz::invariant_failed(__FILE__, __LINE__, "token_service::handle threw", where());
    }
    if (verbose)
      std::fprintf(stderr, "  %s %s -> %d %s\n", method.c_str(), target.c_str(), r.status,
                   r.body.c_str());
    const std::set<int> statuses = {200, 400, 401, 403, 404, 409, 413};
    TOKENGUARD_FUZZ_CHECK(statuses.count(r.status) == 1,
                          where() + ": status " + std::to_string(r.status) + " " + r.body);
    const answer a = read_answer(parser, r.body);
    TOKENGUARD_FUZZ_CHECK(a.object && a.status == (r.status == 200 ? "ok" : "error") &&
                              (r.status == 200 || !a.message.empty()),
                          where() + ": answer " + show(r.body));

    // Secrets in answers. Secure mode as it is after the request (a settings change may turn it
    // on).
    const bool secure = service.settings().secure_mode;
    const bool create = r.status == 200 && method == "POST" && a.created_secret.has_value();
    if (create) secrets.insert(*a.created_secret);
    history.push_back({target + "\n" + body, presented.value_or("")});
    // A create shows its own secret, and with it any chosen secret that happens to be a part
    // of it (the fuzzer can guess a prefix of the next generated one): look past those copies.
    std::string shown = a.text;
    if (create) {
      for (std::size_t at = shown.find(*a.created_secret); at != std::string::npos;
           at = shown.find(*a.created_secret, at + 1)) {
        shown.replace(at, a.created_secret->size(), "\n");
      }
    }
    for (const std::string& s : secrets) {
      if (create && s == *a.created_secret) continue;
      if (shown.find(s) == std::string::npos || echoed_by_requests(history, s)) continue;
      if (r.status != 200) {
        tg::fuzz::invariant_failed(__FILE__, __LINE__, "an error answer holds a secret",
                                   where() + ": " + show(r.body) + " contains " + show(s));
      }
      if (secure || create) {
        TOKENGUARD_FUZZ_CHECK(create && s == *a.created_secret,
                              where() + ": answer " + show(r.body) + " contains the secret " +
                                  show(s) + (secure ? " in secure mode" : " of another token"));
      }
    }

    // The file and the count.
    const std::string text = read_all(path);
    auto parsed = tg::parse_store_json(text);
    TOKENGUARD_FUZZ_CHECK(parsed.ok(), where() + ": the file does not parse: " +
                                           (parsed.ok() ? std::string() : parsed.message()));
    TOKENGUARD_FUZZ_CHECK(parsed.value().tokens.size() == service.size(),
                          where() + ": the file holds " +
                              std::to_string(parsed.value().tokens.size()) +
                              " tokens, the service " + std::to_string(service.size()));
    tg::local_usage usage;
    TOKENGUARD_FUZZ_CHECK(tg::store::compile(parsed.value().tokens, usage).ok(), where());
    if (create) {
      TOKENGUARD_FUZZ_CHECK(service.size() == before + 1, where() + ": a create did not add one");
    } else if (r.status == 200 && method == "DELETE") {
      TOKENGUARD_FUZZ_CHECK(service.size() + 1 == before,
                            where() + ": a delete did not remove one");
    } else {
      TOKENGUARD_FUZZ_CHECK(service.size() == before, where() + ": the token count changed");
    }
    if (secure) {
      for (const std::string& s : secrets) {
        TOKENGUARD_FUZZ_CHECK(text.find(s) == std::string::npos || echoed_by_requests(history, s),
                              where() + ": the secure store file holds the secret " + show(s));
      }
    }
  }
  return 0;
}
