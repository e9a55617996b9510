#include "core/security/credentials.h"

#include <gtest/gtest.h>

#include <fstream>

namespace jobgw::core {
namespace {

// SHA-256("s3cret-logcheck") etc. are computed by the code under test's own helper only in
// TokenHashIsSha256Hex, which pins it against a known vector; elsewhere the helper builds files.
std::string entry(const std::string& name, const std::string& token, const std::string& scopes,
                  const std::string& operations, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "token_sha256": ")" + token_sha256_hex(token) +
         R"(", "scopes": )" + scopes + R"(, "operations": )" + operations + extra + "}";
}

Credentials parse_ok(const std::string& text) {
  auto c = Credentials::parse(text);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(c.value()) : Credentials{};
}

std::string parse_error(const std::string& text) {
  auto c = Credentials::parse(text);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.error().message;
}

TEST(Credentials, TokenHashIsSha256Hex) {
  EXPECT_EQ(token_sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Credentials, AuthenticatesByTokenOnly) {
  auto creds =
      parse_ok(R"({"callers": [)" + entry("logcheck", "tok-a", R"(["biz:1"])", R"(["read"])") +
               "," + entry("installer", "tok-b", R"(["biz_set:*"])", R"(["execute"])") + "]}");
  ASSERT_EQ(creds.callers().size(), 2u);
  const Caller* a = creds.authenticate("tok-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "logcheck");
  const Caller* b = creds.authenticate("tok-b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "installer");
  EXPECT_EQ(creds.authenticate("tok-c"), nullptr);
  EXPECT_EQ(creds.authenticate(""), nullptr);
  EXPECT_EQ(creds.authenticate("tok-a "), nullptr);
}

TEST(Credentials, ScopeAndOperationGrants) {
  auto creds =
      parse_ok(R"({"callers": [)" +
               entry("svc", "t", R"(["biz:1", "biz_set:*"])", R"(["read", "execute"])") + "]}");
  const Caller& c = creds.callers()[0];
  EXPECT_FALSE(refusal(c, Scope{"biz", "1"}, Operation::kRead));
  EXPECT_FALSE(refusal(c, Scope{"biz", "1"}, Operation::kExecute));
  EXPECT_FALSE(refusal(c, Scope{"biz_set", "42"}, Operation::kRead));
  auto scope_refused = refusal(c, Scope{"biz", "2"}, Operation::kRead);
  ASSERT_TRUE(scope_refused);
  EXPECT_EQ(*scope_refused, "caller svc has no grant for scope biz:2");
  auto op_refused = refusal(c, Scope{"biz", "1"}, Operation::kTerminate);
  ASSERT_TRUE(op_refused);
  EXPECT_EQ(*op_refused, "caller svc may not terminate");
  EXPECT_TRUE(refusal(c, Scope{"biz", "1"}, Operation::kTransfer));
}

TEST(Credentials, StarScopeCoversEveryScope) {
  auto creds = parse_ok(
      R"({"callers": [)" +
      entry("ops", "t", R"(["*"])", R"(["execute", "transfer", "read", "terminate"])") + "]}");
  EXPECT_FALSE(refusal(creds.callers()[0], Scope{"biz_set", "9"}, Operation::kTransfer));
  EXPECT_FALSE(refusal(creds.callers()[0], Scope{"biz", "77"}, Operation::kTerminate));
}

TEST(Credentials, OperatorIsTheEntrysUnlessOverrideAllowed) {
  auto creds = parse_ok(
      R"({"callers": [)" +
      entry("fixed", "t1", R"(["biz:1"])", R"(["execute"])", R"(, "operator": "svc-fixed")") + "," +
      entry("free", "t2", R"(["biz:1"])", R"(["execute"])",
            R"(, "operator": "svc-free", "operator_override": true)") +
      "]}");
  const Caller& fixed = creds.callers()[0];
  const Caller& free = creds.callers()[1];
  EXPECT_EQ(effective_operator(fixed, "").value(), "svc-fixed");
  EXPECT_EQ(effective_operator(fixed, "svc-fixed").value(), "svc-fixed");
  auto refused = effective_operator(fixed, "root");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "caller fixed may not run as operator root");
  EXPECT_EQ(effective_operator(free, "").value(), "svc-free");
  EXPECT_EQ(effective_operator(free, "alice").value(), "alice");
}

TEST(Credentials, CertificateNamesAuthenticate) {
  auto creds = parse_ok(
      R"({"callers": [{"name": "mtls", "certificate_names": ["agent.svc"], "scopes": ["biz:1"],
          "operations": ["read"]}]})");
  const Caller* c = creds.by_certificate("agent.svc");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "mtls");
  EXPECT_EQ(creds.by_certificate("other.svc"), nullptr);
  EXPECT_EQ(creds.authenticate("anything"), nullptr);  // no token: certificate only
}

