#include "jobsim/sandbox.h"

#include <vector>

namespace jobsim {

namespace fs = std::filesystem;

Sandboxes::Sandboxes(fs::path data_dir) : data_dir_(fs::absolute(data_dir).lexically_normal()) {}

fs::path Sandboxes::host_root(int64_t host_id) const {
  return data_dir_ / "hosts" / std::to_string(host_id);
}

fs::path Sandboxes::ensure_host(int64_t host_id) const {
  fs::path root = host_root(host_id);
  std::error_code ec;
  fs::create_directories(root / "tmp", ec);
  fs::create_directories(root / "data", ec);
  return root;
}

std::optional<std::string> Sandboxes::normalize(const std::string& request_path) {
  if (request_path.empty() || request_path[0] != '/') return std::nullopt;
  if (request_path.find('\0') != std::string::npos) return std::nullopt;
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos <= request_path.size()) {
    size_t slash = request_path.find('/', pos);
    if (slash == std::string::npos) slash = request_path.size();
    std::string part = request_path.substr(pos, slash - pos);
    if (part == "..") {
      if (parts.empty()) return std::nullopt;  // climbs above the host's root
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out;
  for (auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace {

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

std::optional<fs::path> Sandboxes::resolve(int64_t host_id, const std::string& request_path) const {
  auto norm = normalize(request_path);
  if (!norm) return std::nullopt;
  std::error_code ec;
  fs::path root = fs::weakly_canonical(host_root(host_id), ec);
  if (ec) return std::nullopt;
  fs::path candidate = root / norm->substr(1);
  fs::path real = fs::weakly_canonical(candidate, ec);
  if (ec) return std::nullopt;
  if (!inside(root, real)) return std::nullopt;
  return real;
}

}  // namespace jobsim
