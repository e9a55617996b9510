// The status page (web/, served from the embedded assets) in headless Chromium against a fake
// jobgw: canned ListJobs JSON and canned, finite SSE bodies for the status and log streams. The
// server sends jobgw's Content-Security-Policy, so an inline script or style, eval or a blocked
// connection shows up in console_errors().
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/web_assets.h"
#include "tests/support/chromium.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' "
    "data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
constexpr char kToken[] = "s3cret-token";
constexpr char kJobPath[] = "/v1/scopes/biz/2/jobs/1001";
constexpr char kStepId[] = "2001";

const std::string kOutputDir = JOBGW_BROWSER_OUTPUT_DIR;

// --- canned API answers, in protobuf's JSON mapping (int64 as strings, defaults omitted) ---

json host(std::int64_t host_id, const std::string& ip) {
  json h = {{"ip", ip}};
  if (host_id != 0) h["hostId"] = std::to_string(host_id);
  return h;
}

json host_result(const json& h, const std::string& status) {
  return {{"host", h}, {"status", "HOST_STATUS_" + status}};
}

json snapshot(const std::vector<json>& hosts, const std::string& status = "RUNNING") {
  return {{"jobInstanceId", "1001"},
          {"scope", {{"type", "biz"}, {"id", "2"}}},
          {"name", "deploy <img src=x onerror=alert(1)>"},
          {"status", "JOB_STATUS_" + status},
          {"createTimeMs", "1700000000000"},
          {"startTimeMs", "1700000001000"},
          {"steps",
           {{{"stepInstanceId", kStepId},
             {"type", "STEP_TYPE_SCRIPT"},
             {"name", "run script"},
             {"status", "JOB_STATUS_RUNNING"},
             {"hosts", hosts}}}}};
}

json host_changed(const json& h, const std::string& status, int exit_code = 0) {
  json change = {{"stepInstanceId", kStepId}, {"host", h}, {"newStatus", "HOST_STATUS_" + status}};
  if (exit_code != 0) change["exitCode"] = exit_code;
  return {{"kind", "EVENT_KIND_HOST_CHANGED"}, {"host", change}};
}

std::string sse(const std::string& event, json data, int id) {
  if (data.is_object() && id > 0) data["seq"] = std::to_string(id);
  std::string out;
  if (id > 0) out += "id: " + std::to_string(id) + "\n";
  return out + "event: " + event + "\ndata: " + data.dump() + "\n\n";
}

std::string sse_end(const std::string& code = "OK") {
  return "event: end\ndata: " + json({{"code", code}, {"message", ""}}).dump() + "\n\n";
}

FakeResponse sse_response(std::string body) {
  FakeResponse r;
  r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

json job_list() {
  return {{"jobs",
           {{{"scope", {{"type", "biz"}, {"id", "2"}}},
             {"jobInstanceId", "1001"},
             {"stepInstanceId", kStepId},
             {"name", "deploy <img src=x onerror=alert(1)>"},
             {"status", "JOB_STATUS_RUNNING"},
             {"createTimeMs", "1700000000000"},
             {"startTimeMs", "1700000001000"},
             {"hosts", {{"total", 4}, {"running", 1}, {"success", 1}, {"waiting", 2}}},
             {"subscribers", 2},
             {"stepCount", 1}},
            {{"scope", {{"type", "biz"}, {"id", "2"}}},
             {"jobInstanceId", "1000"},
             {"name", "older job"},
             {"status", "JOB_STATUS_SUCCESS"},
             {"finished", true},
             {"hosts", {{"total", 1}, {"success", 1}}}}}}};
}

// --- what the page shows, read in the browser ---

// Every element of these kinds that is shown must have text at WCAG AA contrast (4.5:1) against
// the first opaque background behind it. Returns the ones that do not.
constexpr char kLowContrast[] = R"JS((() => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const bad = [];
  const selectors = ['h1', 'h2', 'h3', 'label', 'button', 'input', 'select', '.badge', '.muted',
                     '.hint', '.job-time', '.job-hosts', '.job-subs', '.step-hosts', '.counts',
                     '#conn', '.meta dt', '.meta dd', '.log-pane', '.log-status', '.log-host'];
  for (const sel of selectors) {
    for (const el of document.querySelectorAll(sel)) {
      if (!el.getClientRects().length || !el.textContent.trim() && el.tagName !== 'INPUT') continue;
      const fg = lum(parse(getComputedStyle(el).color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) bad.push(`${sel} "${el.textContent.trim().slice(0, 20)}" ${ratio.toFixed(2)}`);
    }
  }
  return bad;
})())JS";

// The focused element, named the way the tests expect it.
constexpr char kFocused[] = R"JS((() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  if (e.id) return e.id;
  if (e.dataset.jobId) return 'job:' + e.dataset.jobId;
  if (e.dataset.stepId) return 'step:' + e.dataset.stepId;
  if (e.dataset.host) return 'host:' + e.dataset.host;
  return e.tagName;
})())JS";

