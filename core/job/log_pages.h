#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"
#include "core/job/ip_logs.h"

namespace jobgw::core {

// Where the next page of a step's logs starts: an offset into the request's full host list, plus
// a fingerprint of what that list was computed from so a token cannot silently page through a
// different request. `chunk_hint` is how many hosts the previous page carried: the next JOB call
// asks for a little more than that rather than for page_hosts, so a page that fills on bytes
// long before page_hosts does not make JOB send logs that are thrown away.
struct LogPageToken {
  std::size_t offset = 0;
  std::uint64_t fingerprint = 0;
  std::size_t chunk_hint = 0;
};

// The longest token encode_log_page_token makes, for callers reserving room for it.
constexpr std::size_t kMaxLogPageTokenBytes = 4 + 3 * 16 + 2;

std::string encode_log_page_token(const LogPageToken& token);
// A malformed token is INVALID_ARGUMENT naming page_token.
Result<LogPageToken> decode_log_page_token(const std::string& text);

// Identifies one paging run: scope, job, resolved step and the exact host list, in order.
std::uint64_t log_pages_fingerprint(const Scope& scope, std::int64_t job_instance_id,
                                    std::int64_t step_instance_id, const std::vector<Host>& hosts);

// What one response costs on the wire, measured by the caller (which knows the encoding): the
// bytes an item adds to the response, framing included, and the bytes outside the items.
struct LogPageSizer {
  std::function<std::size_t(const ScriptLog&)> script;
  std::function<std::size_t(const FileHostLog&)> file;
  std::size_t fixed = 0;
};

// One page of logs, ready to send.
struct LogPage {
  IpLogs logs;
  // Empty on the last page.
  std::string next_page_token;
  // Hosts of the full list this page accounts for (those JOB returned nothing for included).
  std::size_t hosts_covered = 0;
};

// Pages through the logs of one step for a fixed host list (the hosts a caller named, or every
// host of the step). Each page is one JOB call for `chunk()` and one `fill()` of its answer:
// hosts in list order, as many as fit in `max_bytes`; a host whose log alone does not fit on an
// empty page is cut to fit and marked truncated, so every page makes progress.
class LogPager {
 public:
  struct Options {
    std::size_t page_hosts = 500;  // most hosts asked of JOB per page
    std::size_t max_bytes = 0;     // response size limit, > 0
  };

  // Validates `page_token` (empty: first page) against the fingerprint of this request. A
  // malformed token, one from another request, or one past the end is INVALID_ARGUMENT naming
  // page_token. A list mixing hosts by id with ip-only hosts is INVALID_ARGUMENT naming hosts:
  // JOB would ignore the ip-only ones.
  static Result<LogPager> start(const Scope& scope, std::int64_t job_instance_id,
                                std::int64_t step_instance_id, std::vector<Host> hosts,
                                const std::string& page_token, Options options);

  // The hosts to ask JOB for on this page, in list order; never empty for a non-empty list.
  const std::vector<Host>& chunk() const { return chunk_; }
  std::size_t offset() const { return offset_; }
  std::size_t total_hosts() const { return hosts_.size(); }

  // Builds the page from JOB's answer for chunk(). JOB's entries go with the chunk host they
  // name (by host id, else cloud id + IP), in chunk order; an entry naming no chunk host goes
  // with the chunk's last host rather than being dropped.
  LogPage fill(IpLogs answer, const LogPageSizer& sizer) const;

 private:
  LogPager() = default;

  std::vector<Host> hosts_;
  std::vector<Host> chunk_;
  std::size_t offset_ = 0;
  std::uint64_t fingerprint_ = 0;
  Options options_;
};

// Cuts `text` to at most `max_bytes`, never inside a UTF-8 sequence.
std::string utf8_prefix(const std::string& text, std::size_t max_bytes);

}  // namespace jobgw::core
