// The CDP harness itself, against small pages from a fake server: evaluation, waiting, navigation
// errors, screenshots, key presses, and the console errors a page test relies on to catch CSP
// violations and exceptions.
#include "tests/support/chromium.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>

#include "tests/support/fake_http_server.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

FakeResponse page(std::string body, std::string type = "text/html; charset=utf-8") {
  FakeResponse r;
  r.headers = {{"Content-Type", std::move(type)}, {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

class ChromiumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    browser_ = Chromium::launch(&error);
    ASSERT_NE(browser_, nullptr) << error;
  }

  std::unique_ptr<Chromium> browser_;
};

TEST_F(ChromiumTest, EvaluatesExpressionsAndWaitsForThePage) {
  FakeHttpServer server([](const RecordedRequest& req) {
    if (req.target == "/late.js") {
      return page("setTimeout(() => { document.body.dataset.ready = 'yes'; }, 300);",
                  "text/javascript");
    }
    return page(
        "<!DOCTYPE html><html><body><p id=\"greeting\">hello</p>"
        "<script src=\"/late.js\"></script></body></html>");
  });
  ASSERT_TRUE(browser_->navigate(server.base_url() + "/")) << browser_->process_log();

  EXPECT_EQ(browser_->evaluate("document.getElementById('greeting').textContent"), "hello");
  EXPECT_EQ(browser_->evaluate("6 * 7"), 42);
  EXPECT_EQ(browser_->evaluate("new Promise((r) => setTimeout(() => r('later'), 50))"), "later");
  EXPECT_EQ(browser_->evaluate("({a: [1, 'two']})"), nlohmann::json({{"a", {1, "two"}}}));
  EXPECT_TRUE(browser_->evaluate("undefined").is_null());

  const auto thrown = browser_->evaluate("(() => { throw new Error('nope'); })()");
  ASSERT_TRUE(thrown.is_object() && thrown.contains("exception")) << thrown.dump();
  EXPECT_NE(thrown["exception"].get<std::string>().find("nope"), std::string::npos);
  const auto rejected = browser_->evaluate("Promise.reject(new Error('refused'))");
  ASSERT_TRUE(rejected.is_object() && rejected.contains("exception")) << rejected.dump();

  EXPECT_TRUE(browser_->wait_for("document.body.dataset.ready === 'yes'", seconds(10)));
  EXPECT_FALSE(browser_->wait_for("document.body.dataset.ready === 'never'", milliseconds(300)));
  // Anything but the boolean true keeps waiting.
  EXPECT_FALSE(browser_->wait_for("'true'", milliseconds(300)));
}

TEST_F(ChromiumTest, NavigateTellsAFailedLoadAndFollowsFragments) {
  FakeHttpServer server(
      [](const RecordedRequest&) { return page("<!DOCTYPE html><html><body>here</body></html>"); });
  const std::string base = server.base_url();
  // Port 1 on loopback: connection refused.
  EXPECT_FALSE(browser_->navigate("http://127.0.0.1:1/", seconds(10)));

  ASSERT_TRUE(browser_->navigate(base + "/first"));
  EXPECT_EQ(browser_->evaluate("location.pathname"), "/first");
  ASSERT_TRUE(browser_->navigate(base + "/first#part"));
  EXPECT_EQ(browser_->evaluate("location.hash"), "#part");
  ASSERT_TRUE(browser_->navigate(base + "/second"));
  EXPECT_EQ(browser_->evaluate("location.pathname"), "/second");
  std::size_t page_loads = 0;
  for (const auto& r : server.requests())
    page_loads += r.target == "/first" || r.target == "/second";
  EXPECT_EQ(page_loads, 2u);
}

TEST_F(ChromiumTest, ScreenshotIsAPngOfTheViewport) {
  FakeHttpServer server([](const RecordedRequest&) {
    return page("<!DOCTYPE html><html><body><h1>screenshot</h1></body></html>");
  });
  browser_->set_viewport(640, 480);
  ASSERT_TRUE(browser_->navigate(server.base_url() + "/"));
  EXPECT_EQ(browser_->evaluate("[innerWidth, innerHeight]"), nlohmann::json({640, 480}));

  const std::string path = std::string(JOBGW_BROWSER_OUTPUT_DIR) + "/harness-viewport.png";
  std::remove(path.c_str());
  ASSERT_TRUE(browser_->screenshot(path));
  std::ifstream in(path, std::ios::binary);
  const std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: big-endian width and height right after the chunk type.
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), 640);
  EXPECT_EQ(be32(20), 480);
}

