#include "server/http_api.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "core/base/log_throttle.h"
#include "core/logs/log_follow_hub.h"
#include "core/watch/watch_hub.h"
#include "jobgw/v1/job_gateway.pb.h"
#include "server/job_gateway_service.h"
#include "server/proto_mapping.h"
#include "server/server_metrics.h"
#include "server/status_mapping.h"
#include "server/url_decode.h"
#include "server/web_assets.h"

namespace jobgw::server {
namespace {

namespace pb = google::protobuf;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kJson = "application/json";
// The page's only sources are its own files; nothing inline, nothing from elsewhere.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(sep, start);
    parts.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

struct ApiError {
  int http = 400;
  CallStatus status;
};

ApiError api_error(int http, StatusCode code, std::string message) {
  return ApiError{http, CallStatus(code, std::move(message))};
}

std::string error_body(const CallStatus& status, int http) {
  Json body = {{"code", code_name(status.code)}, {"message", status.message}, {"httpStatus", http}};
  if (!status.trailers.empty()) {
    Json details = Json::object();
    for (const auto& [key, value] : status.trailers) details[key] = value;
    body["details"] = std::move(details);
  }
  return body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string print_json(const pb::Message& message) {
  std::string out;
  pb::util::JsonPrintOptions options;
  // Canonical mapping; a failure here would be a bug in the message, never the caller's input.
  if (!pb::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

// One query parameter or path parameter into the JSON object the library then parses, by the
// request message's descriptor: repeated fields collect every value; Host lists take
// "cloud_id:ip"; scalars go in as strings, which the protobuf JSON parser accepts for every
// scalar type (and checks: a bad number names the field).
std::optional<ApiError> put_param(Json& object, const pb::Descriptor* descriptor,
                                  const std::string& name, const std::string& value) {
  const auto path = split(name, '.');
  Json* node = &object;
  const pb::Descriptor* d = descriptor;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const pb::FieldDescriptor* field = d->FindFieldByName(path[i]);
    if (field == nullptr) field = d->FindFieldByCamelcaseName(path[i]);
    if (field == nullptr) {
      return api_error(400, StatusCode::kInvalidArgument,
                       "query parameter " + name + ": no such field in " + descriptor->name());
    }
    const std::string key = field->name();
    const bool last = i + 1 == path.size();
    if (!last) {
      if (field->type() != pb::FieldDescriptor::TYPE_MESSAGE || field->is_repeated()) {
        return api_error(400, StatusCode::kInvalidArgument,
                         "query parameter " + name + ": " + key + " has no fields");
      }
      Json& child = (*node)[key];
      if (!child.is_object()) child = Json::object();
      node = &child;
      d = field->message_type();
      continue;
    }
    Json item = value;
    if (field->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (field->message_type()->full_name() != "jobgw.v1.Host") {
        return api_error(400, StatusCode::kInvalidArgument,
                         "query parameter " + name + ": give its fields (" + key + ".<field>)");
      }
      const std::size_t colon = value.find(':');
      if (colon == std::string::npos) {
        return api_error(
            400, StatusCode::kInvalidArgument,
            "query parameter " + name + ": expected CLOUD_ID:IP, got \"" + value + "\"");
      }
      item = Json{{"cloudId", value.substr(0, colon)}, {"ip", value.substr(colon + 1)}};
    }
    Json& slot = (*node)[key];
    if (field->is_repeated()) {
      if (!slot.is_array()) slot = Json::array();
      slot.push_back(std::move(item));
    } else {
      if (!slot.is_null()) {
        return api_error(400, StatusCode::kInvalidArgument,
                         "query parameter " + name + ": given more than once");
      }
      slot = std::move(item);
    }
  }
  return std::nullopt;
}

std::optional<ApiError> parse_into(const Json& object, pb::Message* message, const char* where) {
  pb::util::JsonParseOptions options;
  auto status = pb::util::JsonStringToMessage(
      object.dump(-1, ' ', false, Json::error_handler_t::replace), message, options);
  if (status.ok()) return std::nullopt;
  return api_error(400, StatusCode::kInvalidArgument,
                   std::string(where) + ": " + std::string(status.message()));
}

// The request message from the query string, the path's parameters and, for POST, the body.
std::optional<ApiError> build_request(const HttpListenerRequest& http, const Json& path_params,
                                      bool body_allowed, pb::Message* message) {
  Json object = Json::object();
  if (body_allowed && !http.body.empty()) {
    if (http.content_type.find("application/json") == std::string::npos) {
      return api_error(
          415, StatusCode::kInvalidArgument,
          "body: Content-Type must be application/json, got \"" + http.content_type + "\"");
    }
    Json body = Json::parse(http.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return api_error(400, StatusCode::kInvalidArgument, "body: malformed JSON");
    }
    if (!body.is_object()) {
      return api_error(400, StatusCode::kInvalidArgument, "body: expected a JSON object");
    }
    // The library checks the body itself (names, types, unknown fields).
    if (auto bad = parse_into(body, message, "body")) return bad;
  }
  if (!http.query.empty()) {
    for (const std::string& pair : split(http.query, '&')) {
      if (pair.empty()) continue;
      const std::size_t eq = pair.find('=');
      auto name = url_decode(pair.substr(0, eq), true);
      auto value = url_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
      if (!name || !value) {
        return api_error(400, StatusCode::kInvalidArgument,
                         "query: bad percent-encoding in \"" + pair + "\"");
      }
      if (auto bad = put_param(object, message->GetDescriptor(), *name, *value)) return bad;
    }
  }
  for (auto it = path_params.begin(); it != path_params.end(); ++it) object[it.key()] = *it;
  if (object.empty()) return std::nullopt;
  // Parsing replaces a message's contents, so the parameters go into a message of their own,
  // merged over what the body set: the path (and query) win.
  std::unique_ptr<pb::Message> params(message->New());
  if (auto bad = parse_into(object, params.get(), http.query.empty() ? "path" : "query")) {
    return bad;
  }
  message->MergeFrom(*params);
  return std::nullopt;
}

}  // namespace

int http_status_of(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCancelled:
      return 499;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpListenerResponse own_answer(int status, std::string_view message) {
  StatusCode code = StatusCode::kInvalidArgument;
  if (status == 413 || status == 431) code = StatusCode::kResourceExhausted;
  if (status >= 500) code = StatusCode::kInternal;
  std::string text(message);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  HttpListenerResponse out;
  out.status = status;
  out.content_type = kJson;
  out.body = error_body(CallStatus(code, text), status);
  return out;
}

std::vector<std::string> parse_origins(const std::string& list) {
  std::vector<std::string> out;
  for (std::string origin : split(list, ',')) {
    while (!origin.empty() && origin.front() == ' ') origin.erase(origin.begin());
    while (!origin.empty() && origin.back() == ' ') origin.pop_back();
    if (!origin.empty()) out.push_back(std::move(origin));
  }
  return out;
}

// A route's answer helpers and the state every stream shares.
class HttpApi::Impl : public std::enable_shared_from_this<HttpApi::Impl> {
 public:
  Impl(JobGatewayService& service, core::Scheduler& scheduler, HttpApiOptions options)
      : service_(service), scheduler_(scheduler), options_(std::move(options)) {}

  void handle(const HttpListenerRequest& http, const std::shared_ptr<HttpResponder>& responder);

  // CORS headers for an allowed Origin (empty otherwise).
  Headers cors(const HttpListenerRequest& http) const {
    const std::string origin = http.header("origin");
    if (origin.empty()) return {};
    if (std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) ==
        options_.cors_origins.end()) {
      return {};
    }
    return {{"Access-Control-Allow-Origin", origin}, {"Vary", "Origin"}};
  }

  HttpListenerResponse error(const HttpListenerRequest& http, const ApiError& e) const {
    HttpListenerResponse out;
    out.status = e.http;
    out.content_type = kJson;
    out.headers = cors(http);
    for (const auto& [key, value] : e.status.trailers) {
      out.headers.emplace_back(key, value);
      if (key == "retry-after-ms") {
        std::int64_t ms = std::atoll(value.c_str());
        out.headers.emplace_back("Retry-After",
                                 std::to_string(std::max<std::int64_t>(1, (ms + 999) / 1000)));
      }
    }
    out.body = error_body(e.status, e.http);
    return out;
  }

  // A request that did not make a call (bad JSON, a bad query): the call pipeline logs every
  // other refusal. Only as many lines as the throttle admits: anyone can send these at will.
  HttpListenerResponse refused(const HttpListenerRequest& http, const ApiError& e) const {
    core::LogThrottle* throttle = options_.refusal_log;
    if (throttle != nullptr &&
        throttle->admit(e.http == 415 ? "wrong_content_type" : "malformed")) {
      spdlog::warn(
          "event=http_request_refused method={} path=\"{}\" status={} remote={} error=\"{}\"",
          http.method.substr(0, 16), http.path.substr(0, 200), e.http, http.remote,
          e.status.message.substr(0, 300));
    }
    return error(http, e);
  }

  HttpListenerResponse error_of(const HttpListenerRequest& http, const CallStatus& status) const {
    return error(http, ApiError{http_status_of(status.code), status});
  }

  HttpListenerResponse ok_json(const HttpListenerRequest& http, const pb::Message& message) const {
    HttpListenerResponse out;
    out.status = 200;
    out.content_type = kJson;
    out.headers = cors(http);
    out.headers.emplace_back("Cache-Control", "no-store");
    out.body = print_json(message) + "\n";
    return out;
  }

  static CallInput input_of(const HttpListenerRequest& http) {
    CallInput input;
    for (const auto& [name, value] : http.headers) {
      if (name == "authorization") input.presented.authorization.push_back(value);
    }
    return input;
  }

  // A unary route: the request message, the service's method, the response message as JSON.
  template <typename Req, typename Resp>
  void unary(const HttpListenerRequest& http, const std::shared_ptr<HttpResponder>& responder,
             const Json& path_params, bool body_allowed,
             void (JobGatewayService::*method)(const CallInput&, const Req&, Resp*,
                                               Call::Respond)) {
    auto messages = std::make_shared<std::pair<Req, Resp>>();
    if (auto bad = build_request(http, path_params, body_allowed, &messages->first)) {
      responder->respond(refused(http, *bad));
      return;
    }
    auto self = shared_from_this();
    // The answer is built from a copy of what the request needs, not the request itself: it
    // may arrive after the listener moved on.
    HttpListenerRequest head;
    head.headers = http.headers;
    (service_.*method)(input_of(http), messages->first, &messages->second,
                       [self, messages, responder, head](const CallStatus& status) {
                         responder->respond(status.ok() ? self->ok_json(head, messages->second)
                                                        : self->error_of(head, status));
                       });
  }

  void stream_opened() {
    const std::size_t open = ++open_streams_;
    if (options_.metrics != nullptr) options_.metrics->http_streams(open);
  }
  void stream_closed() {
    const std::size_t open = --open_streams_;
    if (options_.metrics != nullptr) options_.metrics->http_streams(open);
  }

  JobGatewayService& service_;
  core::Scheduler& scheduler_;
  const HttpApiOptions options_;
  std::atomic<std::size_t> open_streams_{0};
};

namespace {

// One event stream (text/event-stream) over a source the service opened: pulls one item at a
// time and waits for each write, so a slow reader holds only its own bounded backlog in the
// source, never a queue here. Heartbeat comments keep idle streams alive through proxies. The
// stream keeps itself alive through the responder's on_close until the answer ends.
template <typename Proto, typename Source, typename Item, typename Event>
class EventStream : public std::enable_shared_from_this<EventStream<Proto, Source, Item, Event>> {
 public:
  using Convert = void (*)(const Event&, Proto*);

  EventStream(std::shared_ptr<HttpApi::Impl> api, std::shared_ptr<HttpResponder> responder,
              HttpListenerRequest head, const char* event_name, Convert convert)
      : api_(std::move(api)),
        responder_(std::move(responder)),
        head_(std::move(head)),
        event_name_(event_name),
        convert_(convert) {}

  ~EventStream() { api_->stream_closed(); }

  // `make_call` builds the stream's Call around the respond given; `open` runs the pipeline and
  // opens the source (null: refused, the call is finished and its status answers the request).
  template <typename MakeCall, typename Open>
  void start(MakeCall make_call, Open open) {
    api_->stream_opened();
    auto self = this->shared_from_this();
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      call_ = make_call([this](const CallStatus& status) { final_ = status; });
      source_ = open(*call_);
      if (source_ == nullptr) {
        done_ = true;
        responder_->respond(
            api_->error_of(head_, final_.value_or(CallStatus(StatusCode::kInternal, "no stream"))));
        return;
      }
      Headers headers = api_->cors(head_);
      headers.emplace_back("Cache-Control", "no-store");
      // nginx buffers responses unless told not to; events must reach the browser as they come.
      headers.emplace_back("X-Accel-Buffering", "no");
      responder_->start_stream(200, "text/event-stream; charset=utf-8", std::move(headers));
      responder_->on_close([self] { self->closed(); });
      schedule_heartbeat();
    }
    pull();
  }

 private:
  void pull() {
    std::weak_ptr<EventStream> weak = this->shared_from_this();
    source_->next([weak](Item item) {
      if (auto self = weak.lock()) self->on_item(std::move(item));
    });
  }

  void on_item(Item item) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (done_) return;
    if (item.is_end()) {
      if (item.error) {
        call_->finish(map_stream_end(*item.error), item.error->describe());
      } else {
        call_->finish_ok();
      }
      end_locked();
      return;
    }
    Proto proto;
    convert_(*item.event, &proto);
    std::string frame = "id: " + std::to_string(proto.seq()) + "\nevent: " + event_name_ +
                        "\ndata: " + print_json(proto) + "\n\n";
    enqueue_locked(std::move(frame), /*then_pull=*/true);
  }

  // The call ended (source end, or the gateway stopping it): one `end` event with its status.
  void end_locked() {
    done_ = true;
    if (timer_) timer_->cancel();
    const CallStatus status = final_.value_or(CallStatus());
    Json end = {{"code", code_name(status.code)}, {"message", status.message}};
    enqueue_locked(
        "event: end\ndata: " + end.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n",
        false);
    ending_ = true;
    if (!writing_) finish_locked();
  }

  void finish_locked() {
    if (finished_) return;
    finished_ = true;
    responder_->finish();
  }

  void enqueue_locked(std::string frame, bool then_pull) {
    queue_.push_back(Frame{std::move(frame), then_pull});
    if (!writing_) write_next_locked();
  }

  void write_next_locked() {
    if (queue_.empty()) {
      if (ending_) finish_locked();
      return;
    }
    Frame frame = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    auto self = this->shared_from_this();
    const bool then_pull = frame.then_pull;
    responder_->write(std::move(frame.text),
                      [self, then_pull](bool ok) { self->written(ok, then_pull); });
  }

  void written(bool ok, bool then_pull) {
    bool pull_now = false;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        closed_locked("the stream broke while writing");
        return;
      }
      write_next_locked();
      pull_now = then_pull && !done_;
    }
    if (pull_now) pull();
  }

