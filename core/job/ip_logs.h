#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/targets.h"

namespace jobgw::core {

enum LogType : int { kLogScript = 1, kLogFile = 2 };

// One host's script output.
struct ScriptLog {
  Host host;
  std::string content;
  // jobgw cut `content` to fit a response page (JOB's answers never set it).
  bool truncated = false;
};

// One file movement as JOB logs it. mode 0 = upload (source side), 1 = download (target side).
struct FileLog {
  int mode = 0;
  Host src;
  std::string src_path;
  Host dest;
  std::string dest_path;
  int status = 0;  // 1 waiting, 2 uploading, 3 downloading, 4 success, 5 failed
  std::string content;
  std::string size;
  std::string speed;
  std::string progress;
};

struct FileHostLog {
  Host host;
  std::vector<FileLog> entries;
  // jobgw dropped entries or cut the last one's content to fit a response page.
  bool truncated = false;
};

// Logs of one step, for one or many hosts.
struct IpLogs {
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
  int log_type = 0;
  std::vector<ScriptLog> script_logs;
  std::vector<FileHostLog> file_logs;
};

}  // namespace jobgw::core
