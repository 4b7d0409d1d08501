// authorizer::decide allocates nothing on the heap once a thread has decided
// before (issue 2: "authorize() is noexcept and allocates nothing"; steady state):
// every reason, QueryParam and JsonData clauses, Basic and Bearer. Counted by
// the test binary's replacement operator new (support/allocation_counter).

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "support/allocation_counter.hpp"
#include "tokenguard/authorizer.hpp"
#include "tokenguard/detail/base64.hpp"
#include "tokenguard/json.hpp"

namespace tokenguard {
namespace {

constexpr std::int64_t now = 1'625'000'000'000;

constexpr std::string_view store_json = R"([
  {"label":"plain","user":"alice","token":"plain-secret-000000000001","id":"p"},
  {"label":"anyone","user":"","token":"anyone-secret-00000000001","id":"a"},
  {"label":"ruled","user":"rita","token":"ruled-secret-000000000001","id":"r",
   "limitTo":"[get].*/search[QueryParam::max==[0-9]{1,3}][QueryParam::q==.*]\n[post].*/issue[JsonData::fields.project.key==OPS][JsonData::fields.labels.0==d.*]\n[put].*/wide[QueryParam::v==a.b]"},
  {"label":"networks","user":"nina","token":"networks-secret-00000001","id":"n",
   "ip":"10.0.0.0/8, 2001:db8::/32"},
  {"label":"expired","user":"eve","token":"expired-secret-000000001","id":"e","validUntil":1000},
  {"label":"limited","user":"lee","token":"limited-secret-000000001","id":"l","usageLimit":1},
  {"label":"complex","user":"cole","token":"complex-secret-000000001","id":"c","limitTo":"/[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[0-9]1"}
])";

std::string basic(std::string_view user, std::string_view secret) {
  return "Basic " + detail::base64_encode(std::string(user) + ":" + std::string(secret));
}

/// One request of each kind, with the reason it must get. Every string the
/// request points at lives here, built before anything is counted.
struct probe {
  std::string name;
  std::string method;
  std::string url;
  std::string peer;
  std::string authorization;
  std::string body;
  reason expected;
  bool bearer_authorizer = false;  ///< decided by the authorizer in "both" mode
};

std::vector<probe> probes() {
  const std::string ruled = basic("rita", "ruled-secret-000000000001");
  const std::string deploy_body =
      R"({"fields":{"project":{"key":"OPS"},"summary":"x","labels":["deploy","prod"]}})";
  return {
      {"allowed basic", "GET", "https://jira.example.com/rest/api/2/myself", "192.0.2.7",
       basic("alice", "plain-secret-000000000001"), "", reason::allowed},
      {"allowed basic, user-less token", "GET", "/x", "192.0.2.7",
       basic("someone", "anyone-secret-00000000001"), "", reason::allowed},
      {"allowed bearer", "GET", "/rest/api/2/myself", "192.0.2.7",
       "Bearer plain-secret-000000000001", "", reason::allowed, true},
      {"allowed QueryParam", "GET", "/api/search?max=50&q=a+b%20c&other=1", "192.0.2.7", ruled, "",
       reason::allowed},
      {"allowed JsonData", "POST", "/api/issue", "192.0.2.7", ruled, deploy_body, reason::allowed},
      {"allowed non-ASCII clause value", "PUT", "/api/wide?v=a%C3%A9b", "192.0.2.7", ruled, "",
       reason::allowed},
      {"allowed from an address list", "GET", "/x", "10.1.2.3",
       basic("nina", "networks-secret-00000001"), "", reason::allowed},
      {"malformed_request", "GET", "/a/../../etc", "192.0.2.7",
       basic("alice", "plain-secret-000000000001"), "", reason::malformed_request},
      {"missing_credentials", "GET", "/x", "192.0.2.7", "", "", reason::missing_credentials},
      {"malformed_credentials", "GET", "/x", "192.0.2.7", "Basic !!notbase64", "",
       reason::malformed_credentials},
      {"scheme_not_enabled", "GET", "/x", "192.0.2.7", "Bearer plain-secret-000000000001", "",
       reason::scheme_not_enabled},
      {"unknown_token", "GET", "/x", "192.0.2.7", basic("alice", "no-such-secret-000000001"), "",
       reason::unknown_token},
      {"user_mismatch", "GET", "/x", "192.0.2.7", basic("mallory", "plain-secret-000000000001"), "",
       reason::user_mismatch},
      {"user_required", "GET", "/x", "192.0.2.7", "Bearer anyone-secret-00000000001", "",
       reason::user_required, true},
      {"expired", "GET", "/x", "192.0.2.7", basic("eve", "expired-secret-000000001"), "",
       reason::expired},
      {"ip_not_allowed", "GET", "/x", "192.0.2.7", basic("nina", "networks-secret-00000001"), "",
       reason::ip_not_allowed},
      {"limit_to_mismatch QueryParam", "GET", "/api/search?max=5000&q=x", "192.0.2.7", ruled, "",
       reason::limit_to_mismatch},
      {"limit_to_mismatch JsonData", "POST", "/api/issue", "192.0.2.7", ruled,
       R"({"fields":{"project":{"key":"HR"}}})", reason::limit_to_mismatch},
      {"limit_to_mismatch invalid body", "POST", "/api/issue", "192.0.2.7", ruled, "{not json",
       reason::limit_to_mismatch},
      {"rule_too_complex", "GET", "/" + std::string(4000, 'a') + "!91", "192.0.2.7",
       basic("cole", "complex-secret-000000001"), "", reason::rule_too_complex},
      {"usage_exhausted", "GET", "/x", "192.0.2.7", basic("lee", "limited-secret-000000001"), "",
       reason::usage_exhausted},
  };
}

