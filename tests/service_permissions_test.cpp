// Who may do what through the management API (SPEC 9): administrators see
// and manage every token; other users see and delete only tokens bound to
// themselves, create only for themselves, and never change settings.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "service_test_support.hpp"
#include "tokenguard/service.hpp"

namespace tokenguard::testing {
namespace {

class ServicePermissions : public service_fixture {
 protected:
  void SetUp() override {
    service_fixture::SetUp();
    write_text(store_path, R"({"tokens":[
      {"label":"admin's","user":"admin","token":"admin-secret-000000","id":"t-admin","dateCreated":1},
      {"label":"alice's","user":"alice","token":"alice-secret-000000","id":"t-alice","dateCreated":2},
      {"label":"Alice's too","user":"Alice","token":"alice-secret-111111","id":"t-alice2","dateCreated":3},
      {"label":"bob's","user":"bob","token":"bob-secret-00000000","id":"t-bob","dateCreated":4},
      {"label":"anyone's","user":"","token":"any-secret-00000000","id":"t-any","dateCreated":5}]})");
    ASSERT_TRUE(open());
  }
};

TEST_F(ServicePermissions, GetShowsAdministratorsEverythingAndOthersTheirOwn) {
  EXPECT_EQ(get("", admin).token_strings("id"),
            (std::vector<std::string>{"t-admin", "t-alice", "t-alice2", "t-bob", "t-any"}));
  // User names compare ASCII case-insensitively, as Basic auth does (SPEC 5).
  auto a = get("", alice);
  EXPECT_EQ(a.token_strings("id"), (std::vector<std::string>{"t-alice", "t-alice2"}));
  EXPECT_EQ(a.num("total"), 2);
  EXPECT_EQ(a.num("pages"), 1);
  EXPECT_EQ(get("", caller_identity{"ALICE", false}).num("total"), 2);
  EXPECT_EQ(get("", bob).token_strings("id"), (std::vector<std::string>{"t-bob"}));
  a = get("", caller_identity{"carol", false});
  EXPECT_EQ(a.num("total"), 0);
  EXPECT_EQ(a.num("pages"), 0);
  // Pagination counts only what the caller may see.
  a = get("?startAt=1&maxResults=1", alice);
  EXPECT_EQ(a.token_strings("id"), (std::vector<std::string>{"t-alice2"}));
  EXPECT_EQ(a.num("pages"), 2);
}

struct create_case {
  std::string body;
  int admin_status;
  std::string admin_user;  ///< the created token's user when allowed
  int owner_status;
  std::string owner_user;
};

TEST_F(ServicePermissions, CreateMatrix) {
  const std::string denied = "only administrators can create tokens for another user (userName)";
  const std::vector<create_case> cases = {
      // for self (the caller names itself, in any case)
      {R"({"label":"x","userName":"admin"})", 200, "admin", 403, ""},
      {R"({"label":"x","userName":"alice"})", 200, "alice", 200, "alice"},
      {R"({"label":"x","userName":"ALICE"})", 200, "ALICE", 200, "alice"},
      // for another user
      {R"({"label":"x","userName":"carol"})", 200, "carol", 403, ""},
      // for nobody: an administrator's token for any user; others get their own
      {R"({"label":"x","userName":""})", 200, "", 200, "alice"},
      {R"({"label":"x"})", 200, "", 200, "alice"},
      {R"({"label":"x","userName":null})", 200, "", 200, "alice"},
  };
  for (const create_case& c : cases) {
    auto a = set(c.body, admin);
    EXPECT_EQ(a.status, c.admin_status) << "admin " << c.body;
    if (a.status == 200) {
      EXPECT_EQ(a.str("user"), c.admin_user) << "admin " << c.body;
      EXPECT_EQ(a.str("authorKey"), "admin");
    }
    a = set(c.body, alice);
    EXPECT_EQ(a.status, c.owner_status) << "alice " << c.body;
    if (a.status == 200) {
      EXPECT_EQ(a.str("user"), c.owner_user) << "alice " << c.body;
      EXPECT_EQ(a.str("authorKey"), "alice");
    } else {
      EXPECT_EQ(a.message(), denied);
    }
  }
  // Alice's tokens: her two, the five she created, the two an administrator made for her.
  EXPECT_EQ(get("", alice).num("total"), 2 + 5 + 2);
}

TEST_F(ServicePermissions, ATokenAUserCreatedIsBoundToThem) {
  const std::string secret(set(R"({"label":"mine"})", bob).str("token"));
  EXPECT_EQ(decide("GET", "/x", "bob", secret).why(), reason::allowed);
  EXPECT_EQ(decide("GET", "/x", "alice", secret).why(), reason::user_mismatch);
}

struct delete_case {
  caller_identity caller;
  std::string body;
  int status;
};

TEST_F(ServicePermissions, DeleteMatrix) {
  const std::vector<delete_case> refused = {
      {alice, R"({"id":"t-bob"})", 403},  // another user's
      {alice, R"({"token":"bob-secret-00000000"})", 403},
      {alice, R"({"id":"t-admin"})", 403},  // an administrator's
      {alice, R"({"id":"t-any"})", 403},    // a token for any user
      {bob, R"({"id":"t-alice"})", 403},
      {alice, R"({"id":"t-none"})", 404},  // nobody's: not found first
  };
  for (const delete_case& c : refused) {
    auto a = del(c.body, c.caller);
    EXPECT_EQ(a.status, c.status) << c.caller.user << " " << c.body;
    if (c.status == 403) {
      EXPECT_EQ(a.message(), "only administrators can delete another user's token");
    }
  }
  EXPECT_EQ(get("", admin).num("total"), 5);

  // Their own, by id or secret, in any case of the user name.
  EXPECT_EQ(del(R"({"id":"t-alice"})", alice).status, 200);
  EXPECT_EQ(del(R"({"token":"alice-secret-111111"})", alice).status, 200);
  EXPECT_EQ(del(R"({"id":"t-bob"})", caller_identity{"BOB", false}).status, 200);
  // Administrators delete anyone's, their own included.
  EXPECT_EQ(del(R"({"id":"t-any"})", admin).status, 200);
  EXPECT_EQ(del(R"({"token":"admin-secret-000000"})", admin).status, 200);
  EXPECT_EQ(get("", admin).num("total"), 0);
}

TEST_F(ServicePermissions, SettingsAreForAdministratorsOnly) {
  for (const caller_identity& c : {alice, bob}) {
    for (const std::string body : {R"({"collectUsageDetails":true})", R"({"addAuditRecord":true})",
                                   R"({"secureMode":true})"}) {
      auto a = set(body, c);
      EXPECT_EQ(a.status, 403) << c.user << " " << body;
      EXPECT_EQ(a.message(), "only administrators can change settings");
    }
  }
  EXPECT_FALSE(service->settings().collect_usage_details);
  EXPECT_FALSE(service->settings().secure_mode);
  EXPECT_EQ(set(R"({"collectUsageDetails":true})", admin).status, 200);
  EXPECT_TRUE(service->settings().collect_usage_details);
}

TEST_F(ServicePermissions, AnAdministratorIsWhateverTheFrontEndSays) {
  // The flag, not the name, decides: a user named "admin" without it is an ordinary user.
  const caller_identity pretender{"admin", false};
  EXPECT_EQ(get("", pretender).token_strings("id"), (std::vector<std::string>{"t-admin"}));
  EXPECT_EQ(set(R"({"addAuditRecord":true})", pretender).status, 403);
  EXPECT_EQ(del(R"({"id":"t-bob"})", pretender).status, 403);
}

}  // namespace
}  // namespace tokenguard::testing
