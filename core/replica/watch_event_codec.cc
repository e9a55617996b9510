#include "core/replica/watch_event_codec.h"

#include <nlohmann/json.hpp>

namespace jobgw::core {
namespace {

using Json = nlohmann::json;

Json host_json(const HostResult& h) {
  return Json::array({h.host.host_id, h.host.cloud_id, h.host.ip, h.status, h.tag, h.exit_code,
                      h.error_code, h.start_time_ms, h.end_time_ms, h.total_time_ms});
}

Json snapshot_json(const JobSnapshot& s) {
  Json steps = Json::array();
  for (const StepSnapshot& step : s.steps) {
    Json hosts = Json::array();
    for (const HostResult& h : step.hosts) hosts.push_back(host_json(h));
    steps.push_back(
        {{"id", step.step_instance_id},
         {"ty", step.type},
         {"n", step.name},
         {"st", step.status},
         {"ec", step.execute_count},
         {"t", {step.create_time_ms, step.start_time_ms, step.end_time_ms, step.total_time_ms}},
         {"h", std::move(hosts)}});
  }
  return {{"sc", {s.scope.type, s.scope.id}},
          {"j", s.job_instance_id},
          {"n", s.name},
          {"st", s.status},
          {"f", s.finished},
          {"t", {s.create_time_ms, s.start_time_ms, s.end_time_ms, s.total_time_ms}},
          {"steps", std::move(steps)}};
}

// Reads fields by path and remembers the first one that is missing or of the wrong type.
class Reader {
 public:
  template <typename T>
  T get(const Json& parent, const char* key, const std::string& path) {
    auto it = parent.find(key);
    if (it == parent.end()) return fail<T>(path + "." + key, "missing");
    return as<T>(*it, path + "." + key);
  }

  template <typename T>
  T at(const Json& array, std::size_t i, const std::string& path) {
    if (!array.is_array() || i >= array.size()) {
      return fail<T>(path + "[" + std::to_string(i) + "]", "missing");
    }
    return as<T>(array[i], path + "[" + std::to_string(i) + "]");
  }

  template <typename T>
  T as(const Json& j, const std::string& path) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!j.is_string()) return fail<T>(path, "not a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!j.is_boolean()) return fail<T>(path, "not a boolean");
    } else {
      if (!j.is_number_integer()) return fail<T>(path, "not an integer");
    }
    return j.get<T>();
  }

  const Json& array(const Json& parent, const char* key, const std::string& path) {
    static const Json kEmpty = Json::array();
    auto it = parent.find(key);
    if (it == parent.end() || !it->is_array()) {
      fail<int>(path + "." + key, "not an array");
      return kEmpty;
    }
    return *it;
  }

  bool ok() const { return error_.empty(); }
  Error error() const { return Error::internal("stored watch state: " + error_); }

 private:
  template <typename T>
  T fail(const std::string& path, const char* what) {
    if (error_.empty()) error_ = path + ": " + what;
    return T{};
  }
  std::string error_;
};

void read_times(Reader& r, const Json& t, const std::string& path, std::int64_t* out[4]) {
  for (std::size_t i = 0; i < 4; ++i) *out[i] = r.at<std::int64_t>(t, i, path);
}

// The array host_json writes.
HostResult read_host(Reader& r, const Json& j, const std::string& path) {
  HostResult h;
  h.host.host_id = r.at<std::int64_t>(j, 0, path);
  h.host.cloud_id = r.at<std::int64_t>(j, 1, path);
  h.host.ip = r.at<std::string>(j, 2, path);
  h.status = r.at<int>(j, 3, path);
  h.tag = r.at<std::string>(j, 4, path);
  h.exit_code = r.at<int>(j, 5, path);
  h.error_code = r.at<int>(j, 6, path);
  h.start_time_ms = r.at<std::int64_t>(j, 7, path);
  h.end_time_ms = r.at<std::int64_t>(j, 8, path);
  h.total_time_ms = r.at<std::int64_t>(j, 9, path);
  return h;
}

