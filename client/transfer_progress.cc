#include "client/transfer_progress.h"

#include "client/job_state.h"

namespace jobgw::client {
namespace {

std::string id_key(const v1::Host& host) {
  return host.host_id() != 0 ? "#" + std::to_string(host.host_id()) : "";
}

std::string address_key(const v1::Host& host) {
  return host.ip().empty() ? "" : std::to_string(host.cloud_id()) + ":" + host.ip();
}

std::string movement_key(const v1::FileLog& e) {
  return host_address(e.src_host()) + "\n" + e.src_path() + "\n" + e.dest_path();
}

bool movement_final(const v1::FileLog& e) {
  return e.status() == v1::FILE_LOG_STATUS_SUCCESS || e.status() == v1::FILE_LOG_STATUS_FAILED;
}

}  // namespace

void TransferProgress::apply(const v1::LogEvent& event) {
  if (event.kind() != v1::LOG_EVENT_KIND_FILE || event.file_entries().empty()) return;
  std::string key = id_key(event.host());
  if (key.empty()) key = address_key(event.host());
  if (key.empty()) return;
  auto& host = hosts_[key];
  for (const auto& entry : event.file_entries()) {
    auto& movements = entry.mode() == v1::FILE_LOG_MODE_DOWNLOAD ? host.downloads : host.uploads;
    movements[movement_key(entry)] = Movement{entry, ++reports_};
  }
}

const TransferProgress::HostMovements* TransferProgress::find(const v1::Host& host) const {
  for (const auto& key : {id_key(host), address_key(host)}) {
    if (key.empty()) continue;
    auto it = hosts_.find(key);
    if (it != hosts_.end()) return &it->second;
  }
  return nullptr;
}

std::string TransferProgress::describe(const std::map<std::string, Movement>& movements) {
  int finished = 0;
  const Movement* shown = nullptr;
  const Movement* latest = nullptr;
  for (const auto& [key, m] : movements) {
    if (movement_final(m.entry)) ++finished;
    if (latest == nullptr || m.order > latest->order) latest = &m;
    if (!movement_final(m.entry) && (shown == nullptr || m.order > shown->order)) shown = &m;
  }
  if (shown == nullptr) shown = latest;
  std::string text;
  if (movements.size() > 1) {
    text = std::to_string(finished) + "/" + std::to_string(movements.size()) + " files";
  }
  for (const auto* part : {&shown->entry.progress(), &shown->entry.speed()}) {
    if (part->empty()) continue;
    if (!text.empty()) text += " ";
    text += *part;
  }
  return text;
}

std::string TransferProgress::text(const v1::Host& host) const {
  const HostMovements* found = find(host);
  if (found == nullptr) return "";
  // A target host's row is about what it receives; a source host only sends.
  if (!found->downloads.empty()) return describe(found->downloads);
  if (!found->uploads.empty()) return describe(found->uploads);
  return "";
}

}  // namespace jobgw::client
