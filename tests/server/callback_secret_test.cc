#include "server/callback_secret.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace jobgw::server {
namespace {

// Counting "random" bytes: nonces differ per mint and are reproducible.
CallbackSecret::RandomBytes counting() {
  auto n = std::make_shared<unsigned char>(0);
  return [n](std::size_t size) {
    std::string out(size, '\0');
    for (auto& c : out) c = static_cast<char>((*n)++);
    return out;
  };
}

std::string token_of(const std::string& url) { return url.substr(url.find("token=") + 6); }

TEST(CallbackSecretTest, MintedUrlsVerifyAndCarryDistinctTokens) {
  CallbackSecret secret(std::string(32, 'k'), counting());
  std::string a = secret.mint("http://gw:9/jobgw/v1/callback");
  std::string b = secret.mint("http://gw:9/jobgw/v1/callback");
  EXPECT_EQ(a.rfind("http://gw:9/jobgw/v1/callback?token=", 0), 0u) << a;
  EXPECT_NE(a, b);
  // nonce: 16 bytes as hex, mac: 32 bytes as hex.
  EXPECT_EQ(token_of(a).size(), 32u + 1 + 64u);
  EXPECT_TRUE(secret.verify(a.substr(a.find("/jobgw"))));
  EXPECT_TRUE(secret.verify(b.substr(b.find("/jobgw"))));
}

TEST(CallbackSecretTest, AnExistingQueryIsKept) {
  CallbackSecret secret(std::string(32, 'k'));
  std::string url = secret.mint("https://gw/cb?tenant=a");
  EXPECT_EQ(url.rfind("https://gw/cb?tenant=a&token=", 0), 0u) << url;
  EXPECT_TRUE(secret.verify(url.substr(url.find("/cb"))));
  EXPECT_TRUE(secret.verify("/cb?x=1&token=" + token_of(url) + "&y=2"));
}

TEST(CallbackSecretTest, ForgeriesFail) {
  CallbackSecret secret(std::string(32, 'k'));
  CallbackSecret other(std::string(32, 'o'));
  std::string token = token_of(secret.mint("/cb"));
  std::string nonce = token.substr(0, 32);
  std::string mac = token.substr(33);
  std::string flipped = mac;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  std::string upper = nonce;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string forged[] = {
      "/cb",
      "/cb?token=",
      "/cb?token=" + nonce,
      "/cb?token=" + nonce + ".",
      "/cb?token=" + nonce + "." + flipped,
      "/cb?token=" + nonce + "." + mac.substr(0, 63),
      "/cb?token=" + nonce + "." + mac + "0",
      "/cb?token=" + std::string(32, '0') + "." + mac,
      "/cb?token=" + upper + "." + mac,
      "/cb?tokens=" + token,
      "/cb#token=" + token,
      "/cb?token=" + token_of(other.mint("/cb")),
  };
  for (const auto& target : forged) EXPECT_FALSE(secret.verify(target)) << target;
  EXPECT_TRUE(secret.verify("/cb?token=" + token));
}

TEST(CallbackSecretTest, LogsSeeUrlsWithoutTheirQuery) {
  EXPECT_EQ(CallbackSecret::without_query("http://gw/cb?token=abc.def"), "http://gw/cb");
  EXPECT_EQ(CallbackSecret::without_query("http://gw/cb"), "http://gw/cb");
}

class KeyFileTest : public ::testing::Test {
 protected:
  ~KeyFileTest() override { std::remove(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "jobgw-callback-key-" +
                      std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
};

TEST_F(KeyFileTest, CreatedPrivateAndReusedAcrossLoads) {
  std::remove(path_.c_str());
  auto first = CallbackSecret::load_or_create(path_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string url = first.value().mint("/cb");
  auto second = CallbackSecret::load_or_create(path_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second.value().verify(url));
  EXPECT_FALSE(CallbackSecret::ephemeral().verify(url));
}

TEST_F(KeyFileTest, UnusableFilesAreErrorsNamingTheFile) {
  std::ofstream(path_) << "not hex\n";
  auto bad = CallbackSecret::load_or_create(path_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("callback.secret_file " + path_), std::string::npos);
  std::ofstream(path_, std::ios::trunc) << std::string(62, 'a') << "\n";  // 31 bytes: too short
  EXPECT_FALSE(CallbackSecret::load_or_create(path_).ok());
  auto missing_dir = CallbackSecret::load_or_create("/nonexistent-dir/key");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.error().message.find("/nonexistent-dir/key"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::server
