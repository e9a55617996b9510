#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace jobsim {

// The per-host sandboxes under jobsim's data dir: host 101 lives in <data>/hosts/101. A path
// given in a request (absolute, as on the host) resolves inside its host's sandbox and can never
// leave it.
class Sandboxes {
 public:
  explicit Sandboxes(std::filesystem::path data_dir);

  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path host_root(int64_t host_id) const;
  // Creates the host's sandbox (and /tmp, /data inside it) when missing.
  std::filesystem::path ensure_host(int64_t host_id) const;

  // Lexical check of a request path: absolute, and its ".." never climbs above "/". Returns the
  // normalised path ("/data/x") or nullopt.
  static std::optional<std::string> normalize(const std::string& request_path);

  // Resolves `request_path` for `host_id`: lexical check, then every symlink on the way is
  // followed and the result must still be inside the sandbox. Returns nullopt on an escape.
  std::optional<std::filesystem::path> resolve(int64_t host_id,
                                               const std::string& request_path) const;

 private:
  std::filesystem::path data_dir_;
};

}  // namespace jobsim