TEST(Credentials, RefusesPlainTextTokens) {
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "x", "token": "hunter2", "scopes": ["biz:1"],
                           "operations": ["read"]}]})"),
            "callers[0].token: plain-text tokens are not accepted; store its SHA-256 as "
            "token_sha256 (jobctl token hash)");
}

TEST(Credentials, MalformedEntriesNameEntryAndField) {
  const std::string h = token_sha256_hex("t");
  EXPECT_EQ(parse_error("not json"), "credentials: not valid JSON");
  EXPECT_EQ(parse_error(R"({"users": []})"), "credentials: users: unknown field");
  EXPECT_EQ(parse_error(R"({"callers": [{"token_sha256": ")" + h +
                        R"(", "scopes": ["biz:1"], "operations": ["read"]}]})"),
            "callers[0].name: required");
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "a", "token_sha256": "abc", "scopes": ["biz:1"],
                           "operations": ["read"]}]})"),
            "callers[0] (a).token_sha256: expected 64 hex digits");
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "a", "token_sha256": ")" + h +
                        R"(", "scopes": ["biz:one"], "operations": ["read"]}]})"),
            "callers[0] (a).scopes: \"biz:one\" is not biz:<id>, biz_set:<id>, biz:*, biz_set:* "
            "or *");
  EXPECT_EQ(
      parse_error(R"({"callers": [{"name": "a", "token_sha256": ")" + h +
                  R"(", "scopes": ["biz:1"], "operations": ["delete"]}]})"),
      "callers[0] (a).operations: \"delete\" is not execute, transfer, read, terminate or operate");
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "a", "token_sha256": ")" + h +
                        R"(", "scopes": [], "operations": ["read"]}]})"),
            "callers[0] (a).scopes: required, at least one");
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "a", "token_sha256": ")" + h +
                        R"(", "scopes": ["biz:1"], "operations": ["read"], "admin": true}]})"),
            "callers[0].admin: unknown field");
  EXPECT_EQ(parse_error(R"({"callers": [{"name": "a", "scopes": ["biz:1"],
                           "operations": ["read"]}]})"),
            "callers[0] (a): needs token_sha256 or certificate_names to authenticate");
}

TEST(Credentials, DuplicateNamesAndTokensAreRefused) {
  EXPECT_EQ(parse_error(R"({"callers": [)" + entry("a", "t1", R"(["biz:1"])", R"(["read"])") + "," +
                        entry("a", "t2", R"(["biz:1"])", R"(["read"])") + "]}"),
            "callers[1].name: a repeats");
  EXPECT_EQ(parse_error(R"({"callers": [)" + entry("a", "same", R"(["biz:1"])", R"(["read"])") +
                        "," + entry("b", "same", R"(["biz:1"])", R"(["read"])") + "]}"),
            "callers[1] (b).token_sha256: another caller has this token");
}

TEST(Credentials, LoadNamesTheFile) {
  const std::string path = ::testing::TempDir() + "/jobgw-credentials-test.json";
  {
    std::ofstream out(path);
    out << R"({"callers": [)" << entry("a", "t", R"(["biz:1"])", R"(["read"])") << "]}";
  }
  auto ok = Credentials::load(path);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_NE(ok.value().authenticate("t"), nullptr);
  {
    std::ofstream out(path);
    out << "{";
  }
  auto bad = Credentials::load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ": credentials: not valid JSON");
  auto missing = Credentials::load(path + ".missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "credentials: cannot read " + path + ".missing");
}

}  // namespace
}  // namespace jobgw::core