  // The client went away (or the listener stopped).
  void closed() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    closed_locked("the client closed the stream");
  }

  void closed_locked(const char* why) {
    finished_ = true;
    queue_.clear();
    if (timer_) timer_->cancel();
    if (done_) return;
    done_ = true;
    // The source's state for this stream (a hub queue, a log cursor) is freed now.
    if (source_) source_->cancel();
    call_->finish(CallStatus(StatusCode::kCancelled, why), why);
  }

  void schedule_heartbeat() {
    std::weak_ptr<EventStream> weak = this->shared_from_this();
    timer_ = api_->scheduler_.after(api_->options_.heartbeat, [weak] {
      auto self = weak.lock();
      if (!self) return;
      std::lock_guard<std::recursive_mutex> lock(self->mu_);
      if (self->done_) return;
      if (!self->writing_ && self->queue_.empty()) self->enqueue_locked(": heartbeat\n\n", false);
      self->schedule_heartbeat();
    });
  }

  struct Frame {
    std::string text;
    bool then_pull = false;
  };

  std::shared_ptr<HttpApi::Impl> api_;
  std::shared_ptr<HttpResponder> responder_;
  const HttpListenerRequest head_;
  const char* event_name_;
  Convert convert_;

  // Recursive: a responder may complete a write at once on the calling thread.
  std::recursive_mutex mu_;
  std::unique_ptr<Call> call_;
  std::shared_ptr<Source> source_;
  std::optional<CallStatus> final_;
  std::deque<Frame> queue_;
  std::shared_ptr<core::Timer> timer_;
  bool writing_ = false;
  bool done_ = false;      // no more events: ended, refused or closed
  bool ending_ = false;    // the end event is queued
  bool finished_ = false;  // the answer ended (or the connection is gone)
};