std::string host_status(const std::string& key) {
  return "(document.querySelector('#host-grid button.host[data-host=\"" + key +
         "\"]') || {dataset: {}}).dataset.status";
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

class StatusPageTest : public ::testing::Test {
 protected:
  using Route = std::function<FakeResponse(const RecordedRequest&)>;

  void SetUp() override {
    std::string error;
    browser_ = Chromium::launch(&error);
    ASSERT_NE(browser_, nullptr) << error;
    route("/v1/jobs", [](const RecordedRequest&) { return FakeResponse::json(job_list().dump()); });
  }

  void route(const std::string& path, Route r) {
    std::lock_guard lock(mu_);
    routes_[path] = std::move(r);
  }

  // Answers like jobgw's HTTP face: the routes, else the embedded assets, always with the CSP.
  FakeResponse answer(const RecordedRequest& req) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    Route r;
    {
      std::lock_guard lock(mu_);
      if (auto it = routes_.find(path); it != routes_.end()) r = it->second;
    }
    FakeResponse response;
    if (r) {
      response = r(req);
    } else if (path.rfind("/v1/", 0) == 0) {
      response = FakeResponse::json(
          R"({"code":"NOT_FOUND","message":"no such route","httpStatus":404})", 404);
    } else if (const server::WebAsset* asset = server::find_web_asset(path)) {
      response.headers = {{"Content-Type", std::string(asset->content_type)},
                          {"ETag", std::string(asset->etag)}};
      response.body = std::string(asset->body);
    } else {
      response = FakeResponse::with_status(404);
    }
    response.headers.emplace_back("Content-Security-Policy", kCsp);
    return response;
  }

  std::vector<RecordedRequest> requests_to(const std::string& path) const {
    std::vector<RecordedRequest> out;
    for (auto& r : server_.requests()) {
      if (r.target.substr(0, r.target.find('?')) == path) out.push_back(r);
    }
    return out;
  }

  bool open(const std::string& fragment = "") {
    return browser_->navigate(server_.base_url() + "/" + fragment);
  }

  std::mutex mu_;
  std::map<std::string, Route> routes_;
  std::unique_ptr<Chromium> browser_;
  FakeHttpServer server_{[this](const RecordedRequest& req) { return answer(req); }};
};

