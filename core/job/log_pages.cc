#include "core/job/log_pages.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

namespace jobgw::core {
namespace {

constexpr const char* kTokenPrefix = "lp1.";
// Hosts asked of JOB beyond what the previous page carried, as a fraction of it: room for a page
// whose hosts log a little less than the last one's, at little waste when they log the same.
constexpr std::size_t kHintSlackDivisor = 4;

Error bad_token(const std::string& why) { return Error::invalid_argument("page_token: " + why); }

std::string hex(std::uint64_t value) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[value & 0xF]);
    value >>= 4;
  } while (value != 0);
  return out;
}

bool parse_hex(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size() &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// FNV-1a, 64 bit: stable across processes and versions, which std::hash is not.
class Fnv {
 public:
  void add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
    // A separator, so ("ab","c") and ("a","bc") differ.
    hash_ ^= 0xFF;
    hash_ *= 0x100000001b3ULL;
  }
  void add(std::int64_t value) { add(std::to_string(value)); }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// The chunk host an entry of JOB's answer belongs to; the last one when it names none of them.
class ChunkIndex {
 public:
  explicit ChunkIndex(const std::vector<Host>& chunk)
      : last_(chunk.empty() ? 0 : chunk.size() - 1) {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i].host_id > 0) {
        by_id_.emplace(chunk[i].host_id, i);
      } else {
        by_address_.emplace(std::make_pair(chunk[i].cloud_id, chunk[i].ip), i);
      }
    }
  }

  std::size_t of(const Host& host) const {
    if (host.host_id > 0) {
      auto it = by_id_.find(host.host_id);
      if (it != by_id_.end()) return it->second;
    }
    auto it = by_address_.find(std::make_pair(host.cloud_id, host.ip));
    return it != by_address_.end() ? it->second : last_;
  }

 private:
  std::size_t last_;
  std::map<std::int64_t, std::size_t> by_id_;
  std::map<std::pair<std::int64_t, std::string>, std::size_t> by_address_;
};

// Shrinks `content` until `size()` fits `room` (or content is empty). Each round cuts what the
// last measurement overshot by; framing only shrinks with the content, so it converges fast.
template <typename Size>
void cut_to_fit(std::string& content, std::size_t room, Size size) {
  for (std::size_t now = size(); now > room && !content.empty(); now = size()) {
    const std::size_t over = now - room;
    content = utf8_prefix(content, content.size() > over ? content.size() - over : 0);
  }
}

void truncate_script(ScriptLog& log, std::size_t room, const LogPageSizer& sizer) {
  if (sizer.script(log) <= room) return;
  log.truncated = true;
  cut_to_fit(log.content, room, [&] { return sizer.script(log); });
}

void truncate_file(FileHostLog& log, std::size_t room, const LogPageSizer& sizer) {
  if (sizer.file(log) <= room) return;
  log.truncated = true;
  while (log.entries.size() > 1 && sizer.file(log) > room) log.entries.pop_back();
  if (log.entries.empty()) return;
  cut_to_fit(log.entries.back().content, room, [&] { return sizer.file(log); });
}

}  // namespace

std::string utf8_prefix(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence that would be cut.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string encode_log_page_token(const LogPageToken& token) {
  return kTokenPrefix + hex(token.offset) + "." + hex(token.chunk_hint) + "." +
         hex(token.fingerprint);
}

Result<LogPageToken> decode_log_page_token(const std::string& text) {
  const std::string prefix = kTokenPrefix;
  if (text.compare(0, prefix.size(), prefix) != 0) {
    return bad_token("not a token jobgw issued (pass next_page_token unchanged)");
  }
  std::string_view rest(text);
  rest.remove_prefix(prefix.size());
  std::uint64_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    const std::size_t dot = i < 2 ? rest.find('.') : rest.size();
    if (dot == std::string_view::npos || !parse_hex(rest.substr(0, dot), parts[i])) {
      return bad_token("malformed (pass next_page_token unchanged)");
    }
    rest.remove_prefix(i < 2 ? dot + 1 : dot);
  }
  LogPageToken token;
  token.offset = static_cast<std::size_t>(parts[0]);
  token.chunk_hint = static_cast<std::size_t>(parts[1]);
  token.fingerprint = parts[2];
  return token;
}

std::uint64_t log_pages_fingerprint(const Scope& scope, std::int64_t job_instance_id,
                                    std::int64_t step_instance_id, const std::vector<Host>& hosts) {
  Fnv fnv;
  fnv.add(scope.type.empty() ? std::string("biz") : scope.type);
  fnv.add(scope.id);
  fnv.add(job_instance_id);
  fnv.add(step_instance_id);
  for (const Host& h : hosts) {
    fnv.add(h.host_id);
    fnv.add(h.cloud_id);
    fnv.add(h.ip);
  }
  return fnv.value();
}

