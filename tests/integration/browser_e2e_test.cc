// The status page end to end: headless Chromium on jobgw's own HTTP face, jobgw on a real jobsim.
// Everything asserted is read from the DOM the page drew (data-status of cells, the log pane's
// text, the connection indicator), the way a user would see it; the page's render counters are
// printed as metrics, never asserted against the clock.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/test_credentials.h"
#include "tests/support/chromium.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kOutputDir = JOBGW_BROWSER_OUTPUT_DIR;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// A JSON string is a JavaScript string literal: selectors and labels go into expressions this way.
std::string js(const std::string& s) { return json(s).dump(); }

std::string cell(const std::string& host_key) {
  return "document.querySelector(" + js("#host-grid button.host[data-host=\"" + host_key + "\"]") +
         ")";
}

std::string cell_status(const std::string& host_key) {
  return "(" + cell(host_key) + " || {dataset: {}}).dataset.status";
}

// A left click where a user would put the mouse: the element is scrolled into view and pressed
// at its centre through the Input domain, so hit testing and the page's own listeners run.
bool click(Chromium& browser, const std::string& element_expression) {
  const json at =
      browser.evaluate("(() => { const e = " + element_expression +
                       "; if (!e) return null; e.scrollIntoView({block: 'center'});"
                       " const r = e.getBoundingClientRect();"
                       " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()");
  if (!at.is_object() || !at.contains("x")) return false;
  json event = {{"x", at["x"]}, {"y", at["y"]}, {"button", "left"}, {"clickCount", 1}};
  event["type"] = "mouseMoved";
  if (!browser.call("Input.dispatchMouseEvent", event).ok) return false;
  event["type"] = "mousePressed";
  if (!browser.call("Input.dispatchMouseEvent", event).ok) return false;
  event["type"] = "mouseReleased";
  return browser.call("Input.dispatchMouseEvent", event).ok;
}

std::string job_button(const std::string& job_id) {
  return "document.querySelector(" + js("#job-list button.job[data-job-id=\"" + job_id + "\"]") +
         ")";
}

// Every status each host cell showed, in order, recorded by a MutationObserver from the moment
// it is installed (cells made later are recorded as they appear).
constexpr char kRecordCellHistory[] = R"JS((() => {
  const history = {};
  window.cellHistory = history;
  const grid = document.getElementById('host-grid');
  const record = () => {
    for (const b of grid.querySelectorAll('button.host')) {
      const seen = history[b.dataset.host] || (history[b.dataset.host] = []);
      if (seen[seen.length - 1] !== b.dataset.status) seen.push(b.dataset.status);
    }
  };
  new MutationObserver(record).observe(
      grid, {subtree: true, childList: true, attributes: true, attributeFilter: ['data-status']});
  record();
  return true;
})())JS";

// The render loop has gone quiet: two animation frames pass without another render.
constexpr char kRendersSettled[] = R"JS(new Promise((resolve) => {
  const before = window.jobgwStats.renders;
  requestAnimationFrame(() => requestAnimationFrame(() => {
    resolve(window.jobgwStats.renders === before);
  }));
}))JS";

class BrowserE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    browser_ = Chromium::launch(&error);
    ASSERT_NE(browser_, nullptr) << error;
  }

  std::string page_url(int port, const std::string& fragment = "") {
    return "http://127.0.0.1:" + std::to_string(port) + "/" + fragment;
  }

  std::string diagnostics(GatewayStack& stack) {
    return "conn: " + browser_->evaluate("document.getElementById('conn').textContent").dump() +
           "\nconsole: " + joined(browser_->console_errors()) +
           "\nstack logs (tail): " + tail(stack.logs());
  }

  static std::string tail(const std::string& s) {
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }

  std::unique_ptr<Chromium> browser_;
};

std::string execute_body(const std::string& name, const std::string& script,
                         const std::vector<std::int64_t>& host_ids) {
  return json({{"scope", {{"type", "biz"}, {"id", "1"}}},
               {"scriptContent", script},
               {"scriptLanguage", "SCRIPT_LANGUAGE_SHELL"},
               {"taskName", name},
               {"targets", {{"hostIds", host_ids}}}})
      .dump();
}

std::string submit_over_http(int port, const std::string& body, const HttpHeaders& headers = {}) {
  const HttpResponse r = http_post_json(port, "/v1/scripts:execute", body, headers, 30s);
  if (r.status != 200) return "";
  return json::parse(r.body, nullptr, false).value("jobInstanceId", "");
}

