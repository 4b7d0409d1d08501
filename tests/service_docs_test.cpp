// docs/management-api.md is replayed: every ```http request block runs
// against a fresh store, with the pinned clock and the seeded generator, and
// the ```http answer block after it must be the service's answer (compared as
// minified JSON). `<!-- example: ... -->` lines set the clock, use a token
// through the authorizer (and audit the decision), or say that the next
// ```json block is the store file or the audit output so far, byte for byte.
//
// TOKENGUARD_UPDATE_DOCS=1 rewrites the answer and file blocks from what the
// service says, and fills in the NAME_OF_USER placeholders (SECRET_OF_ALICE,
// ID_OF_ALICE) with the values they stand for.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "service_test_support.hpp"
#include "tokenguard/audit.hpp"
#include "tokenguard/service.hpp"

#ifndef TOKENGUARD_SOURCE_DIR
#define TOKENGUARD_SOURCE_DIR "."
#endif

namespace tokenguard::testing {
namespace {

/// Two-space indented JSON for the docs; arrays and objects one member a line.
void pretty(std::string& out, simdjson::dom::element e, std::size_t depth) {
  const std::string pad(2 * depth + 2, ' ');
  const std::string close_pad(2 * depth, ' ');
  if (e.is_object()) {
    const simdjson::dom::object o = e.get_object().value();
    if (o.size() == 0) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (auto field : o) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      detail::append_json_string(out, field.key);
      out += ": ";
      pretty(out, field.value, depth + 1);
    }
    out += "\n" + close_pad + "}";
  } else if (e.is_array()) {
    const simdjson::dom::array a = e.get_array().value();
    if (a.size() == 0) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (simdjson::dom::element item : a) {
      if (!first) out += ",\n";
      first = false;
      out += pad;
      pretty(out, item, depth + 1);
    }
    out += "\n" + close_pad + "]";
  } else {
    out += simdjson::minify(e);
  }
}

std::string minified(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(simdjson::padded_string(json)).get(e) != simdjson::SUCCESS) {
    return "not JSON: " + json;
  }
  return simdjson::minify(e);
}

std::string join(const std::vector<std::string>& lines, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i != from) out += "\n";
    out += lines[i];
  }
  return out;
}

class ServiceDocs : public service_fixture {
 protected:
  void SetUp() override {
    auto options = make_options();
    options.audit = std::make_shared<json_lines_audit_sink>(audit_output);
    ASSERT_TRUE(open(options));
  }
  std::ostringstream audit_output;
};

