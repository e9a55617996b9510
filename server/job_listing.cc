#include "server/job_listing.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

std::string scope_type(const core::Scope& scope) {
  return scope.type.empty() ? std::string("biz") : scope.type;
}

std::int64_t created_ms(const CatalogEntry& e) {
  if (e.snapshot && e.snapshot->create_time_ms > 0) return e.snapshot->create_time_ms;
  return e.first_seen_ms;
}

// Where a page ends: the position of its last job in the listing's order.
struct Cursor {
  std::int64_t created_ms = 0;
  std::int64_t job_instance_id = 0;
  std::string scope_type;
  std::string scope_id;
};

Cursor cursor_of(const CatalogEntry& e) {
  return Cursor{created_ms(e), e.job_instance_id, scope_type(e.scope), e.scope.id};
}

// Newest first: a larger tuple sorts earlier.
auto order_key(const Cursor& c) {
  return std::tie(c.created_ms, c.job_instance_id, c.scope_type, c.scope_id);
}

// FNV-1a over the filters, so a token only continues the listing it came from, on any replica.
std::uint64_t filter_hash(const ListJobsQuery& q) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  };
  mix(q.scope.id.empty() ? std::string() : scope_type(q.scope));
  mix(q.scope.id);
  mix(std::to_string(q.state));
  mix(q.name_prefix);
  return h;
}

// Tokens are opaque to callers; hex keeps them safe in URLs and JSON without escaping.
std::string to_hex(const std::string& raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0 || hex.size() > 2048) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]);
    int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string make_token(const Cursor& c, std::uint64_t filters) {
  char head[96];
  std::snprintf(head, sizeof(head), "1|%016" PRIx64 "|%" PRId64 "|%" PRId64 "|", filters,
                c.created_ms, c.job_instance_id);
  std::string raw = head + std::to_string(c.scope_type.size()) + "|" + c.scope_type + c.scope_id;
  return to_hex(raw);
}

core::Error bad_token(const std::string& why) {
  return core::Error::invalid_argument("page_token: " + why);
}

core::Result<Cursor> parse_token(const std::string& token, std::uint64_t filters) {
  auto raw = from_hex(token);
  if (!raw) return bad_token("not a token ListJobs handed out");
  const std::string& s = *raw;
  std::uint64_t hash = 0;
  std::int64_t created = 0;
  std::int64_t job = 0;
  std::size_t type_len = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "1|%16" SCNx64 "|%" SCNd64 "|%" SCNd64 "|%zu|%n", &hash, &created,
                  &job, &type_len, &used) != 4 ||
      used <= 0 || static_cast<std::size_t>(used) + type_len > s.size()) {
    return bad_token("not a token ListJobs handed out");
  }
  if (hash != filters) {
    return bad_token("it continues a listing with other filters (scope, state, name_prefix)");
  }
  Cursor c;
  c.created_ms = created;
  c.job_instance_id = job;
  c.scope_type = s.substr(static_cast<std::size_t>(used), type_len);
  c.scope_id = s.substr(static_cast<std::size_t>(used) + type_len);
  return c;
}

bool host_waiting(int status) { return status == core::host_status::kWaiting; }
bool host_running(int status) { return status == core::host_status::kRunning; }
bool host_succeeded(int status) { return status == core::host_status::kSuccess || status == 3; }

// JOB's name once read, else the one its submit answered.
const std::string& name_of(const CatalogEntry& e) {
  return e.snapshot && !e.snapshot->name.empty() ? e.snapshot->name : e.name;
}

bool matches(const CatalogEntry& e, const ListJobsQuery& q) {
  if (!q.scope.id.empty() &&
      (scope_type(e.scope) != scope_type(q.scope) || e.scope.id != q.scope.id)) {
    return false;
  }
  const bool finished = e.snapshot && e.snapshot->finished;
  switch (q.state) {
    case v1::JOB_STATE_FILTER_RUNNING:
      if (finished) return false;
      break;
    case v1::JOB_STATE_FILTER_FINISHED:
      if (!finished) return false;
      break;
    case v1::JOB_STATE_FILTER_FAILED:
      if (!finished || e.snapshot->status == core::job_status::kSuccess) return false;
      break;
    default:
      break;
  }
  if (!q.name_prefix.empty() && name_of(e).compare(0, q.name_prefix.size(), q.name_prefix) != 0) {
    return false;
  }
  return true;
}

}  // namespace

void to_summary(const CatalogEntry& e, v1::JobSummary* out) {
  out->mutable_scope()->set_type(scope_type(e.scope));
  out->mutable_scope()->set_id(e.scope.id);
  out->set_job_instance_id(e.job_instance_id);
  out->set_operator_(e.job_operator);
  out->set_caller(e.caller);
  out->set_subscribers(static_cast<std::int32_t>(e.subscribers));
  out->set_create_time_ms(created_ms(e));
  out->set_name(name_of(e));
  if (!e.snapshot) return;
  const core::JobSnapshot& s = *e.snapshot;
  out->set_status(static_cast<v1::JobStatus>(s.status));
  out->set_finished(s.finished);
  out->set_start_time_ms(s.start_time_ms);
  out->set_end_time_ms(s.end_time_ms);
  out->set_step_count(static_cast<std::int32_t>(s.steps.size()));
  if (!s.steps.empty()) out->set_step_instance_id(s.steps.front().step_instance_id);
  v1::HostCounts* counts = out->mutable_hosts();
  for (const auto& step : s.steps) {
    for (const auto& host : step.hosts) {
      counts->set_total(counts->total() + 1);
      if (host_waiting(host.status)) {
        counts->set_waiting(counts->waiting() + 1);
      } else if (host_running(host.status)) {
        counts->set_running(counts->running() + 1);
      } else if (host_succeeded(host.status)) {
        counts->set_success(counts->success() + 1);
      } else {
        counts->set_failed(counts->failed() + 1);
      }
    }
  }
}

core::Result<v1::ListJobsResponse> list_page(
    std::vector<CatalogEntry> entries, const ListJobsQuery& query,
    const std::function<bool(const core::Scope&)>& may_read) {
  const std::uint64_t filters = filter_hash(query);
  std::optional<Cursor> after;
  if (!query.page_token.empty()) {
    auto cursor = parse_token(query.page_token, filters);
    if (!cursor) return cursor.error();
    after = std::move(cursor.value());
  }
  std::vector<CatalogEntry> kept;
  for (auto& e : entries) {
    if (!matches(e, query)) continue;
    if (after && !(order_key(cursor_of(e)) < order_key(*after))) continue;
    kept.push_back(std::move(e));
  }
  std::sort(kept.begin(), kept.end(), [](const CatalogEntry& a, const CatalogEntry& b) {
    return order_key(cursor_of(a)) > order_key(cursor_of(b));
  });
  v1::ListJobsResponse response;
  // Readable scopes are checked on what is left, once per scope.
  std::map<std::pair<std::string, std::string>, bool> readable;
  std::optional<Cursor> last;
  for (const auto& e : kept) {
    auto key = std::make_pair(scope_type(e.scope), e.scope.id);
    auto it = readable.find(key);
    if (it == readable.end()) it = readable.emplace(key, may_read(e.scope)).first;
    if (!it->second) continue;
    if (static_cast<std::size_t>(response.jobs_size()) == query.page_size) {
      response.set_next_page_token(make_token(*last, filters));
      break;
    }
    to_summary(e, response.add_jobs());
    last = cursor_of(e);
  }
  return response;
}

}  // namespace jobgw::server
