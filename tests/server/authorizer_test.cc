#include "server/authorizer.h"

#include <gtest/gtest.h>

namespace jobgw::server {
namespace {

using core::Operation;

// Two callers: a reader of biz:1 only, and an operator of every biz that may run as anyone and
// is also known by a client certificate name.
core::Credentials credentials() {
  const std::string text = R"({"callers": [
    {"name": "dashboard", "token_sha256": ")" +
                           core::token_sha256_hex("tok-dashboard") + R"(",
     "scopes": ["biz:1"], "operations": ["read"], "operator": "svc-dash"},
    {"name": "deployer", "token_sha256": ")" +
                           core::token_sha256_hex("tok-deployer") + R"(",
     "scopes": ["biz:*", "biz_set:7"], "operations": ["execute", "transfer", "terminate", "read"],
     "operator": "svc-deploy", "operator_override": true,
     "certificate_names": ["deployer.svc.cluster.local"]},
    {"name": "certonly", "scopes": ["biz:3"], "operations": ["read"],
     "certificate_names": ["certonly.example"]}
  ]})";
  auto parsed = core::Credentials::parse(text);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return std::move(parsed.value());
}

Presented token(const std::string& t) { return Presented{{"Bearer " + t}, {}}; }
Presented certificate(std::vector<std::string> names) { return Presented{{}, std::move(names)}; }

core::Scope biz(const std::string& id) { return core::Scope{"biz", id}; }

class AuthorizerTest : public ::testing::Test {
 protected:
  Decision decide(const Presented& p, const core::Scope& scope, Operation op,
                  const std::string& requested_operator = {}) {
    return authorizer_.authorize(authorizer_.authenticate(p), scope, op, requested_operator);
  }

  Authorizer authorizer_{credentials()};
};

TEST_F(AuthorizerTest, MissingTokenIsUnauthenticatedAndSaysHowToSendOne) {
  Identity id = authorizer_.authenticate(Presented{});
  EXPECT_FALSE(id.ok());
  EXPECT_EQ(id.status.code, StatusCode::kUnauthenticated);
  EXPECT_NE(id.status.message.find("authorization: Bearer"), std::string::npos);
  EXPECT_EQ(id.reason, "missing_token");
  EXPECT_EQ(id.name(), "unauthenticated");
}

TEST_F(AuthorizerTest, UnknownTokenIsUnauthenticatedWithoutEchoingIt) {
  Identity id = authorizer_.authenticate(token("tok-guessed-XYZ"));
  EXPECT_EQ(id.status.code, StatusCode::kUnauthenticated);
  EXPECT_EQ(id.status.message, "unknown token");
  EXPECT_EQ(id.reason, "bad_token");
}

TEST_F(AuthorizerTest, NonBearerOrRepeatedAuthorizationIsRefusedWithoutEcho) {
  Identity basic = authorizer_.authenticate(Presented{{"Basic tok-dashboard"}, {}});
  EXPECT_EQ(basic.status.code, StatusCode::kUnauthenticated);
  EXPECT_EQ(basic.status.message.find("tok-dashboard"), std::string::npos);
  Identity twice =
      authorizer_.authenticate(Presented{{"Bearer tok-dashboard", "Bearer tok-deployer"}, {}});
  EXPECT_EQ(twice.status.code, StatusCode::kUnauthenticated);
  Identity empty = authorizer_.authenticate(Presented{{"Bearer "}, {}});
  EXPECT_EQ(empty.status.code, StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, BearerSchemeIsCaseInsensitive) {
  Identity id = authorizer_.authenticate(Presented{{"bearer tok-dashboard"}, {}});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.name(), "dashboard");
}

TEST_F(AuthorizerTest, GrantedOperationInExactScopeRunsAsTheCallersOperator) {
  Decision d = decide(token("tok-dashboard"), biz("1"), Operation::kRead);
  ASSERT_TRUE(d.ok()) << d.status.message;
  EXPECT_EQ(d.job_operator, "svc-dash");
}

TEST_F(AuthorizerTest, OperationNotGrantedNamesCallerAndOperation) {
  Decision d = decide(token("tok-dashboard"), biz("1"), Operation::kExecute);
  EXPECT_EQ(d.status.code, StatusCode::kPermissionDenied);
  EXPECT_EQ(d.status.message, "caller dashboard may not execute");
  EXPECT_EQ(d.reason, "operation");
}

