#include "server/ip_log_pages.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <string>

#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

constexpr std::size_t kMaxMargin = 16 * 1024;

// A repeated message field element costs its tag (one byte for fields 1..15), its length and
// its bytes.
std::size_t framed(std::size_t bytes) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(bytes) + bytes;
}

}  // namespace

std::size_t log_page_limit(std::size_t max_send_message_bytes) {
  return max_send_message_bytes - std::min(kMaxMargin, max_send_message_bytes / 8);
}

core::Result<std::size_t> log_page_bytes(const v1::GetIpLogsRequest& request,
                                         std::size_t server_limit) {
  const std::int64_t asked = request.max_response_bytes();
  if (asked < 0 || (asked > 0 && static_cast<std::uint64_t>(asked) < kMinLogPageBytes)) {
    return core::Error::invalid_argument(
        "max_response_bytes: must be 0 (jobgw's limit) or at least " +
        std::to_string(kMinLogPageBytes) + ", got " + std::to_string(asked));
  }
  if (!request.page_token().empty()) {
    auto token = core::decode_log_page_token(request.page_token());
    if (!token) return token.error();
  }
  if (asked == 0) return server_limit;
  return std::min(server_limit, static_cast<std::size_t>(asked));
}

core::LogPageSizer proto_log_page_sizer() {
  core::LogPageSizer sizer;
  sizer.script = [](const core::ScriptLog& log) {
    v1::ScriptLog out;
    to_proto(log, &out);
    return framed(out.ByteSizeLong());
  };
  sizer.file = [](const core::FileHostLog& log) {
    v1::FileHostLog out;
    to_proto(log, &out);
    return framed(out.ByteSizeLong());
  };
  // log_type (tag + a varint of at most 5 bytes for an enum) and the longest next_page_token.
  sizer.fixed = (1 + 5) + framed(core::kMaxLogPageTokenBytes);
  return sizer;
}

}  // namespace jobgw::server