void convert_status(const core::WatchEvent& event, v1::StatusEvent* out) { to_proto(event, out); }
void convert_log(const core::LogEvent& event, v1::LogEvent* out) { to_proto(event, out); }

// The seq a stream resumes after: Last-Event-ID wins over the after_seq parameter.
std::optional<ApiError> resume_from(const HttpListenerRequest& http, std::uint64_t* after_seq) {
  const std::string last = http.header("last-event-id");
  if (last.empty()) return std::nullopt;
  if (last.size() > 20 ||
      !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return api_error(400, StatusCode::kInvalidArgument,
                     "Last-Event-ID: expected the id (a seq) of an event this stream sent, got \"" +
                         last.substr(0, 40) + "\"");
  }
  *after_seq = std::strtoull(last.c_str(), nullptr, 10);
  return std::nullopt;
}

// A stream route: the request from the path, query and Last-Event-ID, then an EventStream over
// what the service opens for it.
template <typename Proto, typename Source, typename Item, typename Event, typename Request>
void serve_stream(HttpApi::Impl& api, const HttpListenerRequest& http,
                  const std::shared_ptr<HttpResponder>& responder, const Json& path_params,
                  const char* method, const char* event_name, void (*convert)(const Event&, Proto*),
                  std::shared_ptr<Source> (JobGatewayService::*open)(Call&, const CallInput&,
                                                                     const Request&)) {
  auto request = std::make_shared<Request>();
  if (auto bad = build_request(http, path_params, false, request.get())) {
    responder->respond(api.refused(http, *bad));
    return;
  }
  std::uint64_t after = request->after_seq();
  if (auto bad = resume_from(http, &after)) {
    responder->respond(api.refused(http, *bad));
    return;
  }
  request->set_after_seq(after);
  HttpListenerRequest head;
  head.headers = http.headers;
  const CallInput input = HttpApi::Impl::input_of(http);
  JobGatewayService& service = api.service_;
  auto stream = std::make_shared<EventStream<Proto, Source, Item, Event>>(
      api.shared_from_this(), responder, head, event_name, convert);
  stream->start(
      [&](Call::Respond respond) {
        return service.stream_call(method, request->scope(), request->job_instance_id(),
                                   std::move(respond));
      },
      [&](Call& call) { return (service.*open)(call, input, *request); });
}

