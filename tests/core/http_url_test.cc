#include "core/http/http_url.h"

#include <gtest/gtest.h>

namespace jobgw::core {
namespace {

TEST(HttpUrlTest, HttpWithDefaultPort) {
  auto ep = parse_http_url("http://job.example.com");
  ASSERT_TRUE(ep.ok()) << ep.error().message;
  EXPECT_EQ(ep->scheme, "http");
  EXPECT_EQ(ep->host, "job.example.com");
  EXPECT_EQ(ep->port, 80);
  EXPECT_EQ(ep->base_path, "");
  EXPECT_FALSE(ep->tls());
  EXPECT_EQ(ep->host_header(), "job.example.com");
}

TEST(HttpUrlTest, HttpsWithPortAndBasePath) {
  auto ep = parse_http_url("HTTPS://BkApi.Example.com:8443/api/bk-job/prod/");
  ASSERT_TRUE(ep.ok()) << ep.error().message;
  EXPECT_EQ(ep->scheme, "https");
  EXPECT_EQ(ep->host, "bkapi.example.com");
  EXPECT_EQ(ep->port, 8443);
  EXPECT_EQ(ep->base_path, "/api/bk-job/prod");
  EXPECT_TRUE(ep->tls());
  EXPECT_EQ(ep->host_header(), "bkapi.example.com:8443");
  EXPECT_EQ(ep->to_string(), "https://bkapi.example.com:8443/api/bk-job/prod");
}

TEST(HttpUrlTest, HttpsDefaultPortIsOmittedFromHostHeader) {
  auto ep = parse_http_url("https://job.example.com/");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->port, 443);
  EXPECT_EQ(ep->base_path, "");
  EXPECT_EQ(ep->host_header(), "job.example.com");
}

TEST(HttpUrlTest, Ipv6Literal) {
  auto ep = parse_http_url("http://[::1]:8080/base");
  ASSERT_TRUE(ep.ok()) << ep.error().message;
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 8080);
  EXPECT_EQ(ep->base_path, "/base");
  EXPECT_TRUE(ep->host_is_ip_literal());
  EXPECT_EQ(ep->host_header(), "[::1]:8080");
  EXPECT_EQ(ep->to_string(), "http://[::1]:8080/base");

  auto no_port = parse_http_url("https://[fe80::1]");
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->port, 443);
  EXPECT_EQ(no_port->host_header(), "[fe80::1]");
}

TEST(HttpUrlTest, Ipv4LiteralAndHostName) {
  auto ip = parse_http_url("http://127.0.0.1:1");
  ASSERT_TRUE(ip.ok());
  EXPECT_TRUE(ip->host_is_ip_literal());
  EXPECT_EQ(ip->port, 1);
  auto name = parse_http_url("http://localhost:65535");
  ASSERT_TRUE(name.ok());
  EXPECT_FALSE(name->host_is_ip_literal());
  EXPECT_EQ(name->port, 65535);
}

TEST(HttpUrlTest, RejectsMalformedUrls) {
  for (const char* url : {"",
                          "job.example.com",
                          "ftp://job.example.com",
                          "http://",
                          "http://:80",
                          "http://host:",
                          "http://host:0",
                          "http://host:65536",
                          "http://host:123456",
                          "http://host:8o",
                          "http://user:secret@host/",
                          "http://host/base?x=1",
                          "http://host/base#frag",
                          "http://[::1",
                          "http://[::1]x",
                          "http://[::1]:",
                          "http://[not-an-ip]/",
                          "http://[127.0.0.1]/",
                          "http://ho st/",
                          "http://host/a b",
                          "http://host\n/",
                          "http://h%41st/"}) {
    auto ep = parse_http_url(url);
    EXPECT_FALSE(ep.ok()) << "accepted: " << url;
    if (!ep.ok()) {
      EXPECT_EQ(ep.error().kind, ErrorKind::kInvalidArgument) << url;
    }
  }
}

TEST(HttpUrlTest, ErrorNamesTheUrl) {
  auto ep = parse_http_url("gopher://x");
  ASSERT_FALSE(ep.ok());
  EXPECT_NE(ep.error().message.find("gopher://x"), std::string::npos);
}

TEST(HttpUrlTest, UserInfoIsNotEchoedInTheError) {
  auto ep = parse_http_url("https://app:s3cret@job.example.com/");
  ASSERT_FALSE(ep.ok());
  EXPECT_EQ(ep.error().message.find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