class DecisionAllocation : public ::testing::Test {
 protected:
  void SetUp() override {
    TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
    // Two authorizers sharing one usage store, as a server's would: Basic only
    // (the default) and both schemes.
    auto usage = std::make_shared<local_usage>();
    basic_ = std::make_unique<authorizer>(authorizer_options{}, usage);
    authorizer_options both;
    both.mode = auth_mode::both;
    bearer_ = std::make_unique<authorizer>(both, usage);
    auto parsed = parse_store_json(store_json);
    ASSERT_TRUE(parsed.ok()) << parsed.message();
    auto compiled = store::compile(parsed.value().tokens, *usage);
    ASSERT_TRUE(compiled.ok()) << compiled.message();
    for (const token_problem& problem : compiled.value()->problems()) {
      ADD_FAILURE() << problem.label << ": " << problem.message;
    }
    basic_->replace_store(compiled.value());
    bearer_->replace_store(compiled.value());
    // Spend the limited token's one use, so that it is exhausted from now on.
    const std::string lee = basic("lee", "limited-secret-000000001");
    const request use{"GET", "/x", *ip_address::parse("192.0.2.7"), "", lee, ""};
    ASSERT_EQ(basic_->decide(use, now).why(), reason::allowed);
  }

  struct outcome {
    reason why;
    long allocations;
  };

  /// Decides `p` on the calling thread and counts that thread's allocations
  /// during the call only.
  outcome decide_counting(const probe& p) const {
    const request req{p.method, p.url, *ip_address::parse(p.peer), "", p.authorization, p.body};
    const authorizer& auth = p.bearer_authorizer ? *bearer_ : *basic_;
    testing::reset_allocations_on_this_thread();
    const decision d = auth.decide(req, now);
    const long n = testing::allocations_on_this_thread();
    return {d.why(), n};
  }

  std::unique_ptr<authorizer> basic_;
  std::unique_ptr<authorizer> bearer_;
};

TEST_F(DecisionAllocation, EveryKindOfDecisionAllocatesNothingOnceWarm) {
  const std::vector<probe> all = probes();
  // A fresh thread, so that nothing another test did has warmed it.
  std::thread([&] {
    for (const probe& p : all) (void)decide_counting(p);  // warm-up: one of each
    for (int round = 0; round < 3; ++round) {
      for (const probe& p : all) {
        const outcome o = decide_counting(p);
        EXPECT_EQ(o.why, p.expected) << p.name << ": " << to_string(o.why);
        EXPECT_EQ(o.allocations, 0) << p.name;
      }
    }
  }).join();
}