Result<LogPager> LogPager::start(const Scope& scope, std::int64_t job_instance_id,
                                 std::int64_t step_instance_id, std::vector<Host> hosts,
                                 const std::string& page_token, Options options) {
  const auto by_id =
      std::find_if(hosts.begin(), hosts.end(), [](const Host& h) { return h.host_id > 0; });
  const auto ip_only =
      std::find_if(hosts.begin(), hosts.end(), [](const Host& h) { return h.host_id <= 0; });
  if (by_id != hosts.end() && ip_only != hosts.end()) {
    return Error::invalid_argument(
        "hosts: " + describe(*ip_only) +
        " has no host_id while other hosts are given by id; JOB ignores ip_list when "
        "host_id_list is present, so give every host by id or every host by ip");
  }
  LogPager pager;
  pager.options_ = options;
  pager.options_.page_hosts = std::max<std::size_t>(1, options.page_hosts);
  pager.fingerprint_ = log_pages_fingerprint(scope, job_instance_id, step_instance_id, hosts);
  pager.hosts_ = std::move(hosts);
  std::size_t chunk = pager.options_.page_hosts;
  if (!page_token.empty()) {
    auto token = decode_log_page_token(page_token);
    if (!token) return token.error();
    if (token->fingerprint != pager.fingerprint_) {
      return bad_token(
          "issued for another request (scope, job, step or hosts differ); page_token only "
          "continues the request that returned it");
    }
    if (token->offset >= pager.hosts_.size()) {
      return bad_token("points past the step's " + std::to_string(pager.hosts_.size()) + " hosts");
    }
    pager.offset_ = token->offset;
    if (token->chunk_hint > 0) {
      chunk = std::min(chunk, token->chunk_hint + token->chunk_hint / kHintSlackDivisor + 1);
    }
  }
  const std::size_t end = std::min(pager.hosts_.size(), pager.offset_ + chunk);
  pager.chunk_.assign(pager.hosts_.begin() + static_cast<std::ptrdiff_t>(pager.offset_),
                      pager.hosts_.begin() + static_cast<std::ptrdiff_t>(end));
  return pager;
}

LogPage LogPager::fill(IpLogs answer, const LogPageSizer& sizer) const {
  LogPage page;
  page.logs.job_instance_id = answer.job_instance_id;
  page.logs.step_instance_id = answer.step_instance_id;
  page.logs.log_type = answer.log_type;

  // Group JOB's entries by chunk host; within a host, JOB's order.
  const ChunkIndex index(chunk_);
  std::vector<std::vector<ScriptLog>> scripts(chunk_.size());
  std::vector<std::vector<FileHostLog>> files(chunk_.size());
  for (auto& log : answer.script_logs) scripts[index.of(log.host)].push_back(std::move(log));
  for (auto& log : answer.file_logs) files[index.of(log.host)].push_back(std::move(log));

  const std::size_t budget =
      options_.max_bytes > sizer.fixed ? options_.max_bytes - sizer.fixed : 0;
  std::size_t used = 0;
  std::size_t covered = 0;
  bool full = false;  // bytes, not the chunk, ended the page
  for (std::size_t i = 0; i < chunk_.size(); ++i) {
    std::size_t host_bytes = 0;
    for (const auto& log : scripts[i]) host_bytes += sizer.script(log);
    for (const auto& log : files[i]) host_bytes += sizer.file(log);
    if (used + host_bytes > budget) {
      full = true;
      // A page always carries at least one host, cut to fit: otherwise a host whose log alone
      // exceeds the limit could never be read, and paging would not advance.
      if (covered > 0) break;
      std::size_t room = budget;
      for (auto& log : scripts[i]) {
        truncate_script(log, room, sizer);
        const std::size_t bytes = sizer.script(log);
        room = room > bytes ? room - bytes : 0;
        page.logs.script_logs.push_back(std::move(log));
        if (page.logs.script_logs.back().truncated) break;
      }
      for (auto& log : files[i]) {
        if (room == 0 && !page.logs.file_logs.empty()) {
          page.logs.file_logs.back().truncated = true;
          break;
        }
        truncate_file(log, room, sizer);
        const std::size_t bytes = sizer.file(log);
        room = room > bytes ? room - bytes : 0;
        page.logs.file_logs.push_back(std::move(log));
        if (page.logs.file_logs.back().truncated) break;
      }
      covered = 1;
      break;
    }
    used += host_bytes;
    for (auto& log : scripts[i]) page.logs.script_logs.push_back(std::move(log));
    for (auto& log : files[i]) page.logs.file_logs.push_back(std::move(log));
    ++covered;
  }

  page.hosts_covered = covered;
  const std::size_t next = offset_ + covered;
  if (next < hosts_.size()) {
    // Only a page cut short by bytes predicts the next one; otherwise ask for page_hosts again.
    page.next_page_token =
        encode_log_page_token(LogPageToken{next, fingerprint_, full ? covered : 0});
  }
  return page;
}

}  // namespace jobgw::core