// Three hosts print a line every 0.5 s, one of them `<script>alert(1)</script>`, for at least
// 5 s and until the test opens the gate (so a loaded machine cannot end the job before the page
// has been watched); then 101 and 102 exit 0 and 103 exits 3.
std::string live_script(const std::string& gate) {
  return "i=0\n"
         "while [ $i -lt 10 ] || [ ! -e '" +
         gate +
         "' ]; do\n"
         "  i=$((i+1))\n"
         "  echo \"host $JOB_HOST_IP: health check $i ok\"\n"
         "  if [ $i -eq 3 ]; then echo '<script>alert(1)</script>'; fi\n"
         "  if [ $i -ge 240 ]; then break; fi\n"
         "  sleep 0.5\n"
         "done\n"
         "if [ \"$JOB_HOST_ID\" = 103 ]; then echo \"host $JOB_HOST_IP: restart failed\"; exit 3; "
         "fi\n"
         "echo \"host $JOB_HOST_IP: restarted\"\n";
}

TEST_F(BrowserE2eTest, LiveJobHostsAndAFollowedLogUpdateInThePage) {
  GatewayStack stack(three_hosts({}, {"--follow.interval_ms=300", "--watch.poll_ceiling_ms=1000"}));
  TempDir gate_dir("jobgw-browser-gate");
  const std::string gate = gate_dir.file("release");
  const int port = stack.http_port();
  ASSERT_GT(port, 0);

  browser_->set_viewport(1280, 800);
  ASSERT_TRUE(browser_->navigate(page_url(port))) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("document.getElementById('conn').dataset.state === 'live'", 20s))
      << diagnostics(stack);
  const json scripts_before = browser_->evaluate("document.querySelectorAll('script').length");

  const std::string job =
      submit_over_http(port, execute_body("rolling restart", live_script(gate), {101, 102, 103}));
  ASSERT_FALSE(job.empty()) << stack.logs();

  // The list poll brings the job in; opening it draws its hosts from the status stream.
  ASSERT_TRUE(browser_->wait_for("!!" + job_button(job), 30s)) << diagnostics(stack);
  ASSERT_EQ(browser_->evaluate(kRecordCellHistory), true);
  ASSERT_TRUE(click(*browser_, job_button(job)));
  ASSERT_TRUE(
      browser_->wait_for("document.querySelectorAll('#host-grid button.host').length === 3", 30s))
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("location.hash"), "#biz/1/" + job);
  ASSERT_TRUE(browser_->wait_for(cell_status("101") + " === 'running' && " + cell_status("102") +
                                     " === 'running' && " + cell_status("103") + " === 'running'",
                                 30s))
      << browser_->evaluate("window.cellHistory").dump();
  EXPECT_EQ(browser_->evaluate("document.getElementById('job-status').dataset.status"), "running");

  // The failing host's log, followed while its script still prints.
  ASSERT_TRUE(click(*browser_, cell("103")));
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('log-host').textContent.startsWith('Following host 192.0.2.3 in')",
      20s))
      << browser_->evaluate("document.getElementById('log-host').textContent").dump();
  int growths_while_running = 0;
  int last_length = -1;
  const bool grew = wait_until(
      [&] {
        const json now = browser_->evaluate(
            "({length: document.getElementById('log-pane').textContent.length,"
            "  job: document.getElementById('job-status').dataset.status})");
        if (!now.is_object() || now.value("job", "") != "running") return false;
        const int length = now.value("length", 0);
        if (last_length > 0 && length > last_length) ++growths_while_running;
        if (length > 0) last_length = length;
        return growths_while_running >= 2;
      },
      30s, 200ms);
  EXPECT_TRUE(grew) << "the pane grew " << growths_while_running
                    << " times while the job ran; pane: "
                    << browser_->evaluate("document.getElementById('log-pane').textContent").dump();

  // Script output is text: the markup is shown as written and never becomes an element.
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('log-pane').textContent.includes('<script>alert(1)</script>\\n')",
      20s));
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#log-pane *').length"), 0);
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('script').length"), scripts_before);
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('script')]"
                               ".some((s) => s.textContent.includes('alert'))"),
            false);
  EXPECT_EQ(browser_->evaluate("document.getElementById('job-status').dataset.status"), "running");
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-live-running.png"));

  // Released: the cells turn final as jobgw reads the end, with no reload.
  std::ofstream(gate) << "go\n";
  ASSERT_TRUE(browser_->wait_for(cell_status("101") + " === 'success' && " + cell_status("102") +
                                     " === 'success' && " + cell_status("103") + " === 'failed'",
                                 30s))
      << browser_->evaluate("window.cellHistory").dump() << diagnostics(stack);
  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('job-status').dataset.status === 'failed'", 30s));
  ASSERT_TRUE(browser_->wait_for(
      "document.getElementById('log-status').dataset.status === 'failed' && "
      "document.getElementById('log-status').textContent.includes('exit code 3')",
      30s))
      << browser_->evaluate("document.getElementById('log-status').textContent").dump();
  EXPECT_NE(browser_->evaluate("document.getElementById('log-pane').textContent")
                .get<std::string>()
                .find("host 192.0.2.3: restart failed\n"),
            std::string::npos);
  // Each cell was seen running before its final status, and never went back.
  const json history = browser_->evaluate("window.cellHistory");
  for (const auto& [key, last] : {std::pair<std::string, std::string>{"101", "success"},
                                  {"102", "success"},
                                  {"103", "failed"}}) {
    ASSERT_TRUE(history.contains(key)) << history.dump();
    const auto seen = history[key].get<std::vector<std::string>>();
    ASSERT_GE(seen.size(), 2u) << key << ": " << history.dump();
    EXPECT_EQ(seen[seen.size() - 2], "running") << key << ": " << history.dump();
    EXPECT_EQ(seen.back(), last) << key << ": " << history.dump();
  }
  // The list catches up with the job's end too.
  EXPECT_TRUE(browser_->wait_for(job_button(job) + ".dataset.status === 'failed'", 20s));
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('script').length"), scripts_before);
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-live-finished.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