TEST_F(ChromiumTest, PressKeyTypesTabsAndActivates) {
  FakeHttpServer server([](const RecordedRequest& req) {
    if (req.target == "/keys.js") {
      return page(
          "document.getElementById('go').addEventListener('click', () => {"
          "  document.body.dataset.clicked = document.getElementById('field').value; });",
          "text/javascript");
    }
    return page(
        "<!DOCTYPE html><html><body><input id=\"field\"><button id=\"go\">Go</button>"
        "<script src=\"/keys.js\"></script></body></html>");
  });
  ASSERT_TRUE(browser_->navigate(server.base_url() + "/"));
  browser_->evaluate("document.getElementById('field').focus()");
  for (const char* key : {"a", "B", "7", " ", "z"}) ASSERT_TRUE(browser_->press_key(key));
  EXPECT_EQ(browser_->evaluate("document.getElementById('field').value"), "aB7 z");
  ASSERT_TRUE(browser_->press_key("Tab"));
  EXPECT_EQ(browser_->evaluate("document.activeElement.id"), "go");
  ASSERT_TRUE(browser_->press_key("Enter"));
  EXPECT_TRUE(browser_->wait_for("document.body.dataset.clicked === 'aB7 z'", seconds(5)));
  ASSERT_TRUE(browser_->press_key("Tab", /*shift=*/true));
  EXPECT_EQ(browser_->evaluate("document.activeElement.id"), "field");
  EXPECT_FALSE(browser_->press_key("NoSuchKey"));
}

TEST_F(ChromiumTest, CollectsCspViolationsExceptionsAndConsoleErrors) {
  FakeHttpServer server([](const RecordedRequest& req) {
    if (req.target == "/bad.js") {
      return page(
          "console.error('from console', 42);"
          "setTimeout(() => { throw new Error('thrown on purpose'); }, 0);",
          "text/javascript");
    }
    FakeResponse r = page(
        "<!DOCTYPE html><html><head><title>csp</title></head><body>"
        "<script>document.title = 'inline ran';</script>"
        "<script src=\"/bad.js\"></script></body></html>");
    r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; script-src 'self'");
    return r;
  });
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
  ASSERT_TRUE(browser_->navigate(server.base_url() + "/"));

  const bool all_seen = wait_until(
      [&] {
        const auto errors = browser_->console_errors();
        return any_contains(errors, "Content Security Policy") &&
               any_contains(errors, "from console 42") && any_contains(errors, "thrown on purpose");
      },
      seconds(10));
  EXPECT_TRUE(all_seen) << joined(browser_->console_errors());
  EXPECT_EQ(browser_->evaluate("document.title"), "csp");

  browser_->clear_console_errors();
  EXPECT_TRUE(browser_->console_errors().empty());
  browser_->evaluate("console.error('after clearing')");
  EXPECT_TRUE(wait_until([&] { return any_contains(browser_->console_errors(), "after clearing"); },
                         seconds(5)));
}

// Not a fixture test: it must start without a browser.
TEST(ChromiumLaunchTest, FailsWithAReasonWhenTheBinaryCannotRun) {
  const char* previous = std::getenv("JOBGW_CHROMIUM");
  const std::string saved = previous ? previous : "";
  ::setenv("JOBGW_CHROMIUM", "/nonexistent/chromium", 1);
  std::string error;
  auto browser = Chromium::launch(&error);
  if (previous) {
    ::setenv("JOBGW_CHROMIUM", saved.c_str(), 1);
  } else {
    ::unsetenv("JOBGW_CHROMIUM");
  }
  EXPECT_EQ(browser, nullptr);
  EXPECT_NE(error.find("/nonexistent/chromium"), std::string::npos) << error;
}

}  // namespace
}  // namespace jobgw::testing
