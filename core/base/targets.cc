#include "core/base/targets.h"

#include <arpa/inet.h>

namespace jobgw::core {

bool operator==(const Host& a, const Host& b) {
  return a.host_id == b.host_id && a.cloud_id == b.cloud_id && a.ip == b.ip;
}

std::string describe(const Host& host) {
  if (host.host_id != 0) {
    std::string out = "host_id=" + std::to_string(host.host_id);
    if (!host.ip.empty()) out += " (" + std::to_string(host.cloud_id) + ":" + host.ip + ")";
    return out;
  }
  return std::to_string(host.cloud_id) + ":" + host.ip;
}

IpFamily ip_family(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return IpFamily::kV4;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return IpFamily::kV6;
  return IpFamily::kInvalid;
}

}  // namespace jobgw::core