// While JOB is unreachable the job's view says so (its statuses may be stale), and the notice
// goes once JOB answers again.
TEST_F(BrowserE2eTest, AJobOutageShowsANoticeThatGoesWhenJobIsBack) {
  GatewayStack stack(
      three_hosts({}, {"--job.unreachable_after_ms=1000", "--watch.poll_ceiling_ms=500"}));
  const int port = stack.http_port();
  const std::string job = submit_over_http(port, execute_body("outage", "sleep 120", {101}));
  ASSERT_FALSE(job.empty()) << diagnostics(stack);
  ASSERT_TRUE(browser_->navigate(page_url(port, "#biz/1/" + job))) << browser_->process_log();
  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('job-status').dataset.status === 'running'", 30s))
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("document.getElementById('job-notice').hidden"), true);

  stack.set_faults({"*:status=503"});
  const std::string notice = "document.getElementById('job-notice')";
  ASSERT_TRUE(browser_->wait_for(
      "!" + notice + ".hidden && " + notice + ".textContent.includes('cannot reach JOB')", 30s))
      << diagnostics(stack);
  EXPECT_NE(browser_->evaluate(notice + ".textContent").get<std::string>().find("HTTP 503"),
            std::string::npos);
  EXPECT_EQ(browser_->evaluate("document.getElementById('job-status').dataset.status"), "running")
      << "the last state read stays on screen";

  stack.clear_faults();
  ASSERT_TRUE(browser_->wait_for(notice + ".hidden", 30s)) << diagnostics(stack);
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(BrowserE2eTest, TokenModeAsksForATokenAndKeepsItOutOfUrlsAndLogs) {
  StackOptions options = three_hosts({}, {"--follow.interval_ms=300"});
  options.credentials_json = ops_and_reader_credentials();
  GatewayStack stack(options);
  const int port = stack.http_port();
  ASSERT_GT(port, 0);
  const std::string job = submit_over_http(
      port, execute_body("token mode", "echo \"hello from $JOB_HOST_ID\"; sleep 1", {101, 102}),
      {{"Authorization", std::string("Bearer ") + kOpsToken}});
  ASSERT_FALSE(job.empty()) << stack.logs();

  browser_->set_viewport(1280, 800);
  ASSERT_TRUE(browser_->navigate(page_url(port))) << browser_->process_log();
  // More than the default 250 entries: every request of the test stays inspectable.
  browser_->evaluate("performance.setResourceTimingBufferSize(100000)");
  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('conn').dataset.state === 'error' && "
                         "document.getElementById('conn').textContent.includes('UNAUTHENTICATED')",
                         20s))
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("document.activeElement.id"), "token-input");
  EXPECT_EQ(browser_->evaluate("document.getElementById('token-input')"
                               ".getAttribute('aria-invalid')"),
            "true");
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#job-list button.job').length"), 0);
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-token-401.png"));

  // Typed as a user would, into the field the page focused.
  for (const char c : std::string(kReaderToken)) {
    ASSERT_TRUE(browser_->press_key(std::string(1, c)));
  }
  ASSERT_TRUE(browser_->press_key("Enter"));
  ASSERT_TRUE(browser_->wait_for("!!" + job_button(job), 20s)) << diagnostics(stack);
  ASSERT_TRUE(browser_->wait_for("document.getElementById('conn').dataset.state === 'live'", 20s))
      << diagnostics(stack);
  // The 401 answers before the token are logged by the browser as failed loads; from here on
  // nothing may be logged.
  browser_->clear_console_errors();
  EXPECT_EQ(browser_->evaluate("document.getElementById('token-input').value"), "");
  EXPECT_EQ(browser_->evaluate("document.getElementById('token-input').hasAttribute("
                               "'aria-invalid')"),
            false);

  // With the token, the job's hosts and a host's log come through too.
  ASSERT_TRUE(click(*browser_, job_button(job)));
  ASSERT_TRUE(browser_->wait_for(
      cell_status("101") + " === 'success' && " + cell_status("102") + " === 'success'", 30s))
      << diagnostics(stack);
  // The job has just ended and the page is redrawing it (its outputs arrive right after the
  // end): a click landing in that redraw may follow nothing, so it is made again until the log
  // shows (twice in ~10 full-suite runs the pane stayed empty after a single click).
  const std::string log_shown =
      "document.getElementById('log-pane').textContent === 'hello from 102\\n'";
  ASSERT_TRUE(wait_until(
      [&] { return click(*browser_, cell("102")) && browser_->wait_for(log_shown, 5s); }, 30s))
      << browser_->evaluate("document.getElementById('log-pane').textContent").dump()
      << diagnostics(stack);
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-token-accepted.png"));

  const json urls = browser_->evaluate(
      "[location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]");
  ASSERT_TRUE(urls.is_array()) << urls.dump();
  int list_requests = 0;
  for (const auto& url : urls) {
    const std::string u = url.get<std::string>();
    EXPECT_EQ(u.find(kReaderToken), std::string::npos) << u;
    list_requests += u.find("/v1/jobs?") != std::string::npos;
  }
  // Requests made with the token are among those checked.
  EXPECT_GE(list_requests, 2) << urls.dump();
  const std::string logs = stack.all_logs();
  EXPECT_EQ(logs.find(kReaderToken), std::string::npos) << "the page's token reached a log";
  EXPECT_EQ(logs.find(kOpsToken), std::string::npos) << "a token reached a log";
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