struct Route {
  // Method-independent: which operation the path names.
  enum class Op {
    kNone,
    kPage,
    kHealth,
    kListJobs,
    kExecuteScript,
    kTransferFile,
    kJobStatus,
    kTerminate,
    kEvents,
    kIpLogs,
    kFollowLogs,
    kListPlans,
    kGetPlan,
    kExecutePlan,
    kOperateStep,
    kOutputs
  } op = Op::kNone;
  const char* method = "GET";
  Json path_params = Json::object();
};

// Whether a path part is more than `suffix` and ends with it ("7:execute").
bool has_suffix(const std::string& part, const std::string& suffix) {
  return part.size() > suffix.size() &&
         part.compare(part.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every route of the face (README "HTTP API", docs/openapi.yaml).
std::optional<Route> match(const std::string& raw_path) {
  Route r;
  if (raw_path == "/healthz") {
    r.op = Route::Op::kHealth;
    return r;
  }
  if (raw_path.rfind("/v1/", 0) != 0) {
    if (find_web_asset(raw_path) != nullptr) {
      r.op = Route::Op::kPage;
      return r;
    }
    return std::nullopt;
  }
  std::vector<std::string> parts;
  for (const auto& part : split(std::string_view(raw_path).substr(1), '/')) {
    auto decoded = url_decode(part, false);
    if (!decoded) return std::nullopt;
    parts.push_back(std::move(*decoded));
  }
  if (parts.size() == 2 && parts[1] == "jobs") {
    r.op = Route::Op::kListJobs;
    return r;
  }
  if (parts.size() == 2 && parts[1] == "scripts:execute") {
    r.op = Route::Op::kExecuteScript;
    r.method = "POST";
    return r;
  }
  if (parts.size() == 2 && parts[1] == "files:transfer") {
    r.op = Route::Op::kTransferFile;
    r.method = "POST";
    return r;
  }
  if (parts.size() < 5 || parts[1] != "scopes") return std::nullopt;
  r.path_params["scope"] = {{"type", parts[2]}, {"id", parts[3]}};
  // /v1/scopes/{type}/{id}/plans[/{plan}[:execute]]
  const std::string execute_plan = ":execute";
  if (parts.size() == 5 && parts[4] == "plans") {
    r.op = Route::Op::kListPlans;
    return r;
  }
  if (parts.size() == 6 && parts[4] == "plans" && has_suffix(parts[5], execute_plan)) {
    r.op = Route::Op::kExecutePlan;
    r.method = "POST";
    r.path_params["job_plan_id"] = parts[5].substr(0, parts[5].size() - execute_plan.size());
    return r;
  }
  if (parts.size() == 6 && parts[4] == "plans") {
    r.op = Route::Op::kGetPlan;
    r.path_params["job_plan_id"] = parts[5];
    return r;
  }
  // /v1/scopes/{type}/{id}/jobs/{job}[...]
  if (parts.size() < 6 || parts[1] != "scopes" || parts[4] != "jobs") return std::nullopt;
  std::string job = parts[5];
  const std::string terminate = ":terminate";
  const std::string operate_step = ":operate";
  if (parts.size() == 8 && parts[6] == "steps" && has_suffix(parts[7], operate_step)) {
    // /v1/scopes/{type}/{id}/jobs/{job}/steps/{step}:operate
    r.op = Route::Op::kOperateStep;
    r.method = "POST";
    r.path_params["step_instance_id"] = parts[7].substr(0, parts[7].size() - operate_step.size());
  } else if (parts.size() == 6 && has_suffix(job, terminate)) {
    r.op = Route::Op::kTerminate;
    r.method = "POST";
    job.resize(job.size() - terminate.size());
  } else if (parts.size() == 7 && parts[6] == "outputs") {
    r.op = Route::Op::kOutputs;
  } else if (parts.size() == 6) {
    r.op = Route::Op::kJobStatus;
  } else if (parts.size() == 7 && parts[6] == "events") {
    r.op = Route::Op::kEvents;
  } else if (parts.size() == 7 && parts[6] == "logs") {
    r.op = Route::Op::kIpLogs;
  } else if (parts.size() == 8 && parts[6] == "logs" && parts[7] == "follow") {
    r.op = Route::Op::kFollowLogs;
  } else {
    return std::nullopt;
  }
  r.path_params["job_instance_id"] = job;
  return r;
}

}  // namespace

void HttpApi::Impl::handle(const HttpListenerRequest& http,
                           const std::shared_ptr<HttpResponder>& responder) {
  auto route = match(http.path);
  if (!route) {
    responder->respond(
        error(http, api_error(404, StatusCode::kNotFound, "no route " + http.path.substr(0, 200))));
    return;
  }
  if (http.method == "OPTIONS") {
    // A CORS preflight: allowed origins learn what they may send; others get no CORS headers,
    // so their browser refuses the call.
    HttpListenerResponse out;
    out.status = 204;
    out.headers = cors(http);
    if (!out.headers.empty()) {
      out.headers.emplace_back("Access-Control-Allow-Methods", route->method);
      out.headers.emplace_back("Access-Control-Allow-Headers",
                               "Authorization, Content-Type, Last-Event-ID");
      out.headers.emplace_back("Access-Control-Max-Age", "600");
    }
    responder->respond(std::move(out));
    return;
  }
  if (http.method != route->method) {
    HttpListenerResponse out =
        error(http, api_error(405, StatusCode::kUnimplemented,
                              http.method.substr(0, 20) + " is not allowed on " +
                                  http.path.substr(0, 200) + "; use " + route->method));
    out.headers.emplace_back("Allow", route->method);
    responder->respond(std::move(out));
    return;
  }
  switch (route->op) {
    case Route::Op::kHealth: {
      HttpListenerResponse out;
      out.body = "ok\n";
      if (options_.health_detail) out.body += options_.health_detail();
      responder->respond(std::move(out));
      return;
    }
    case Route::Op::kPage: {
      const WebAsset* asset = find_web_asset(http.path);
      HttpListenerResponse out;
      out.content_type = std::string(asset->content_type);
      out.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
                     {"X-Content-Type-Options", "nosniff"},
                     {"Referrer-Policy", "no-referrer"},
                     {"X-Frame-Options", "DENY"},
                     {"Cache-Control", "no-cache"},
                     {"ETag", std::string(asset->etag)}};
      if (http.header("if-none-match") == asset->etag) {
        out.status = 304;
      } else {
        out.body = std::string(asset->body);
      }
      responder->respond(std::move(out));
      return;
    }
    case Route::Op::kListJobs:
      unary(http, responder, route->path_params, false, &JobGatewayService::list_jobs);
      return;
    case Route::Op::kExecuteScript:
      unary(http, responder, route->path_params, true, &JobGatewayService::execute_script);
      return;
    case Route::Op::kTransferFile:
      unary(http, responder, route->path_params, true, &JobGatewayService::transfer_file);
      return;
    case Route::Op::kJobStatus:
      unary(http, responder, route->path_params, false, &JobGatewayService::get_job_status);
      return;
    case Route::Op::kTerminate:
      unary(http, responder, route->path_params, true, &JobGatewayService::terminate_job);
      return;
    case Route::Op::kIpLogs:
      unary(http, responder, route->path_params, false, &JobGatewayService::get_ip_logs);
      return;
    case Route::Op::kListPlans:
      unary(http, responder, route->path_params, false, &JobGatewayService::list_job_plans);
      return;
    case Route::Op::kGetPlan:
      unary(http, responder, route->path_params, false, &JobGatewayService::get_job_plan);
      return;
    case Route::Op::kExecutePlan:
      unary(http, responder, route->path_params, true, &JobGatewayService::execute_job_plan);
      return;
    case Route::Op::kOperateStep:
      unary(http, responder, route->path_params, true, &JobGatewayService::operate_step);
      return;
    case Route::Op::kOutputs:
      unary(http, responder, route->path_params, false, &JobGatewayService::get_job_outputs);
      return;
    case Route::Op::kEvents:
    case Route::Op::kFollowLogs:
      break;
    case Route::Op::kNone:
      return;
  }
  if (route->op == Route::Op::kEvents) {
    serve_stream<v1::StatusEvent, core::Subscription, core::WatchItem, core::WatchEvent,
                 v1::WatchStatusRequest>(*this, http, responder, route->path_params, "WatchStatus",
                                         "status", &convert_status, &JobGatewayService::open_watch);
  } else {
    serve_stream<v1::LogEvent, core::LogFollower, core::LogItem, core::LogEvent,
                 v1::FollowLogsRequest>(*this, http, responder, route->path_params, "FollowLogs",
                                        "log", &convert_log, &JobGatewayService::open_follow);
  }
}

HttpApi::HttpApi(JobGatewayService& service, core::Scheduler& scheduler, HttpApiOptions options)
    : impl_(std::make_shared<Impl>(service, scheduler, std::move(options))) {}

HttpApi::~HttpApi() = default;

void HttpApi::handle(const HttpListenerRequest& request, std::shared_ptr<HttpResponder> responder) {
  impl_->handle(request, responder);
}

AsyncHandler HttpApi::handler() {
  std::shared_ptr<Impl> impl = impl_;
  return [impl](const HttpListenerRequest& request, std::shared_ptr<HttpResponder> responder) {
    impl->handle(request, responder);
  };
}

std::size_t HttpApi::open_streams() const { return impl_->open_streams_.load(); }

}  // namespace jobgw::server