TEST_F(ServiceDocs, ManagementApiExamplesAreWhatTheServiceAnswers) {
  const std::string doc_path = std::string(TOKENGUARD_SOURCE_DIR) + "/docs/management-api.md";
  const bool update = std::getenv("TOKENGUARD_UPDATE_DOCS") != nullptr;
  std::vector<std::string> lines;
  {
    std::ifstream in(doc_path);
    ASSERT_TRUE(in) << "cannot read " << doc_path;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::map<std::string, std::string> names;  // SECRET_OF_ALICE -> value
  auto resolve = [&names](std::string text) {
    for (const auto& [name, value] : names) {
      for (std::size_t at; (at = text.find(name)) != std::string::npos;) {
        text.replace(at, name.size(), value);
      }
    }
    return text;
  };

  service_response last;
  bool have_answer = false;
  bool next_json_is_file = false;
  bool next_json_is_audit = false;
  int requests = 0, answers = 0;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.starts_with("<!-- example: ")) {
      const std::string directive = resolve(line.substr(14, line.size() - 14 - 4));
      std::istringstream words(directive);
      std::string verb;
      words >> verb;
      if (verb == "clock") {
        words >> now_ms;
      } else if (verb == "use") {
        std::string user, secret, from, ip;
        words >> user >> secret >> from >> ip;
        const std::string url = "https://jira.example.com/rest/api/2/myself";
        const decision d = decide("GET", url, user, secret, ip);
        EXPECT_EQ(d.why(), reason::allowed) << directive;
        service->audit(d, "GET", url, now_ms);
      } else if (verb == "file") {
        next_json_is_file = true;
        next_json_is_audit = false;
      } else if (verb == "audit") {
        next_json_is_audit = true;
        next_json_is_file = false;
      } else {
        ADD_FAILURE() << "unknown directive: " << directive;
      }
      out.push_back(line);
      continue;
    }
    if (line != "```http" && !(line == "```json" && (next_json_is_file || next_json_is_audit))) {
      out.push_back(line);
      continue;
    }
    std::size_t end = i + 1;
    while (end < lines.size() && lines[end] != "```") ++end;
    ASSERT_LT(end, lines.size()) << "unclosed block at line " << i + 1;
    const std::vector<std::string> block(lines.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                         lines.begin() + static_cast<std::ptrdiff_t>(end));
    out.push_back(line);

    if (line == "```json") {  // the store file, or the audit records so far
      std::string text = next_json_is_file ? read_text(store_path) : audit_output.str();
      next_json_is_file = next_json_is_audit = false;
      if (!text.empty() && text.back() == '\n') text.pop_back();
      if (update) {
        out.push_back(text);
      } else {
        EXPECT_EQ(join(block, 0, block.size()), resolve(text)) << "the block at line " << i + 1;
        for (const auto& l : block) out.push_back(l);
      }
    } else if (!block.empty() && block[0].starts_with("# as ")) {  // a request
      ++requests;
      std::string who = block[0].substr(5);
      const bool administrator = who.ends_with(", an administrator");
      if (administrator) who.resize(who.size() - 18);
      ASSERT_GE(block.size(), 2u) << "line " << i + 1;
      const std::size_t space = block[1].find(' ');
      const std::string method = block[1].substr(0, space);
      const std::string target = resolve(block[1].substr(space + 1));
      std::size_t body_from = 2;
      while (body_from < block.size() && block[body_from].empty()) ++body_from;
      const std::string body = resolve(join(block, body_from, block.size()));
      last = service->handle(method, target, body, caller_identity{who, administrator});
      have_answer = true;
      // Remember what a create answered, by the caller's name.
      if (last.status == 200 && method == "POST" && body.find("\"label\"") != std::string::npos) {
        simdjson::dom::parser parser;
        simdjson::dom::element e;
        std::string_view value;
        std::string upper = who;
        for (char& c : upper) c = detail::ascii_upper(c);
        if (parser.parse(simdjson::padded_string(last.body)).get(e) == simdjson::SUCCESS) {
          if (e["token"].get_string().get(value) == simdjson::SUCCESS) {
            names["SECRET_OF_" + upper] = std::string(value);
          }
          if (e["id"].get_string().get(value) == simdjson::SUCCESS) {
            names["ID_OF_" + upper] = std::string(value);
          }
        }
      }
      for (const auto& l : block) out.push_back(l);
    } else if (!block.empty() && block[0].starts_with("HTTP/1.1 ")) {  // its answer
      ++answers;
      EXPECT_TRUE(have_answer) << "an answer block without a request, line " << i + 1;
      have_answer = false;
      if (update) {
        out.push_back("HTTP/1.1 " + std::to_string(last.status));
        out.push_back("");
        simdjson::dom::parser parser;
        std::string text;
        pretty(text, parser.parse(simdjson::padded_string(last.body)).value(), 0);
        std::istringstream pretty_lines(text);
        for (std::string l; std::getline(pretty_lines, l);) out.push_back(l);
      } else {
        EXPECT_EQ(block[0], "HTTP/1.1 " + std::to_string(last.status)) << "line " << i + 1;
        EXPECT_EQ(minified(resolve(join(block, 1, block.size()))), last.body)
            << "the answer at line " << i + 1;
        for (const auto& l : block) out.push_back(l);
      }
    } else {
      for (const auto& l : block) out.push_back(l);
    }
    out.push_back("```");
    i = end;
  }
  EXPECT_GE(requests, 20);
  EXPECT_EQ(requests, answers);
  if (update) {
    std::string text = resolve(join(out, 0, out.size())) + "\n";
    std::ofstream(doc_path, std::ios::binary | std::ios::trunc) << text;
  }
}

}  // namespace
}  // namespace tokenguard::testing
