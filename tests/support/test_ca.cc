#include "tests/support/test_ca.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace jobgw::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test CA: " + what + " failed");
}

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

Cert new_cert(EVP_PKEY* key, const std::string& common_name) {
  static std::atomic<long> serial{1000};
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("jobgw tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

// Written beside the target and renamed over it.
void write_pem(const std::string& path, const std::function<int(FILE*)>& write) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  check(f != nullptr, "fopen " + tmp);
  const int ok = write(f);
  std::fclose(f);
  check(ok == 1, "PEM write " + path);
  std::filesystem::rename(tmp, path);
}

}  // namespace

struct TestCa::Keys {
  Pkey key;
  Cert cert;
};

TestCa::TestCa(std::string dir, std::string name)
    : dir_(std::move(dir)), name_(std::move(name)), keys_(new Keys) {
  keys_->key.reset(EVP_EC_gen("P-256"));
  check(keys_->key != nullptr, "EVP_EC_gen");
  keys_->cert = new_cert(keys_->key.get(), name_ + " test CA");
  X509* ca = keys_->cert.get();
  check(X509_set_issuer_name(ca, X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca, ca, NID_subject_key_identifier, "hash");
  check(X509_sign(ca, keys_->key.get(), EVP_sha256()) > 0, "X509_sign CA");
  ca_file_ = dir_ + "/" + name_ + "-ca.pem";
  write_pem(ca_file_, [ca](FILE* f) { return PEM_write_X509(f, ca); });
}

TestCa::~TestCa() { delete keys_; }

std::string TestCa::ca_pem() const { return read_text_file(ca_file_); }

void TestCa::write_leaf(const CertFiles& to, const std::string& common_name,
                        const std::vector<std::string>& sans, bool server) const {
  Pkey key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  Cert cert = new_cert(key.get(), common_name);
  X509* leaf = cert.get();
  X509* ca = keys_->cert.get();
  check(X509_set_issuer_name(leaf, X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  add_extension(leaf, ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(leaf, ca, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
  add_extension(leaf, ca, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& name : sans) {
    if (!san.empty()) san += ",";
    san += (is_ip(name) ? "IP:" : "DNS:") + name;
  }
  if (!san.empty()) add_extension(leaf, ca, NID_subject_alt_name, san);
  check(X509_sign(leaf, keys_->key.get(), EVP_sha256()) > 0, "X509_sign leaf");
  // Key first: a watcher that sees the new certificate already finds its key.
  write_pem(to.key_file, [&key](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  write_pem(to.cert_file, [leaf](FILE* f) { return PEM_write_X509(f, leaf); });
}

CertFiles TestCa::server_cert(const std::string& stem,
                              const std::vector<std::string>& hosts) const {
  CertFiles files{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + "-key.pem"};
  write_server_cert(files, hosts);
  return files;
}

void TestCa::write_server_cert(const CertFiles& to, const std::vector<std::string>& hosts) const {
  write_leaf(to, hosts.empty() ? "server" : hosts.front(), hosts, /*server=*/true);
}

CertFiles TestCa::client_cert(const std::string& stem, const std::string& common_name,
                              const std::vector<std::string>& dns_names) const {
  CertFiles files{dir_ + "/" + stem + ".pem", dir_ + "/" + stem + "-key.pem"};
  write_leaf(files, common_name, dns_names, /*server=*/false);
  return files;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace jobgw::testing
