#pragma once

#include <string>
#include <vector>

namespace jobgw::testing {

// A certificate and its private key as PEM files.
struct CertFiles {
  std::string cert_file;
  std::string key_file;
};

// A certificate authority made at test time (P-256 keys, SHA-256 signatures, valid from an hour
// ago for a day) that writes its certificates into a directory the test owns. Leaf files are
// written to a temporary name and renamed, so a server watching them never reads half a file.
// Throws std::runtime_error when OpenSSL fails.
class TestCa {
 public:
  // Writes the CA certificate to dir/<name>-ca.pem.
  TestCa(std::string dir, std::string name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The CA certificate, for a peer's trust roots.
  const std::string& ca_file() const { return ca_file_; }
  std::string ca_pem() const;

  // A server certificate for `hosts` (IP literals become IP SANs, the rest DNS SANs) written
  // to dir/<stem>.pem and dir/<stem>-key.pem.
  CertFiles server_cert(const std::string& stem,
                        const std::vector<std::string>& hosts = {"127.0.0.1", "localhost"}) const;
  // A client certificate with subject CN=common_name and the given DNS SANs.
  CertFiles client_cert(const std::string& stem, const std::string& common_name,
                        const std::vector<std::string>& dns_names = {}) const;
  // As server_cert, but to the given paths (to replace a certificate a server is using).
  void write_server_cert(const CertFiles& to,
                         const std::vector<std::string>& hosts = {"127.0.0.1", "localhost"}) const;

 private:
  struct Keys;
  void write_leaf(const CertFiles& to, const std::string& common_name,
                  const std::vector<std::string>& sans, bool server) const;

  std::string dir_;
  std::string name_;
  std::string ca_file_;
  Keys* keys_;
};

// The content of a file (empty when unreadable).
std::string read_text_file(const std::string& path);

}  // namespace jobgw::testing
