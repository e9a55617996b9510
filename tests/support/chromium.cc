#include "tests/support/chromium.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace jobgw::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A page that fails its test is worth a screenshot; far bigger answers mean a broken browser.
constexpr std::size_t kMaxMessageBytes = 256u << 20;
// Page loads seen but not yet asked about are kept this long (navigate() asks about its own).
constexpr std::size_t kLoadedLoadersKept = 64;

std::string find_binary() {
  if (const char* env = std::getenv("JOBGW_CHROMIUM"); env != nullptr && *env != '\0') return env;
  for (const char* candidate :
       {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// DevToolsActivePort holds the port on its first line once the browser listens.
int read_devtools_port(const std::string& path) {
  const std::string content = read_file(path);
  const auto newline = content.find('\n');
  if (newline == std::string::npos || newline == 0) return 0;
  int port = 0;
  for (std::size_t i = 0; i < newline; ++i) {
    const char c = content[i];
    if (c < '0' || c > '9') return 0;
    port = port * 10 + (c - '0');
    if (port > 65535) return 0;
  }
  return port;
}

std::optional<std::string> decode_base64(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  unsigned int buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// A console argument as the console would print it.
std::string describe_remote_object(const json& arg) {
  if (!arg.is_object()) return arg.dump();
  if (arg.contains("value")) {
    const json& v = arg["value"];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (arg.contains("description") && arg["description"].is_string()) {
    return arg["description"].get<std::string>();
  }
  return arg.value("type", std::string("?"));
}

struct KeySpec {
  std::string key;
  std::string code;
  int key_code = 0;
  std::string text;
};

std::optional<KeySpec> key_spec(const std::string& key) {
  static const std::map<std::string, KeySpec> named = {
      {"Enter", {"Enter", "Enter", 13, "\r"}},
      {" ", {" ", "Space", 32, " "}},
      {"Tab", {"Tab", "Tab", 9, ""}},
      {"Escape", {"Escape", "Escape", 27, ""}},
      {"ArrowLeft", {"ArrowLeft", "ArrowLeft", 37, ""}},
      {"ArrowUp", {"ArrowUp", "ArrowUp", 38, ""}},
      {"ArrowRight", {"ArrowRight", "ArrowRight", 39, ""}},
      {"ArrowDown", {"ArrowDown", "ArrowDown", 40, ""}},
      {"Home", {"Home", "Home", 36, ""}},
      {"End", {"End", "End", 35, ""}},
  };
  if (auto it = named.find(key); it != named.end()) return it->second;
  if (key.size() == 1 && key[0] > ' ' && key[0] < 127) {
    const char c = key[0];
    KeySpec spec{key, "", 0, key};
    if (c >= 'a' && c <= 'z') {
      spec.key_code = c - 'a' + 'A';
      spec.code = std::string("Key") + static_cast<char>(spec.key_code);
    } else if (c >= 'A' && c <= 'Z') {
      spec.key_code = c;
      spec.code = std::string("Key") + c;
    } else if (c >= '0' && c <= '9') {
      spec.key_code = c;
      spec.code = std::string("Digit") + c;
    }
    return spec;
  }
  return std::nullopt;
}

}  // namespace

struct Chromium::Impl {
  TempDir dir{"jobgw-chromium"};
  std::unique_ptr<ChildProcess> process;

  net::io_context ioc;
  std::unique_ptr<websocket::stream<tcp::socket>> ws;
  std::thread io_thread;
  // Touched on the io thread only.
  beast::flat_buffer read_buffer;
  std::deque<std::string> write_queue;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::int64_t, json> replies;
  std::set<std::int64_t> abandoned;
  std::deque<std::string> loaded_loaders;
  std::vector<std::string> errors;
  bool lost = false;
  std::string lost_reason;
  std::int64_t next_id = 1;

  ~Impl() { disconnect(); }

  std::string profile_dir() const { return dir.file("profile"); }

  bool connect(int port, const std::string& target_id, std::string* error) {
    try {
      ws = std::make_unique<websocket::stream<tcp::socket>>(ioc);
      ws->next_layer().connect(
          tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
      ws->read_message_max(kMaxMessageBytes);
      ws->handshake("127.0.0.1:" + std::to_string(port), "/devtools/page/" + target_id);
      ws->text(true);
    } catch (const std::exception& e) {
      *error = std::string("DevTools websocket: ") + e.what();
      ws.reset();
      return false;
    }
    read_next();
    io_thread = std::thread([this] { ioc.run(); });
    return true;
  }

  void disconnect() {
    if (!io_thread.joinable()) return;
    net::post(ioc, [this] {
      beast::error_code ignored;
      ws->next_layer().shutdown(tcp::socket::shutdown_both, ignored);
      ws->next_layer().close(ignored);
    });
    io_thread.join();
  }

  void read_next() {
    ws->async_read(read_buffer, [this](beast::error_code ec, std::size_t) {
      if (ec) return connection_lost(ec.message());
      std::string text = beast::buffers_to_string(read_buffer.data());
      read_buffer.consume(read_buffer.size());
      on_message(text);
      read_next();
    });
  }

  void write_next() {
    ws->async_write(net::buffer(write_queue.front()), [this](beast::error_code ec, std::size_t) {
      if (ec) return connection_lost(ec.message());
      write_queue.pop_front();
      if (!write_queue.empty()) write_next();
    });
  }

  void connection_lost(const std::string& why) {
    std::lock_guard lock(mu);
    if (!lost) {
      lost = true;
      lost_reason = why;
    }
    cv.notify_all();
  }

  void on_message(const std::string& text) {
    json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!message.is_object()) return;
    std::lock_guard lock(mu);
    if (message.contains("id") && message["id"].is_number_integer()) {
      const auto id = message["id"].get<std::int64_t>();
      if (abandoned.erase(id) == 0) replies[id] = std::move(message);
      cv.notify_all();
      return;
    }
    const std::string method = message.value("method", std::string());
    const json params = message.value("params", json::object());
    if (method == "Page.lifecycleEvent") {
      if (params.value("name", std::string()) == "load") {
        loaded_loaders.push_back(params.value("loaderId", std::string()));
        if (loaded_loaders.size() > kLoadedLoadersKept) loaded_loaders.pop_front();
        cv.notify_all();
      }
    } else if (method == "Runtime.consoleAPICalled") {
      const std::string type = params.value("type", std::string());
      if (type != "error" && type != "assert") return;
      std::string line = "console." + type + ":";
      for (const json& arg : params.value("args", json::array())) {
        line += " " + describe_remote_object(arg);
      }
      errors.push_back(line);
    } else if (method == "Runtime.exceptionThrown") {
      const json details = params.value("exceptionDetails", json::object());
      std::string line = "uncaught: " + details.value("text", std::string());
      if (details.contains("exception")) line += " " + describe_remote_object(details["exception"]);
      errors.push_back(line);
    } else if (method == "Log.entryAdded") {
      const json entry = params.value("entry", json::object());
      if (entry.value("level", std::string()) != "error") return;
      std::string line =
          entry.value("source", std::string("log")) + ": " + entry.value("text", std::string());
      const std::string url = entry.value("url", std::string());
      if (!url.empty()) line += " (" + url + ")";
      errors.push_back(line);
    } else if (method == "Inspector.targetCrashed") {
      errors.push_back("the page crashed");
    }
  }

  CdpReply call(const std::string& method, json params, std::chrono::milliseconds timeout) {
    std::int64_t id = 0;
    {
      std::lock_guard lock(mu);
      if (lost || !ws) return {false, nullptr, "DevTools connection lost: " + lost_reason};
      id = next_id++;
    }
    json request = {{"id", id}, {"method", method}, {"params", std::move(params)}};
    net::post(ioc, [this, text = request.dump()]() mutable {
      write_queue.push_back(std::move(text));
      if (write_queue.size() == 1) write_next();
    });
    std::unique_lock lock(mu);
    const bool answered = cv.wait_for(lock, timeout, [&] { return replies.count(id) || lost; });
    if (!answered) {
      abandoned.insert(id);
      return {false, nullptr, method + " timed out"};
    }
    auto it = replies.find(id);
    if (it == replies.end()) return {false, nullptr, "DevTools connection lost: " + lost_reason};
    json reply = std::move(it->second);
    replies.erase(it);
    if (reply.contains("error")) {
      const json& e = reply["error"];
      return {false, nullptr,
              method + ": " + (e.is_object() ? e.value("message", e.dump()) : e.dump())};
    }
    return {true, reply.value("result", json::object()), ""};
  }

  bool wait_loaded(const std::string& loader_id, Clock::time_point deadline) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [&] {
      return lost || std::find(loaded_loaders.begin(), loaded_loaders.end(), loader_id) !=
                         loaded_loaders.end();
    }) && !lost;
  }
};

Chromium::Chromium(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Chromium::~Chromium() {
  // Browser.close lets Chromium shut down cleanly; the process group is killed after it either way.
  if (impl_->io_thread.joinable()) impl_->call("Browser.close", {}, std::chrono::seconds(2));
  impl_->disconnect();
  if (impl_->process) impl_->process->stop(std::chrono::seconds(5));
}

std::unique_ptr<Chromium> Chromium::launch(std::string* error) {
  const std::string binary = find_binary();
  if (binary.empty()) {
    *error =
        "chromium not found (install Debian's chromium package: scripts/install-deps.sh, "
        "or point JOBGW_CHROMIUM at a Chromium binary)";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  std::filesystem::create_directories(impl->profile_dir(), ec);
  if (ec) {
    *error = "cannot create " + impl->profile_dir() + ": " + ec.message();
    return nullptr;
  }
  const std::vector<std::string> args = {
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--remote-debugging-port=0",
      "--user-data-dir=" + impl->profile_dir(),
      "--window-size=1280,900",
      // Tests run offline and must not depend on what the profile would fetch or sync.
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--disable-default-apps",
      // Containers often have a tiny /dev/shm.
      "--disable-dev-shm-usage",
      "--mute-audio",
      "about:blank",
  };
  try {
    impl->process = std::make_unique<ChildProcess>(binary, args, impl->dir.file("chromium.log"));
  } catch (const std::exception& e) {
    *error = std::string("cannot start ") + binary + ": " + e.what();
    return nullptr;
  }

  const std::string port_file = impl->profile_dir() + "/DevToolsActivePort";
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  int port = 0;
  while ((port = read_devtools_port(port_file)) == 0) {
    if (!impl->process->running() || Clock::now() >= deadline) {
      *error = binary +
               " did not open its DevTools port; its output: " + tail(impl->process->log(), 2000);
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The initial about:blank page shows up in the target list shortly after the port opens.
  std::string target_id;
  std::string last_answer;
  while (target_id.empty()) {
    const HttpResponse list = http_get(port, "/json/list", {}, std::chrono::seconds(5));
    last_answer = list.ok() ? list.body : list.error;
    const json targets = json::parse(list.body, nullptr, /*allow_exceptions=*/false);
    if (list.status == 200 && targets.is_array()) {
      for (const json& t : targets) {
        if (t.is_object() && t.value("type", std::string()) == "page") {
          target_id = t.value("id", std::string());
          break;
        }
      }
    }
    if (!target_id.empty()) break;
    if (Clock::now() >= deadline) {
      *error = "no page target in /json/list: " + tail(last_answer, 1000);
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  if (!impl->connect(port, target_id, error)) return nullptr;
  for (const char* method : {"Page.enable", "Runtime.enable", "Log.enable"}) {
    CdpReply r = impl->call(method, json::object(), std::chrono::seconds(10));
    if (!r.ok) {
      *error = r.error;
      return nullptr;
    }
  }
  CdpReply lifecycle =
      impl->call("Page.setLifecycleEventsEnabled", {{"enabled", true}}, std::chrono::seconds(10));
  if (!lifecycle.ok) {
    *error = lifecycle.error;
    return nullptr;
  }
  return std::unique_ptr<Chromium>(new Chromium(std::move(impl)));
}

bool Chromium::navigate(const std::string& url, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  CdpReply r = impl_->call("Page.navigate", {{"url", url}}, timeout);
  if (!r.ok) return false;
  if (!r.result.value("errorText", std::string()).empty()) return false;
  // No loaderId: a same-document navigation (the fragment changed); there is no load to wait for.
  const std::string loader = r.result.value("loaderId", std::string());
  if (loader.empty()) return true;
  return impl_->wait_loaded(loader, deadline);
}

nlohmann::json Chromium::evaluate(const std::string& expression,
                                  std::chrono::milliseconds timeout) {
  CdpReply r = impl_->call(
      "Runtime.evaluate",
      {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}, timeout);
  if (!r.ok) return {{"exception", r.error}};
  if (r.result.contains("exceptionDetails")) {
    const json& details = r.result["exceptionDetails"];
    std::string text = details.value("text", std::string("exception"));
    if (details.contains("exception")) text = describe_remote_object(details["exception"]);
    return {{"exception", text}};
  }
  const json result = r.result.value("result", json::object());
  return result.contains("value") ? result["value"] : json(nullptr);
}

bool Chromium::wait_for(const std::string& expression, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const json value = evaluate(
        expression,
        std::max(std::chrono::milliseconds(1000), std::min(left, std::chrono::milliseconds(5000))));
    if (value.is_boolean() && value.get<bool>()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

bool Chromium::screenshot(const std::string& png_path) {
  CdpReply r = impl_->call("Page.captureScreenshot", {{"format", "png"}}, std::chrono::seconds(30));
  if (!r.ok || !r.result.contains("data") || !r.result["data"].is_string()) return false;
  const auto png = decode_base64(r.result["data"].get<std::string>());
  if (!png) return false;
  std::error_code ec;
  const auto parent = std::filesystem::path(png_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(png_path, std::ios::binary | std::ios::trunc);
  out.write(png->data(), static_cast<std::streamsize>(png->size()));
  return static_cast<bool>(out.flush());
}

void Chromium::set_viewport(int width, int height) {
  call("Emulation.setDeviceMetricsOverride",
       {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
}

bool Chromium::press_key(const std::string& key, bool shift) {
  const auto spec = key_spec(key);
  if (!spec) return false;
  json down = {{"type", spec->text.empty() ? "rawKeyDown" : "keyDown"},
               {"key", spec->key},
               {"code", spec->code},
               {"windowsVirtualKeyCode", spec->key_code},
               {"nativeVirtualKeyCode", spec->key_code},
               {"modifiers", shift ? 8 : 0}};
  if (!spec->text.empty()) {
    down["text"] = spec->text;
    down["unmodifiedText"] = spec->text;
  }
  json up = down;
  up["type"] = "keyUp";
  up.erase("text");
  up.erase("unmodifiedText");
  return call("Input.dispatchKeyEvent", down).ok && call("Input.dispatchKeyEvent", up).ok;
}

std::vector<std::string> Chromium::console_errors() const {
  std::lock_guard lock(impl_->mu);
  return impl_->errors;
}

void Chromium::clear_console_errors() {
  std::lock_guard lock(impl_->mu);
  impl_->errors.clear();
}

CdpReply Chromium::call(const std::string& method, nlohmann::json params,
                        std::chrono::milliseconds timeout) {
  return impl_->call(method, std::move(params), timeout);
}

std::string Chromium::process_log() const {
  return impl_->process ? impl_->process->log() : std::string();
}

}  // namespace jobgw::testing