JobSnapshot read_snapshot(Reader& r, const Json& j, const std::string& path) {
  JobSnapshot s;
  if (!j.is_object()) {
    r.as<std::string>(Json(), path);  // records "not a string": an object was expected
    return s;
  }
  const Json& scope = r.array(j, "sc", path);
  s.scope.type = r.at<std::string>(scope, 0, path + ".sc");
  s.scope.id = r.at<std::string>(scope, 1, path + ".sc");
  s.job_instance_id = r.get<std::int64_t>(j, "j", path);
  s.name = r.get<std::string>(j, "n", path);
  s.status = r.get<int>(j, "st", path);
  s.finished = r.get<bool>(j, "f", path);
  std::int64_t* times[4] = {&s.create_time_ms, &s.start_time_ms, &s.end_time_ms, &s.total_time_ms};
  read_times(r, r.array(j, "t", path), path + ".t", times);
  const Json& steps = r.array(j, "steps", path);
  for (std::size_t i = 0; i < steps.size() && r.ok(); ++i) {
    const std::string sp = path + ".steps[" + std::to_string(i) + "]";
    const Json& sj = steps[i];
    StepSnapshot step;
    step.step_instance_id = r.get<std::int64_t>(sj, "id", sp);
    step.type = r.get<int>(sj, "ty", sp);
    step.name = r.get<std::string>(sj, "n", sp);
    step.status = r.get<int>(sj, "st", sp);
    step.execute_count = r.get<int>(sj, "ec", sp);
    std::int64_t* step_times[4] = {&step.create_time_ms, &step.start_time_ms, &step.end_time_ms,
                                   &step.total_time_ms};
    read_times(r, r.array(sj, "t", sp), sp + ".t", step_times);
    const Json& hosts = r.array(sj, "h", sp);
    for (std::size_t k = 0; k < hosts.size() && r.ok(); ++k) {
      const std::string hp = sp + ".h[" + std::to_string(k) + "]";
      step.hosts.push_back(read_host(r, hosts[k], hp));
    }
    s.steps.push_back(std::move(step));
  }
  return s;
}

Json parse(const std::string& text) { return Json::parse(text, nullptr, false); }

}  // namespace

std::string encode_snapshot(const JobSnapshot& snapshot) { return snapshot_json(snapshot).dump(); }

Result<JobSnapshot> decode_snapshot(const std::string& text) {
  Json j = parse(text);
  if (j.is_discarded()) return Error::internal("stored watch state: snapshot is not JSON");
  Reader r;
  JobSnapshot s = read_snapshot(r, j, "snapshot");
  if (!r.ok()) return r.error();
  return s;
}

std::string encode_event(const WatchEvent& e) {
  Json j = {{"q", e.seq},
            {"k", static_cast<int>(e.kind)},
            {"o", e.observed_at_ms},
            {"os", e.old_status},
            {"ns", e.new_status},
            {"si", e.step_instance_id}};
  if (e.kind == WatchEventKind::kHostChanged) j["h"] = host_json(e.host);
  if (e.snapshot != nullptr) j["s"] = snapshot_json(*e.snapshot);
  return j.dump();
}

Result<WatchEvent> decode_event(const std::string& text) {
  Json j = parse(text);
  if (j.is_discarded() || !j.is_object()) {
    return Error::internal("stored watch state: event is not a JSON object");
  }
  Reader r;
  WatchEvent e;
  // In Redis the seq travels beside the event (Redis numbers the log), so it may be absent.
  if (j.contains("q")) e.seq = r.get<std::uint64_t>(j, "q", "event");
  const int kind = r.get<int>(j, "k", "event");
  // Notices are never stored; every other kind is.
  const bool stored = (kind >= static_cast<int>(WatchEventKind::kSnapshot) &&
                       kind <= static_cast<int>(WatchEventKind::kFinished)) ||
                      kind == static_cast<int>(WatchEventKind::kStepWaitingUser);
  if (!stored) {
    return Error::internal("stored watch state: event.k: unknown kind " + std::to_string(kind));
  }
  e.kind = static_cast<WatchEventKind>(kind);
  e.observed_at_ms = r.get<std::int64_t>(j, "o", "event");
  e.old_status = r.get<int>(j, "os", "event");
  e.new_status = r.get<int>(j, "ns", "event");
  e.step_instance_id = r.get<std::int64_t>(j, "si", "event");
  if (auto h = j.find("h"); h != j.end()) {
    e.host = read_host(r, *h, "event.h");
  }
  if (auto s = j.find("s"); s != j.end()) {
    e.snapshot = std::make_shared<const JobSnapshot>(read_snapshot(r, *s, "event.s"));
  }
  if (!r.ok()) return r.error();
  return e;
}

}  // namespace jobgw::core