// jobsim's built-in plan 1 ("three steps": set greeting, confirm, print greeting) picked, run,
// confirmed and read back through the page alone.
TEST_F(BrowserE2eTest, APlanPickedRunAndConfirmedInThePageShowsItsOutputs) {
  GatewayStack stack(three_hosts({}, {"--watch.poll_ceiling_ms=500"}));
  const int port = stack.http_port();
  ASSERT_GT(port, 0);
  browser_->set_viewport(1280, 900);
  ASSERT_TRUE(browser_->navigate(page_url(port))) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("document.getElementById('conn').dataset.state === 'live'", 20s))
      << diagnostics(stack);

  ASSERT_TRUE(click(*browser_, "document.getElementById('tab-plans')"));
  ASSERT_TRUE(click(*browser_, "document.getElementById('plans-scope')"));
  ASSERT_TRUE(browser_->press_key("1"));
  const std::string plan_button =
      "document.querySelector('#plan-list button.plan[data-plan-id=\"1\"]')";
  ASSERT_TRUE(browser_->wait_for("!!" + plan_button, 20s))
      << browser_->evaluate("document.getElementById('plans-status').textContent").dump()
      << diagnostics(stack);
  ASSERT_TRUE(click(*browser_, plan_button));
  const std::string who = "document.querySelector('#plan-vars input[data-var-name=\"who\"]')";
  ASSERT_TRUE(browser_->wait_for("!!" + who, 20s)) << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate(who + ".value"), "world");
  EXPECT_EQ(browser_->evaluate("document.querySelector('#plan-vars input[data-var-name=\"token\"]')"
                               ".value"),
            "");
  // Typed as a user would: the default selected and replaced.
  ASSERT_TRUE(click(*browser_, who));
  browser_->evaluate(who + ".select()");
  for (const char c : std::string("browser")) ASSERT_TRUE(browser_->press_key(std::string(1, c)));
  EXPECT_EQ(browser_->evaluate(who + ".value"), "browser");
  ASSERT_TRUE(click(*browser_, "document.getElementById('plan-run')"));

  // The new job's view: three steps, then the confirmation's prompt.
  ASSERT_TRUE(browser_->wait_for("location.hash.startsWith('#biz/1/')", 30s))
      << browser_->evaluate("document.getElementById('plan-error').textContent").dump()
      << diagnostics(stack);
  ASSERT_TRUE(
      browser_->wait_for("document.querySelectorAll('#step-list button.step').length === 3", 30s))
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("[...document.querySelectorAll('#step-list .step-name')]"
                               ".map((e) => e.textContent)"),
            json({"set greeting", "confirm", "print greeting"}));
  ASSERT_TRUE(browser_->wait_for("!document.getElementById('step-prompt').hidden", 60s))
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-prompt-text').textContent"),
            "Step \"confirm\" is waiting for confirmation.");
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-plan-waiting.png"));
  ASSERT_TRUE(click(*browser_, "document.getElementById('step-confirm')"));

  ASSERT_TRUE(
      browser_->wait_for("document.getElementById('job-status').dataset.status === 'success'", 60s))
      << browser_->evaluate("document.getElementById('step-prompt-status').textContent").dump()
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate("document.getElementById('step-prompt').hidden"), true);
  const std::string greeting =
      "document.querySelector('#outputs-log-vars > div[data-name=\"greeting\"] dd')";
  ASSERT_TRUE(browser_->wait_for("!!" + greeting, 30s))
      << browser_->evaluate("document.getElementById('job-outputs').textContent").dump()
      << diagnostics(stack);
  EXPECT_EQ(browser_->evaluate(greeting + ".textContent"), "hello, browser");
  EXPECT_EQ(
      browser_->evaluate("document.querySelector('#outputs-vars > div[data-name=\"greeting\"] "
                         "dd').textContent"),
      "hello, browser");
  EXPECT_EQ(browser_->evaluate("document.querySelector('#outputs-hosts > div[data-name="
                               "\"Succeeded\"] dd').textContent"),
            "192.0.2.1, 192.0.2.2");
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-plan-finished.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