TEST_F(StatusPageTest, AsksForATokenThenShowsJobsHostsAndALogAsText) {
  auto authorized = [](const RecordedRequest& req) {
    return req.header("Authorization").value_or("") == std::string("Bearer ") + kToken;
  };
  const FakeResponse unauthenticated = FakeResponse::json(
      R"({"code":"UNAUTHENTICATED","message":"missing or unknown token","httpStatus":401})", 401);
  const json h11 = host(11, "10.0.0.1");
  const json h12 = host(12, "10.0.0.2");
  const json h13 = host(13, "10.0.0.4");
  const json cloud = host(0, "10.0.0.3");
  route("/v1/jobs", [=](const RecordedRequest& req) {
    return authorized(req) ? FakeResponse::json(job_list().dump()) : unauthenticated;
  });
  route(std::string(kJobPath) + "/events", [=](const RecordedRequest& req) {
    if (!authorized(req)) return unauthenticated;
    const json first = snapshot({host_result(h11, "WAITING"), host_result(h12, "RUNNING"),
                                 host_result(h13, "WAITING"), host_result(cloud, "WAITING")});
    return sse_response(
        sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", first}}, 1) +
        ": heartbeat\n\n" + sse("status", host_changed(h11, "RUNNING"), 2) +
        sse("status", host_changed(h11, "SUCCESS"), 3) +
        sse("status", host_changed(cloud, "NONZERO_EXIT_CODE", 1), 4) +
        // A host the snapshot did not have.
        sse("status", host_changed(host(14, "10.0.0.5"), "SUCCESS"), 5) +
        sse("status",
            {{"kind", "EVENT_KIND_JOB_CHANGED"},
             {"job", {{"oldStatus", "JOB_STATUS_RUNNING"}, {"newStatus", "JOB_STATUS_FAILED"}}}},
            6) +
        sse_end());
  });
  route(std::string(kJobPath) + "/logs/follow", [=](const RecordedRequest& req) {
    if (!authorized(req)) return unauthenticated;
    const json text = {{"kind", "LOG_EVENT_KIND_TEXT"}, {"host", h11}, {"stepInstanceId", kStepId}};
    json first = text;
    first["text"] = "hello from 10.0.0.1\n";
    json second = text;
    second["text"] = "<script>alert(1)</script>\n";
    second["offset"] = "20";
    const json end = {{"kind", "LOG_EVENT_KIND_HOST_END"},
                      {"host", h11},
                      {"stepInstanceId", kStepId},
                      {"status", "HOST_STATUS_SUCCESS"}};
    // \r\n line ends: the parser must take both styles.
    std::string body = sse("log", first, 1) + sse("log", second, 2) + sse("log", end, 3);
    std::string crlf;
    for (char c : body) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return sse_response(crlf + sse_end());
  });

  ASSERT_TRUE(open()) << browser_->process_log();
  // Without a token: the indicator shows the server's code and the token field gets the focus.
  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('conn').dataset.state === 'error' && "
                         "document.getElementById('conn').textContent.includes('UNAUTHENTICATED')",
                         seconds(10)));
  ASSERT_EQ(browser_->evaluate(kFocused), "token-input");
  for (const char c : std::string(kToken)) ASSERT_TRUE(browser_->press_key(std::string(1, c)));
  ASSERT_TRUE(browser_->press_key("Enter"));
  ASSERT_TRUE(browser_->wait_for("!!document.querySelector('button.job[data-job-id=\"1001\"]')",
                                 seconds(10)));
  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('conn').dataset.state === 'live'", seconds(10)));
  // The 401 answers before the token are logged by the browser as failed loads; from here on
  // nothing may be logged.
  browser_->clear_console_errors();
  EXPECT_EQ(browser_->evaluate("sessionStorage.getItem('jobgw.token')"), kToken);
  EXPECT_EQ(browser_->evaluate("document.getElementById('token-input').value"), "");

  // The list: newest first, names as text (no <img> made of a job name).
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('#job-list button.job')]"
                               ".map((b) => b.dataset.jobId)"),
            json({"1001", "1000"}));
  EXPECT_EQ(browser_->evaluate("document.querySelector('[data-job-id=\"1001\"] .job-name')"
                               ".textContent"),
            "deploy <img src=x onerror=alert(1)>");
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('img').length"), 0);
  EXPECT_EQ(browser_->evaluate("document.querySelector('[data-job-id=\"1001\"] .job-hosts')"
                               ".textContent"),
            "1/4 hosts");

  // The job: every change event applied to its own cell.
  browser_->evaluate("document.querySelector('button.job[data-job-id=\"1001\"]').click()");
  ASSERT_TRUE(browser_->wait_for(host_status("0:10.0.0.3") + " === 'failed'", seconds(10)))
      << browser_->evaluate("document.getElementById('host-grid').outerHTML").dump();
  EXPECT_EQ(browser_->evaluate(host_status("11")), "success");
  EXPECT_EQ(browser_->evaluate(host_status("12")), "running");
  EXPECT_EQ(browser_->evaluate(host_status("13")), "waiting");
  EXPECT_EQ(browser_->evaluate(host_status("14")), "success");
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('#host-grid button.host')]"
                               ".map((b) => b.dataset.host)"),
            json({"11", "12", "13", "0:10.0.0.3", "14"}));
  EXPECT_EQ(browser_->evaluate("document.querySelector('[data-host=\"0:10.0.0.3\"]')"
                               ".getAttribute('aria-label')"),
            "host 10.0.0.3 failed");
  EXPECT_EQ(browser_->evaluate("document.querySelector('[data-host=\"0:10.0.0.3\"] .glyph')"
                               ".textContent"),
            "\u2717");
  EXPECT_EQ(browser_->evaluate("document.querySelector('[data-host=\"11\"] .glyph').textContent"),
            "\u2713");
  EXPECT_EQ(browser_->evaluate("document.getElementById('job-status').dataset.status"), "failed");
  EXPECT_EQ(browser_->evaluate("location.hash"), "#biz/2/1001");

  // Following a host from the keyboard: its log arrives as text, markup and all.
  browser_->evaluate("document.querySelector('button.host[data-host=\"11\"]').focus()");
  ASSERT_TRUE(browser_->press_key("Enter"));
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('log-status').textContent.includes('exit code 0')", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-pane').textContent"),
            "hello from 10.0.0.1\n<script>alert(1)</script>\n");
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#log-pane *').length"), 0);
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-status').dataset.status"), "success");
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-host').textContent"),
            "Following host 10.0.0.1 in run script");

  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/status-page.png"));

  // The token travels in the Authorization header only, never in a URL.
  const auto follows = requests_to(std::string(kJobPath) + "/logs/follow");
  ASSERT_EQ(follows.size(), 1u);
  EXPECT_NE(follows[0].target.find("step_instance_id=2001"), std::string::npos);
  EXPECT_NE(follows[0].target.find("host_ids=11"), std::string::npos);
  for (const auto& r : server_.requests()) {
    EXPECT_EQ(r.target.find(kToken), std::string::npos) << r.target;
  }
  // A stream that said `end` is not reopened.
  EXPECT_EQ(requests_to(std::string(kJobPath) + "/events").size(), 1u);
  for (const auto& r : requests_to(std::string(kJobPath) + "/events")) {
    EXPECT_TRUE(authorized(r));
    EXPECT_EQ(r.header("Accept").value_or(""), "text/event-stream");
  }
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, AThousandHostsEachReachTheirLastStatus) {
  constexpr int kHosts = 1000;
  std::vector<json> hosts;
  for (int i = 1; i <= kHosts; ++i) {
    hosts.push_back(host(i, "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  }
  route(std::string(kJobPath) + "/events", [=](const RecordedRequest&) {
    std::vector<json> waiting;
    for (const auto& h : hosts) waiting.push_back(host_result(h, "WAITING"));
    int seq = 1;
    std::string body =
        sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", snapshot(waiting)}}, seq++);
    for (const auto& h : hosts) body += sse("status", host_changed(h, "RUNNING"), seq++);
    for (int i = 0; i < kHosts; ++i) {
      const bool ok = i % 2 == 0;
      body += sse("status", host_changed(hosts[i], ok ? "SUCCESS" : "FAILED", ok ? 0 : 1), seq++);
    }
    return sse_response(body + sse_end());
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for(
      "document.querySelectorAll('#host-grid button.host[data-status=\"success\"]').length === "
      "500 && "
      "document.querySelectorAll('#host-grid button.host[data-status=\"failed\"]').length === 500",
      seconds(30)))
      << browser_->evaluate("document.getElementById('host-counts').textContent").dump();
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#host-grid button.host').length"),
            kHosts);
  // hosts[0] (id 1) ended SUCCESS, hosts[1] (id 2) FAILED, and so on.
  EXPECT_EQ(browser_->evaluate(host_status("1")), "success");
  EXPECT_EQ(browser_->evaluate(host_status("2")), "failed");
  EXPECT_EQ(browser_->evaluate(host_status("1000")), "failed");
  // One tab stop for the whole grid.
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('#host-grid button.host')]"
                               ".filter((b) => b.tabIndex === 0).length"),
            1);
  EXPECT_EQ(browser_->evaluate("document.querySelector('button.step .step-hosts').textContent"),
            "1000/1000 hosts");

  const json stats = browser_->evaluate("window.jobgwStats");
  ASSERT_TRUE(stats.is_object()) << stats.dump();
  EXPECT_EQ(stats["events"], 1 + 2 * kHosts);
  EXPECT_GE(stats["renders"].get<int>(), 1);
  EXPECT_GE(stats["totalRenderMs"].get<double>(), stats["maxRenderMs"].get<double>());
  EXPECT_GT(stats["lastRenderAt"].get<double>(), 0.0);
  // For the record (the test XML), not asserted: durations depend on the machine.
  RecordProperty("renders", stats["renders"].get<int>());
  RecordProperty("maxRenderMs", std::to_string(stats["maxRenderMs"].get<double>()));
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/status-page-1000-hosts.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, ADroppedStreamResumesWithLastEventId) {
  const json h11 = host(11, "10.0.0.1");
  // Shared: the route may still be called after this test's body returned.
  auto calls = std::make_shared<std::atomic<int>>(0);
  route(std::string(kJobPath) + "/events", [calls, h11](const RecordedRequest&) {
    if ((*calls)++ == 0) {
      // Cut after two events, without `event: end`: the connection dropped.
      const json first = snapshot({host_result(h11, "WAITING")});
      return sse_response(sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", first}}, 1) +
                          sse("status", host_changed(h11, "RUNNING"), 2));
    }
    json resumed = host_changed(h11, "SUCCESS");
    resumed["resumed"] = true;
    return sse_response(sse("status", resumed, 3) + sse_end());
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for(host_status("11") + " === 'success'", seconds(20)));
  const auto streams = requests_to(std::string(kJobPath) + "/events");
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_FALSE(streams[0].header("Last-Event-ID").has_value());
  EXPECT_EQ(streams[1].header("Last-Event-ID").value_or(""), "2");
  EXPECT_EQ(browser_->evaluate("window.jobgwStats.events"), 3);
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, ANewStepRereadsTheJob) {
  const json h11 = host(11, "10.0.0.1");
  const json h12 = host(12, "10.0.0.2");
  route(std::string(kJobPath) + "/events", [=](const RecordedRequest&) {
    const json first = snapshot({host_result(h11, "RUNNING")});
    const json new_step = {
        {"kind", "EVENT_KIND_STEP_CHANGED"},
        {"step", {{"stepInstanceId", "2002"}, {"newStatus", "JOB_STATUS_RUNNING"}}}};
    return sse_response(sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", first}}, 1) +
                        sse("status", new_step, 2) + sse_end());
  });
  // The job as read after the new step appeared: the snapshot's step plus a file step.
  route(kJobPath, [=](const RecordedRequest&) {
    json job = snapshot({host_result(h11, "RUNNING"), host_result(h12, "RUNNING")});
    job["steps"].push_back({{"stepInstanceId", "2002"},
                            {"type", "STEP_TYPE_FILE"},
                            {"name", "copy files"},
                            {"status", "JOB_STATUS_RUNNING"},
                            {"hosts", {host_result(h11, "WAITING")}}});
    return FakeResponse::json(job.dump());
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(
      browser_->wait_for("document.querySelectorAll('button.step').length === 2", seconds(10)));
  EXPECT_EQ(requests_to(kJobPath).size(), 1u);
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('button.step .step-name')]"
                               ".map((e) => e.textContent)"),
            json({"run script", "copy files"}));
  // The grid follows the job to the step it is at now, the new one.
  ASSERT_TRUE(browser_->wait_for(host_status("11") + " === 'waiting'", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#host-grid button.host').length"), 1);
  EXPECT_EQ(browser_->evaluate("document.querySelector('button.step[data-step-id=\"2002\"]')"
                               ".getAttribute('aria-pressed')"),
            "true");
  // The earlier step is one click away.
  browser_->evaluate("document.querySelector('button.step[data-step-id=\"2001\"]').click()");
  ASSERT_TRUE(browser_->wait_for(host_status("12") + " === 'running'", seconds(10)));
  EXPECT_EQ(browser_->evaluate(host_status("11")), "running");
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, TheLogPaneKeepsTheNewestMegabyte) {
  const json h11 = host(11, "10.0.0.1");
  route(std::string(kJobPath) + "/events", [=](const RecordedRequest&) {
    const json first = snapshot({host_result(h11, "RUNNING")});
    return sse_response(sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", first}}, 1) +
                        sse_end());
  });
  route(std::string(kJobPath) + "/logs/follow", [=](const RecordedRequest&) {
    std::string body;
    int seq = 1;
    // Four chunks of 400,000 characters: 4,000 lines of 99 letters each.
    for (const char letter : {'a', 'b', 'c', 'd'}) {
      std::string text;
      for (int line = 0; line < 4000; ++line) text += std::string(99, letter) + "\n";
      body += sse("log", {{"kind", "LOG_EVENT_KIND_TEXT"}, {"host", h11}, {"text", text}}, seq++);
    }
    body += sse("log", {{"kind", "LOG_EVENT_KIND_HOST_END"}, {"host", h11}}, seq++);
    return sse_response(body + sse_end());
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(
      browser_->wait_for("!!document.querySelector('button.host[data-host=\"11\"]')", seconds(10)));
  browser_->evaluate("document.querySelector('button.host[data-host=\"11\"]').click()");
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('log-status').textContent.startsWith('ended')", seconds(20)));
  const json shape = browser_->evaluate(R"JS((() => {
    const t = document.getElementById('log-pane').textContent;
    return {length: t.length, a: t.includes('a'), firstLine: t.slice(0, 100),
            last: t.slice(-100)};
  })())JS");
  ASSERT_TRUE(shape.is_object()) << shape.dump();
  EXPECT_LE(shape["length"].get<int>(), 1 << 20);
  EXPECT_GT(shape["length"].get<int>(), (1 << 20) - 4096);
  EXPECT_FALSE(shape["a"].get<bool>());
  // Dropped at a line start.
  EXPECT_EQ(shape["firstLine"], std::string(99, 'b') + "\n");
  EXPECT_EQ(shape["last"], std::string(99, 'd') + "\n");
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-host').textContent"
                               ".includes('older output dropped')"),
            true);
  // HOST_END without status: the first enum value, UNKNOWN_ERROR, a failure.
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-status').dataset.status"), "failed");
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, FiltersGoIntoTheListQuery) {
  ASSERT_TRUE(open()) << browser_->process_log();
  ASSERT_TRUE(
      browser_->wait_for("document.querySelectorAll('button.job').length === 2", seconds(10)));
  browser_->evaluate(R"JS((() => {
    const state = document.getElementById('filter-state');
    state.value = 'JOB_STATE_FILTER_FAILED';
    state.dispatchEvent(new Event('change'));
    const scope = document.getElementById('filter-scope');
    scope.value = '2';
    scope.dispatchEvent(new Event('input'));
    const name = document.getElementById('filter-name');
    name.value = 'dep loy';
    name.dispatchEvent(new Event('input'));
  })())JS");
  const bool seen = wait_until(
      [&] {
        for (const auto& r : requests_to("/v1/jobs")) {
          if (r.target.find("state=JOB_STATE_FILTER_FAILED") != std::string::npos &&
              r.target.find("scope.id=2") != std::string::npos &&
              r.target.find("name_prefix=dep+loy") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      seconds(10));
  std::string targets;
  for (const auto& r : requests_to("/v1/jobs")) targets += r.target + "\n";
  EXPECT_TRUE(seen) << targets;
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, KeyboardOnlyNarrowAndReadable) {
  const json h11 = host(11, "10.0.0.1");
  const json h12 = host(12, "10.0.0.2");
  const json h13 = host(13, "10.0.0.3");
  route(std::string(kJobPath) + "/events", [=](const RecordedRequest&) {
    const json first = snapshot(
        {host_result(h11, "SUCCESS"), host_result(h12, "RUNNING"), host_result(h13, "FAILED")});
    return sse_response(sse("status", {{"kind", "EVENT_KIND_SNAPSHOT"}, {"snapshot", first}}, 1) +
                        sse_end());
  });
  route(std::string(kJobPath) + "/logs/follow", [=](const RecordedRequest&) {
    return sse_response(sse("log", {{"kind", "LOG_EVENT_KIND_TEXT"}, {"text", "line\n"}}, 1) +
                        sse_end());
  });
  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(
      browser_->wait_for("document.querySelectorAll('button.job').length === 2 && "
                         "document.querySelectorAll('#host-grid button.host').length === 3",
                         seconds(10)));

  // Tab order: header, the selected tab (jobs or plans), filters, the list, the steps, one stop in
  // the grid, the log.
  std::vector<std::string> order;
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(browser_->press_key("Tab"));
    order.push_back(browser_->evaluate(kFocused).get<std::string>());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"token-input", "token-use", "tab-jobs", "filter-state",
                                             "filter-scope", "filter-name", "job:1001", "job:1000",
                                             "step:2001", "host:11", "log-pane"}));
  ASSERT_TRUE(browser_->press_key("Tab", /*shift=*/true));
  ASSERT_EQ(browser_->evaluate(kFocused), "host:11");
  // Keyboard focus is drawn.
  EXPECT_EQ(browser_->evaluate("getComputedStyle(document.activeElement).outlineStyle"), "solid");
  EXPECT_EQ(browser_->evaluate("getComputedStyle(document.activeElement).outlineWidth"), "3px");
  ASSERT_TRUE(browser_->press_key("ArrowRight"));
  EXPECT_EQ(browser_->evaluate(kFocused), "host:12");
  ASSERT_TRUE(browser_->press_key("End"));
  EXPECT_EQ(browser_->evaluate(kFocused), "host:13");
  ASSERT_TRUE(browser_->press_key("Home"));
  EXPECT_EQ(browser_->evaluate(kFocused), "host:11");
  ASSERT_TRUE(browser_->press_key("ArrowRight"));
  ASSERT_TRUE(browser_->press_key(" "));
  ASSERT_TRUE(browser_->wait_for("document.getElementById('log-pane').textContent === 'line\\n'",
                                 seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('log-host').textContent"),
            "Following host 10.0.0.2 in run script");

  const json low = browser_->evaluate(kLowContrast);
  EXPECT_EQ(low, json::array()) << low.dump();

  browser_->set_viewport(400, 800);
  ASSERT_TRUE(
      browser_->wait_for("document.querySelector('.jobs').getBoundingClientRect().bottom <= "
                         "document.querySelector('.detail').getBoundingClientRect().top",
                         seconds(5)));
  EXPECT_EQ(browser_->evaluate("document.documentElement.scrollWidth <= innerWidth"), true);
  const json narrow_low = browser_->evaluate(kLowContrast);
  EXPECT_EQ(narrow_low, json::array()) << narrow_low.dump();
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/status-page-narrow.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

// --- job plans ---

json plan_step_snapshot(const std::string& id, const std::string& type, const std::string& name,
                        const std::string& status, const std::vector<json>& hosts) {
  return {{"stepInstanceId", id},
          {"type", "STEP_TYPE_" + type},
          {"name", name},
          {"status", "JOB_STATUS_" + status},
          {"hosts", hosts}};
}

// A three-step plan job (script, confirmation, script) with each step's status as given.
json plan_job(const std::string& job_status, const std::string& first, const std::string& second,
              const std::string& third, bool finished = false) {
  const json h11 = host(11, "10.0.0.1");
  json job = snapshot({}, job_status);
  job["name"] = "three steps";
  job["steps"] = {
      plan_step_snapshot("2001", "SCRIPT", "set greeting", first, {host_result(h11, "SUCCESS")}),
      plan_step_snapshot("2002", "CONFIRMATION", "confirm", second, {}),
      plan_step_snapshot("2003", "SCRIPT", "print greeting", third,
                         {host_result(h11, third == "PENDING" ? "WAITING" : "SUCCESS")})};
  if (finished) job["finished"] = true;
  return job;
}

json plan_detail() {
  return {{"jobPlanId", "1"},
          {"name", "three steps"},
          {"creator", "admin"},
          {"variables",
           {{{"id", "1"},
             {"name", "who"},
             {"type", "GLOBAL_VAR_TYPE_STRING"},
             {"defaultValue", "world"},
             {"hasDefault", true}},
            {{"id", "2"}, {"name", "greeting"}, {"type", "GLOBAL_VAR_TYPE_STRING"}},
            {{"id", "3"},
             {"name", "targets"},
             {"type", "GLOBAL_VAR_TYPE_HOST_LIST"},
             {"required", true},
             {"defaultHosts", {{"hostIds", {"101", "102"}}}},
             {"hasDefault", true}},
            {{"id", "4"},
             {"name", "token"},
             {"type", "GLOBAL_VAR_TYPE_PASSWORD"},
             {"hasDefault", true}}}},
          {"steps",
           {{{"id", "1"}, {"name", "set greeting"}, {"type", "STEP_TYPE_SCRIPT"}},
            {{"id", "2"}, {"name", "confirm"}, {"type", "STEP_TYPE_CONFIRMATION"}},
            {{"id", "3"}, {"name", "print greeting"}, {"type", "STEP_TYPE_SCRIPT"}}}}};
}

constexpr char kPlansPath[] = "/v1/scopes/biz/2/plans";

std::string field(const std::string& var, const std::string& prop) {
  return "document.querySelector('#plan-vars input[data-var-name=\"" + var + "\"]')." + prop;
}

TEST_F(StatusPageTest, ThePlanPickerShowsAPlanAndRunsItWithTheChangedVariables) {
  route(kPlansPath, [](const RecordedRequest&) {
    return FakeResponse::json(json({{"plans",
                                     {{{"jobPlanId", "1"}, {"name", "three steps"}},
                                      {{"jobPlanId", "2"}, {"name", "may fail"}}}},
                                    {"total", "2"}})
                                  .dump());
  });
  route(std::string(kPlansPath) + "/1",
        [](const RecordedRequest&) { return FakeResponse::json(plan_detail().dump()); });
  auto runs = std::make_shared<std::atomic<int>>(0);
  route(std::string(kPlansPath) + "/1:execute", [runs](const RecordedRequest&) {
    if ((*runs)++ == 0) {
      return FakeResponse::json(
          R"({"code":"INVALID_ARGUMENT","message":"variables[1]: targets: host_ids: 999 is not a host","httpStatus":400})",
          400);
    }
    return FakeResponse::json(R"({"jobInstanceId":"1001","jobInstanceName":"three steps"})");
  });
  // The job the run started: its confirmation step is already waiting in the snapshot.
  route(std::string(kJobPath) + "/events", [](const RecordedRequest&) {
    return sse_response(
        sse("status",
            {{"kind", "EVENT_KIND_SNAPSHOT"},
             {"snapshot", plan_job("RUNNING", "SUCCESS", "WAITING_USER", "PENDING")}},
            1) +
        sse_end());
  });
  route(std::string(kJobPath) + "/steps/2002:operate", [](const RecordedRequest&) {
    return FakeResponse::json(R"({"jobInstanceId":"1001","stepInstanceId":"2002"})");
  });

  ASSERT_TRUE(open()) << browser_->process_log();
  browser_->evaluate("document.getElementById('tab-plans').click()");
  EXPECT_EQ(browser_->evaluate("document.getElementById('plans-panel').hidden"), false);
  EXPECT_EQ(browser_->evaluate("document.getElementById('jobs-panel').hidden"), true);
  browser_->evaluate("document.getElementById('plans-scope').focus()");
  ASSERT_TRUE(browser_->press_key("2"));
  ASSERT_TRUE(browser_->wait_for("document.querySelectorAll('#plan-list button.plan').length === 2",
                                 seconds(10)));
  browser_->evaluate("document.querySelector('button.plan[data-plan-id=\"1\"]').click()");
  ASSERT_TRUE(browser_->wait_for("document.querySelectorAll('#plan-vars input').length === 4",
                                 seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('plan-name').textContent"), "three steps");
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('#plan-steps li')]"
                               ".map((li) => li.textContent)"),
            json({"set greetingscript", "confirmconfirmation", "print greetingscript"}));
  EXPECT_EQ(browser_->evaluate(field("who", "value")), "world");
  EXPECT_EQ(browser_->evaluate(field("greeting", "value")), "");
  EXPECT_EQ(browser_->evaluate(field("targets", "value")), "101, 102");
  // A password is never pre-filled, though the plan has a default.
  EXPECT_EQ(browser_->evaluate(field("token", "type")), "password");
  EXPECT_EQ(browser_->evaluate(field("token", "value")), "");
  EXPECT_EQ(browser_->evaluate("document.querySelector('.plan-var[data-var=\"targets\"] "
                               ".var-info').textContent"),
            "host list \u00B7 required \u00B7 default: id 101, id 102");
  EXPECT_EQ(browser_->evaluate("document.querySelector('.plan-var[data-var=\"token\"] "
                               ".var-info').textContent"),
            "password \u00B7 has a default (hidden)");

  // Changed: who and targets; the API's refusal is shown as its message.
  browser_->evaluate(field("who", "value = 'there'"));
  browser_->evaluate(field("targets", "value = '101, 999'"));
  browser_->evaluate("document.getElementById('plan-run').click()");
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('plan-error').hidden", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('plan-error').textContent"),
            "INVALID_ARGUMENT: variables[1]: targets: host_ids: 999 is not a host");
  // A host list that is not host ids never leaves the page.
  browser_->evaluate(field("targets", "value = '101, web-1'"));
  browser_->evaluate("document.getElementById('plan-run').click()");
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('plan-error').textContent.includes('\"web-1\" is not a host id')",
      seconds(10)));
  EXPECT_EQ(runs->load(), 1);

  browser_->evaluate(field("targets", "value = '101, 102'"));
  browser_->evaluate(field("token", "value = 'pw'"));
  browser_->clear_console_errors();  // the 400 above is logged as a failed load
  browser_->evaluate("document.getElementById('plan-run').click()");
  // The new job's live view opens: every step, and the waiting one's prompt.
  ASSERT_TRUE(browser_->wait_for("location.hash === '#biz/2/1001'", seconds(10)));
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('step-prompt').hidden", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('plan-view').hidden"), true);
  EXPECT_EQ(
      browser_->evaluate("[...document.querySelectorAll('button.step')].map((b) => "
                         "b.dataset.stepType + ':' + b.querySelector('.badge').textContent)"),
      json({"SCRIPT:\u2713 success", "CONFIRMATION:\u25CB waiting user", "SCRIPT:\u25CB pending"}));
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-prompt-text').textContent"),
            "Step \"confirm\" is waiting for confirmation.");

  const auto executes = requests_to(std::string(kPlansPath) + "/1:execute");
  ASSERT_EQ(executes.size(), 2u);
  const json first = json::parse(executes[0].body);
  const json second = json::parse(executes[1].body);
  EXPECT_EQ(first["variables"], json::parse(R"([{"name":"who","value":"there"},
      {"name":"targets","hosts":{"hostIds":["101","999"]}}])"));
  // Back to the default hosts: not sent; the typed password is.
  EXPECT_EQ(second["variables"], json::parse(R"([{"name":"who","value":"there"},
      {"name":"token","value":"pw"}])"));
  EXPECT_NE(first["requestId"], second["requestId"]);

  browser_->evaluate("document.getElementById('step-confirm').click()");
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('step-prompt-status').textContent.startsWith('Confirmed')",
      seconds(10)));
  const auto operates = requests_to(std::string(kJobPath) + "/steps/2002:operate");
  ASSERT_EQ(operates.size(), 1u);
  EXPECT_EQ(operates[0].method, "POST");
  EXPECT_EQ(json::parse(operates[0].body), json({{"operation", "STEP_OPERATION_CONFIRM"}}));
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/status-page-plan-waiting.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, AStepWaitingEventShowsThePromptAndARefusedConfirmSaysSo) {
  route(std::string(kJobPath) + "/events", [](const RecordedRequest&) {
    const json changed = {{"kind", "EVENT_KIND_STEP_CHANGED"},
                          {"step",
                           {{"stepInstanceId", "2002"},
                            {"oldStatus", "JOB_STATUS_PENDING"},
                            {"newStatus", "JOB_STATUS_WAITING_USER"}}}};
    json waiting = changed;
    waiting["kind"] = "EVENT_KIND_STEP_WAITING_USER";
    return sse_response(sse("status",
                            {{"kind", "EVENT_KIND_SNAPSHOT"},
                             {"snapshot", plan_job("RUNNING", "SUCCESS", "PENDING", "PENDING")}},
                            1) +
                        sse("status", changed, 2) + sse("status", waiting, 3) + sse_end());
  });
  route(std::string(kJobPath) + "/steps/2002:operate", [](const RecordedRequest&) {
    return FakeResponse::json(
        R"({"code":"PERMISSION_DENIED","message":"reader may not operate biz 2","httpStatus":403})",
        403);
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('step-prompt').hidden", seconds(10)));
  // The grid shows the step the job is at: the confirmation, which has no hosts.
  EXPECT_EQ(browser_->evaluate("document.querySelector('button.step[aria-pressed=\"true\"]')"
                               ".dataset.stepId"),
            "2002");
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-confirm').hidden"), false);
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-terminate').hidden"), false);

  browser_->evaluate("document.getElementById('step-terminate').click()");
  ASSERT_TRUE(browser_->wait_for("document.getElementById('step-confirm').hidden", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-prompt-status').textContent"),
            "You may not confirm this step: PERMISSION_DENIED: reader may not operate biz 2");
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-terminate').hidden"), true);
  const auto operates = requests_to(std::string(kJobPath) + "/steps/2002:operate");
  ASSERT_EQ(operates.size(), 1u);
  EXPECT_EQ(json::parse(operates[0].body),
            json({{"operation", "STEP_OPERATION_TERMINATE_CONFIRMATION"}}));
  // The 403 is logged by the browser as a failed load, and nothing else.
  for (const auto& line : browser_->console_errors()) {
    EXPECT_NE(line.find("403"), std::string::npos) << line;
  }
}

TEST_F(StatusPageTest, AFinishedJobsOutputsAreShownAsText) {
  route(std::string(kJobPath) + "/events", [](const RecordedRequest&) {
    return sse_response(
        sse("status",
            {{"kind", "EVENT_KIND_FINISHED"},
             {"snapshot", plan_job("SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", true)}},
            9) +
        sse_end());
  });
  route(std::string(kJobPath) + "/outputs", [](const RecordedRequest&) {
    return FakeResponse::json(
        json({{"jobInstanceId", "1001"},
              {"status", "JOB_STATUS_SUCCESS"},
              {"finished", true},
              {"variables", {{{"name", "who"}, {"value", "<b>x</b>"}}, {{"name", "greeting"}}}},
              {"logVariables", {{{"name", "greeting"}, {"value", "hello, <b>x</b>"}}}},
              {"lastStepInstanceId", "2003"},
              {"lastStepHosts",
               {{"successHosts", {host(11, "10.0.0.1")}},
                {"nonZeroExitHosts", {host(0, "10.0.0.3")}}}}})
            .dump());
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('job-outputs').hidden", seconds(10)));
  const std::string pairs_of = R"JS(((id) => [...document.querySelectorAll('#' + id + ' > div')]
      .map((d) => [...d.children].map((c) => c.textContent))))JS";
  EXPECT_EQ(browser_->evaluate(pairs_of + "('outputs-vars')"),
            json::parse(R"([["who", "<b>x</b>"], ["greeting", ""]])"));
  EXPECT_EQ(browser_->evaluate(pairs_of + "('outputs-log-vars')"),
            json::parse(R"([["greeting", "hello, <b>x</b>"]])"));
  EXPECT_EQ(browser_->evaluate(pairs_of + "('outputs-hosts')"),
            json::parse(R"([["Succeeded", "10.0.0.1"], ["Non-zero exit", "10.0.0.3"],
                               ["Other failures", "none"]])"));
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#job-outputs b').length"), 0);
  // A finished successful job offers nothing to confirm or retry; the grid shows its last step.
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-prompt').hidden"), true);
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-retry-box').hidden"), true);
  EXPECT_EQ(browser_->evaluate("document.querySelector('button.step[aria-pressed=\"true\"]')"
                               ".dataset.stepId"),
            "2003");
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(StatusPageTest, RetryingAFailedStepFollowsTheJobToItsSecondEnd) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  route(std::string(kJobPath) + "/events", [calls](const RecordedRequest&) {
    if ((*calls)++ == 0) {
      return sse_response(
          sse("status",
              {{"kind", "EVENT_KIND_FINISHED"},
               {"snapshot", plan_job("FAILED", "FAILED", "PENDING", "PENDING", true)}},
              5) +
          sse_end());
    }
    const json running = {
        {"kind", "EVENT_KIND_JOB_CHANGED"},
        {"job", {{"oldStatus", "JOB_STATUS_FAILED"}, {"newStatus", "JOB_STATUS_RUNNING"}}}};
    return sse_response(
        sse("status", running, 6) +
        sse("status",
            {{"kind", "EVENT_KIND_FINISHED"},
             {"snapshot", plan_job("SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS", true)}},
            7) +
        sse_end());
  });
  route(std::string(kJobPath) + "/steps/2001:operate", [](const RecordedRequest&) {
    return FakeResponse::json(R"({"jobInstanceId":"1001","stepInstanceId":"2001"})");
  });
  route(std::string(kJobPath) + "/outputs", [](const RecordedRequest&) {
    return FakeResponse::json(R"({"jobInstanceId":"1001","finished":true})");
  });

  ASSERT_TRUE(open("#biz/2/1001")) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('step-retry-box').hidden", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-retry-text').textContent"),
            "Step \"set greeting\" failed.");
  browser_->evaluate("document.getElementById('step-retry').click()");
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('job-status').dataset.status === 'success'", seconds(10)));
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-retry-box').hidden"), true);
  const auto streams = requests_to(std::string(kJobPath) + "/events");
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[1].header("Last-Event-ID").value_or(""), "5");
  const auto operates = requests_to(std::string(kJobPath) + "/steps/2001:operate");
  ASSERT_EQ(operates.size(), 1u);
  EXPECT_EQ(json::parse(operates[0].body), json({{"operation", "STEP_OPERATION_RETRY_FAILED"}}));
  // Outputs read at each end.
  EXPECT_TRUE(wait_until(
      [&] { return requests_to(std::string(kJobPath) + "/outputs").size() == 2; }, seconds(10)));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

}  // namespace
}  // namespace jobgw::testing