TEST_F(AuthorizerTest, OtherScopeNamesCallerAndScope) {
  Decision d = decide(token("tok-dashboard"), biz("2"), Operation::kRead);
  EXPECT_EQ(d.status.code, StatusCode::kPermissionDenied);
  EXPECT_EQ(d.status.message, "caller dashboard has no grant for scope biz:2");
  EXPECT_EQ(d.reason, "scope");
}

TEST_F(AuthorizerTest, WildcardScopeCoversEveryIdOfItsTypeOnly) {
  EXPECT_TRUE(decide(token("tok-deployer"), biz("12345"), Operation::kExecute).ok());
  EXPECT_TRUE(
      decide(token("tok-deployer"), core::Scope{"biz_set", "7"}, Operation::kTerminate).ok());
  Decision other_set =
      decide(token("tok-deployer"), core::Scope{"biz_set", "8"}, Operation::kTerminate);
  EXPECT_EQ(other_set.status.code, StatusCode::kPermissionDenied);
  EXPECT_EQ(other_set.reason, "scope");
}

TEST_F(AuthorizerTest, OperatorOverrideOnlyWhenTheEntryAllowsIt) {
  Decision allowed = decide(token("tok-deployer"), biz("1"), Operation::kExecute, "alice");
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed.job_operator, "alice");

  Decision refused = decide(token("tok-dashboard"), biz("1"), Operation::kRead, "alice");
  EXPECT_EQ(refused.status.code, StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status.message, "caller dashboard may not run as operator alice");
  EXPECT_EQ(refused.reason, "operator");

  // Naming one's own operator is no override.
  EXPECT_TRUE(decide(token("tok-dashboard"), biz("1"), Operation::kRead, "svc-dash").ok());
}

TEST_F(AuthorizerTest, CertificateNamesMapToTheirCaller) {
  Identity id =
      authorizer_.authenticate(certificate({"unrelated-cn", "deployer.svc.cluster.local"}));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.name(), "deployer");
  Decision d = decide(certificate({"certonly.example"}), biz("3"), Operation::kRead);
  EXPECT_TRUE(d.ok()) << d.status.message;
  EXPECT_EQ(d.job_operator, "");  // no operator in the entry: jobgw's default
}

TEST_F(AuthorizerTest, UnknownCertificateIsUnauthenticatedNamingIt) {
  Identity id = authorizer_.authenticate(certificate({"stranger.example"}));
  EXPECT_EQ(id.status.code, StatusCode::kUnauthenticated);
  EXPECT_NE(id.status.message.find("stranger.example"), std::string::npos);
  EXPECT_EQ(id.reason, "unknown_certificate");
}

TEST_F(AuthorizerTest, ABearerTokenDecidesEvenWithACertificate) {
  Presented both{{"Bearer tok-dashboard"}, {"deployer.svc.cluster.local"}};
  EXPECT_EQ(authorizer_.authenticate(both).name(), "dashboard");
  Presented bad_token{{"Bearer nope"}, {"deployer.svc.cluster.local"}};
  EXPECT_FALSE(authorizer_.authenticate(bad_token).ok());
}

TEST_F(AuthorizerTest, ReplaceTakesEffectForNewCallsAndKeepsIdentitiesAlive) {
  Identity before = authorizer_.authenticate(token("tok-dashboard"));
  ASSERT_TRUE(before.ok());
  auto fresh = core::Credentials::parse(R"({"callers": [{"name": "newcomer", "token_sha256": ")" +
                                        core::token_sha256_hex("tok-new") +
                                        R"(", "scopes": ["*"], "operations": ["read"]}]})");
  ASSERT_TRUE(fresh.ok());
  authorizer_.replace(std::move(fresh.value()));
  EXPECT_FALSE(authorizer_.authenticate(token("tok-dashboard")).ok());
  EXPECT_EQ(authorizer_.authenticate(token("tok-new")).name(), "newcomer");
  // The identity found before the reload still points at live data.
  EXPECT_EQ(before.name(), "dashboard");
  EXPECT_TRUE(authorizer_.authorize(before, biz("1"), Operation::kRead, {}).ok());
}

TEST(InsecureDevAuthorizer, AllowsEverythingAsAnonymous) {
  auto a = Authorizer::insecure_dev();
  EXPECT_TRUE(a->insecure());
  Identity id = a->authenticate(Presented{});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.name(), "anonymous");
  Decision d = a->authorize(id, core::Scope{"biz_set", "9"}, Operation::kTerminate, {});
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.job_operator, "");  // jobgw's default operator
  EXPECT_EQ(a->authorize(id, biz("1"), Operation::kExecute, "bob").job_operator, "bob");
}

}  // namespace
}  // namespace jobgw::server
