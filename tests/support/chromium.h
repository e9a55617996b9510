#pragma once

// A headless Chromium for browser tests, driven over the Chrome DevTools Protocol (CDP): one
// browser process with a fresh profile, one page, and a websocket to that page. Commands are
// answered synchronously; events (page loads, console errors, exceptions, CSP violations) are
// collected by a reader thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jobgw::testing {

// The answer to one CDP command: its "result" object, or why there is none (the browser's error
// message, a timeout, a lost connection).
struct CdpReply {
  bool ok = false;
  nlohmann::json result;
  std::string error;
};

class Chromium {
 public:
  // Starts `chromium --headless=new --no-sandbox --disable-gpu --remote-debugging-port=0
  // --user-data-dir=<fresh temp dir> --window-size=1280,900 about:blank` (with switches that keep
  // it off the network), reads the port from <user-data-dir>/DevToolsActivePort and connects to the
  // page target's websocket. The binary is $JOBGW_CHROMIUM when set, else the first of
  // /usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome that exists. Null with
  // *error set when chromium is missing or does not start: tests must fail then, not skip.
  static std::unique_ptr<Chromium> launch(std::string* error);
  // Closes the browser, kills its process group and removes the profile.
  ~Chromium();
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Loads `url` in the page and waits for its load event. False when the navigation failed (DNS,
  // connection refused) or did not finish in time. A change of the fragment alone returns at once.
  bool navigate(const std::string& url,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Runtime.evaluate with returnByValue and awaitPromise: the expression's value as JSON (null
  // for undefined). A thrown exception, a protocol error or a timeout gives an object with one key,
  // "exception", holding its description.
  nlohmann::json evaluate(const std::string& expression,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Polls evaluate(expression) every 100 ms until it yields true; false on timeout.
  bool wait_for(const std::string& expression, std::chrono::milliseconds timeout);
  // Page.captureScreenshot of the viewport into `png_path` (parent folders are created).
  bool screenshot(const std::string& png_path);
  // Emulation.setDeviceMetricsOverride: the page lays out as in a window of this size.
  void set_viewport(int width, int height);
  // Presses and releases one key in the focused element, as a user would (Input domain): "Tab",
  // "Enter", " " (space), "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End",
  // "Escape", or a single printable ASCII character.
  bool press_key(const std::string& key, bool shift = false);

  // Console errors (console.error/assert), uncaught exceptions, and the browser's own error
  // messages (CSP violations, failed loads) seen so far, oldest first.
  std::vector<std::string> console_errors() const;
  void clear_console_errors();

  // Any CDP command on the page's session.
  CdpReply call(const std::string& method, nlohmann::json params = nlohmann::json::object(),
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // What the browser process printed, for a failing test's message.
  std::string process_log() const;

  struct Impl;

 private:
  explicit Chromium(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobgw::testing