TEST_F(BrowserE2eTest, AThousandHostGridStaysResponsive) {
  constexpr int kHosts = 1000;
  StackOptions options;
  options.hosts = kHosts;
  // Synthetic hosts: each ends after 3-15 s, one in ten failing, so changes keep arriving for a
  // while after the page drew the first snapshot.
  options.jobsim_args = {"--executor",         "synthetic", "--synthetic-min-ms",    "3000",
                         "--synthetic-max-ms", "15000",     "--synthetic-fail-rate", "0.1"};
  options.jobgw_args = {"--watch.poll_ceiling_ms=1000"};
  GatewayStack stack(options);
  const int port = stack.http_port();
  ASSERT_GT(port, 0);

  browser_->set_viewport(1280, 800);
  ASSERT_TRUE(browser_->navigate(page_url(port))) << browser_->process_log();
  ASSERT_TRUE(browser_->wait_for("document.getElementById('conn').dataset.state === 'live'", 20s))
      << diagnostics(stack);

  std::vector<std::int64_t> hosts;
  for (int i = 0; i < kHosts; ++i) hosts.push_back(101 + i);
  auto request = script_request("echo big", hosts);
  request.set_task_name("fleet check");
  const Submitted submitted = execute(stack.stub(), request);
  ASSERT_TRUE(submitted.status.ok()) << submitted.status.error_message();
  const std::string job = std::to_string(submitted.ref.job_instance_id());

  // A deep link opens the job straight away.
  ASSERT_TRUE(browser_->navigate(page_url(port, "#biz/1/" + job)));
  ASSERT_TRUE(browser_->wait_for(
      "document.querySelectorAll('#host-grid button.host').length === 1000", 30s))
      << diagnostics(stack);
  browser_->evaluate(
      "Object.assign(window.jobgwStats, {events: 0, renders: 0, maxRenderMs: 0,"
      " totalRenderMs: 0, lastRenderAt: 0})");

  const std::string final_cells =
      "document.querySelectorAll('#host-grid button.host[data-status=\"success\"],"
      " #host-grid button.host[data-status=\"failed\"]').length";
  ASSERT_TRUE(browser_->wait_for(final_cells + " === 1000", 90s))
      << browser_->evaluate("document.getElementById('host-counts').textContent").dump()
      << diagnostics(stack);
  ASSERT_TRUE(browser_->wait_for(kRendersSettled, 20s));
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#host-grid button.host').length"),
            kHosts);
  EXPECT_EQ(browser_->evaluate("document.querySelector('button.step .step-hosts').textContent"),
            "1000/1000 hosts");

  // The cells agree with what jobgw itself reports for the job.
  const HttpResponse status = http_get(port, "/v1/scopes/biz/1/jobs/" + job, {}, 30s);
  ASSERT_EQ(status.status, 200) << status.body;
  const json body = json::parse(status.body, nullptr, false);
  int api_success = 0;
  for (const auto& h : body["steps"][0]["hosts"]) {
    api_success += h.value("status", "") == "HOST_STATUS_SUCCESS";
  }
  EXPECT_EQ(browser_->evaluate("document.querySelectorAll('#host-grid "
                               "button.host[data-status=\"success\"]').length"),
            api_success);

  const json stats = browser_->evaluate("window.jobgwStats");
  ASSERT_TRUE(stats.is_object()) << stats.dump();
  EXPECT_GE(stats["totalRenderMs"].get<double>(), stats["maxRenderMs"].get<double>());
  std::printf(
      "[ metric ] grid_hosts=%d renders=%d events=%d max_render_ms=%.1f "
      "total_render_ms=%.1f\n",
      kHosts, stats["renders"].get<int>(), stats["events"].get<int>(),
      stats["maxRenderMs"].get<double>(), stats["totalRenderMs"].get<double>());
  RecordProperty("renders", stats["renders"].get<int>());
  RecordProperty("events", stats["events"].get<int>());
  RecordProperty("max_render_ms", std::to_string(stats["maxRenderMs"].get<double>()));
  RecordProperty("total_render_ms", std::to_string(stats["totalRenderMs"].get<double>()));
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-1000-hosts.png"));

  // Input round trip: from the mouse press on a cell (the event's own time stamp) to the first
  // frame whose log header names that host, both on the page's clock.
  const std::string target = cell("777");
  const json label = browser_->evaluate(target + ".querySelector('.host-name').textContent");
  ASSERT_TRUE(label.is_string()) << label.dump();
  browser_->evaluate(target + ".scrollIntoView({block: 'center'})");
  ASSERT_EQ(
      browser_->evaluate("(() => { const grid = document.getElementById('host-grid');"
                         " const header = document.getElementById('log-host');"
                         " const wanted = 'Following host ' + " +
                         js(label.get<std::string>()) +
                         " + ' in ';"
                         " window.clickRoundTrip = new Promise((resolve) => {"
                         "   let pressed = 0;"
                         "   grid.addEventListener('mousedown', (e) => { pressed = e.timeStamp; },"
                         "                         {capture: true, once: true});"
                         "   const check = () => {"
                         "     if (pressed && header.textContent.startsWith(wanted)) {"
                         "       resolve(performance.now() - pressed);"
                         "     } else { requestAnimationFrame(check); }"
                         "   };"
                         "   requestAnimationFrame(check);"
                         " });"
                         " return true; })()"),
      true);
  ASSERT_TRUE(click(*browser_, target));
  const json round_trip = browser_->evaluate("window.clickRoundTrip", 20s);
  ASSERT_TRUE(round_trip.is_number()) << round_trip.dump();
  EXPECT_GE(round_trip.get<double>(), 0.0);
  std::printf("[ metric ] grid_hosts=%d click_to_log_header_ms=%.1f\n", kHosts,
              round_trip.get<double>());
  RecordProperty("click_to_log_header_ms", std::to_string(round_trip.get<double>()));
  EXPECT_EQ(browser_->evaluate(target + ".getAttribute('aria-current')"), "true");
  EXPECT_TRUE(browser_->screenshot(kOutputDir + "/e2e-1000-hosts-followed.png"));
  EXPECT_TRUE(browser_->console_errors().empty()) << joined(browser_->console_errors());
}

}  // namespace
}  // namespace jobgw::testing
