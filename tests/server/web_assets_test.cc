// The status page's embedded files: lookup, content types, ETags that are the content's hash, and
// the rules that keep the page working under jobgw's CSP and offline (checked on the text itself,
// so a violation fails here before any browser runs).
#include "server/web_assets.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdio>
#include <regex>
#include <set>
#include <string>

namespace jobgw::server {
namespace {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  std::string hex;
  for (unsigned char byte : digest) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", byte);
    hex += two;
  }
  return hex;
}

std::string body_of(std::string_view path) {
  const WebAsset* asset = find_web_asset(path);
  return asset ? std::string(asset->body) : std::string();
}

TEST(WebAssetsTest, RootIsTheIndexPage) {
  const WebAsset* root = find_web_asset("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root, find_web_asset("/index.html"));
  EXPECT_EQ(root->path, "/index.html");
  EXPECT_NE(root->body.find("<title>jobgw</title>"), std::string_view::npos);
}

TEST(WebAssetsTest, UnknownOrMalformedPathsAreNotFound) {
  EXPECT_EQ(find_web_asset(""), nullptr);
  EXPECT_EQ(find_web_asset("/nope.js"), nullptr);
  EXPECT_EQ(find_web_asset("app.js"), nullptr);
  EXPECT_EQ(find_web_asset("/app.js?v=1"), nullptr);
  EXPECT_EQ(find_web_asset("/APP.JS"), nullptr);
  EXPECT_EQ(find_web_asset("//app.js"), nullptr);
  EXPECT_EQ(find_web_asset("/../app.js"), nullptr);
}

TEST(WebAssetsTest, ContentTypesFollowTheExtension) {
  ASSERT_NE(find_web_asset("/app.js"), nullptr);
  ASSERT_NE(find_web_asset("/app.css"), nullptr);
  EXPECT_EQ(find_web_asset("/index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_web_asset("/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_web_asset("/app.css")->content_type, "text/css; charset=utf-8");
  ASSERT_NE(find_web_asset("/favicon.svg"), nullptr);
  EXPECT_EQ(find_web_asset("/favicon.svg")->content_type, "image/svg+xml");
}

TEST(WebAssetsTest, EveryAssetIsFoundByItsPathWithAnETagOfItsContent) {
  ASSERT_GE(web_asset_count(), 4u);
  std::set<std::string_view> etags;
  for (std::size_t i = 0; i < web_asset_count(); ++i) {
    const WebAsset& asset = web_asset_at(i);
    SCOPED_TRACE(std::string(asset.path));
    EXPECT_EQ(find_web_asset(asset.path), &asset);
    EXPECT_FALSE(asset.body.empty());
    // A strong ETag: the first 16 hex digits of the body's SHA-256, quoted.
    EXPECT_EQ(asset.etag, "\"" + sha256_hex(asset.body).substr(0, 16) + "\"");
    etags.insert(asset.etag);
  }
  EXPECT_EQ(etags.size(), web_asset_count());
}

TEST(WebAssetsTest, EveryFileTheIndexPageLoadsIsEmbedded) {
  const std::string index = body_of("/index.html");
  const std::regex reference(R"re((?:src|href)="([^"]*)")re");
  int references = 0;
  for (auto it = std::sregex_iterator(index.begin(), index.end(), reference);
       it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[1];
    ++references;
    EXPECT_NE(find_web_asset(target), nullptr) << target;
  }
  EXPECT_GE(references, 3);
}

// jobgw's CSP allows same-origin scripts and styles only: no inline script or style, no style
// attributes, no eval; and the page must work without the internet.
TEST(WebAssetsTest, ThePageNeedsNoInlineCodeAndNothingFromElsewhere) {
  const std::string index = body_of("/index.html");
  const std::regex script_tag(R"re(<script\b[^>]*>)re");
  int scripts = 0;
  for (auto it = std::sregex_iterator(index.begin(), index.end(), script_tag);
       it != std::sregex_iterator(); ++it) {
    ++scripts;
    EXPECT_NE(it->str().find("src=\"/"), std::string::npos) << it->str();
  }
  EXPECT_GE(scripts, 1);
  EXPECT_EQ(index.find("<style"), std::string::npos);
  EXPECT_EQ(index.find(" style="), std::string::npos);
  EXPECT_FALSE(std::regex_search(index, std::regex(R"re(\son[a-z]+\s*=)re")))
      << "an inline event handler";

  const std::string js = body_of("/app.js");
  for (const char* banned :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
        "setAttribute('style'", "console.log", "console.info", "console.debug"}) {
    EXPECT_EQ(js.find(banned), std::string::npos) << banned;
  }
  for (const char* path : {"/index.html", "/app.js", "/app.css"}) {
    const std::string body = body_of(path);
    EXPECT_EQ(body.find("http://"), std::string::npos) << path;
    EXPECT_EQ(body.find("https://"), std::string::npos) << path;
    EXPECT_EQ(body.find("@import"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace jobgw::server