TEST_F(DecisionAllocation, GivingUpOnAShortSubjectAllocatesNothing) {
  // Over a short subject the regex engine's own complexity limit can trip
  // before the matching budget does; the decision is still rule_too_complex,
  // and must not build an exception message on the heap every time.
  const probe short_subject{"rule_too_complex, short subject",
                            "GET",
                            "/" + std::string(40, 'a') + "!91",
                            "192.0.2.7",
                            basic("cole", "complex-secret-000000001"),
                            "",
                            reason::rule_too_complex};
  const std::vector<probe> all = probes();
  std::thread([&] {
    for (const probe& p : all) (void)decide_counting(p);
    (void)decide_counting(short_subject);
    for (int round = 0; round < 3; ++round) {
      const outcome o = decide_counting(short_subject);
      EXPECT_EQ(o.why, reason::rule_too_complex) << to_string(o.why);
      EXPECT_EQ(o.allocations, 0) << "round " << round;
    }
  }).join();
}

TEST_F(DecisionAllocation, AfterOneWarmUpDecisionOnlyAClauseKindsFirstUseAllocates) {
  // One ordinary decision sizes the canonical-URL scratch for the configured
  // URL limit, so no later decision without clauses allocates. The scratch of
  // QueryParam values, JSON bodies and non-ASCII text grows on the first
  // decision that needs it (to the largest seen, bounded by the limits), then
  // never again: the first use of each kind is recorded, the second must be 0.
  const std::vector<probe> all = probes();
  std::thread([&] {
    (void)decide_counting(all.front());  // one ordinary allowed request
    for (const probe& p : all) {
      const outcome first = decide_counting(p);
      EXPECT_EQ(first.why, p.expected) << p.name << ": " << to_string(first.why);
      const bool grows = p.name.find("QueryParam") != std::string::npos ||
                         p.name.find("JsonData") != std::string::npos ||
                         p.name.find("body") != std::string::npos ||
                         p.name.find("non-ASCII") != std::string::npos;
      if (grows) {
        ::testing::Test::RecordProperty("first use allocations: " + p.name,
                                        static_cast<int>(first.allocations));
      } else {
        EXPECT_EQ(first.allocations, 0) << p.name;
      }
      const outcome second = decide_counting(p);
      EXPECT_EQ(second.allocations, 0) << p.name << " (second time)";
    }
  }).join();
}

TEST_F(DecisionAllocation, ALargerQueryOrBodyGrowsTheScratchOnce) {
  const std::string ruled = basic("rita", "ruled-secret-000000000001");
  const std::string big_body =
      R"({"fields":{"project":{"key":"OPS"},"labels":["d)" + std::string(100000, 'e') + R"("]}})";
  const std::vector<probe> larger = {
      {"large query", "GET", "/api/search?max=1&q=" + std::string(6000, 'z'), "192.0.2.7", ruled,
       "", reason::allowed},
      {"large body", "POST", "/api/issue", "192.0.2.7", ruled, big_body, reason::allowed},
      {"large non-ASCII value", "PUT", "/api/wide?v=a%C3%A9b&pad=" + std::string(5000, 'p'),
       "192.0.2.7", ruled, "", reason::allowed},
  };
  const std::vector<probe> all = probes();
  std::thread([&] {
    for (const probe& p : all) (void)decide_counting(p);
    for (const probe& p : larger) {
      const outcome first = decide_counting(p);
      EXPECT_EQ(first.why, p.expected) << p.name << ": " << to_string(first.why);
      ::testing::Test::RecordProperty("allocations growing to: " + p.name,
                                      static_cast<int>(first.allocations));
      EXPECT_EQ(decide_counting(p).allocations, 0) << p.name << " (second time)";
    }
    // Smaller requests after the large ones fit in what is there.
    for (const probe& p : all) {
      EXPECT_EQ(decide_counting(p).allocations, 0) << p.name << " (after the large ones)";
    }
  }).join();
}

}  // namespace
}  // namespace tokenguard
