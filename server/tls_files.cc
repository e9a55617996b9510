#include "server/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace jobgw::server {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

core::Error file_error(const std::string& key, const std::string& path, const std::string& why) {
  return core::Error::invalid_argument(key + " " + path + ": " + why);
}

core::Result<std::string> read_file(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error(key, path, std::string("cannot be read: ") + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Bio memory_bio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// The first certificate of a PEM file, and how many it holds.
std::unique_ptr<X509, X509Free> first_certificate(const std::string& text, int* count) {
  Bio bio = memory_bio(text);
  std::unique_ptr<X509, X509Free> first;
  *count = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (!first) {
      first.reset(cert);
    } else {
      X509_free(cert);
    }
    ++*count;
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line" behind
  return first;
}

}  // namespace

core::Result<void> check_tls_files(const TlsFiles& files) {
  auto cert_text = read_file(files.cert_key, files.cert_file);
  if (!cert_text) return cert_text.error();
  int count = 0;
  auto cert = first_certificate(cert_text.value(), &count);
  if (!cert) return file_error(files.cert_key, files.cert_file, "holds no PEM certificate");

  auto key_text = read_file(files.key_key, files.key_file);
  if (!key_text) return key_text.error();
  Bio key_bio = memory_bio(key_text.value());
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) {
    return file_error(files.key_key, files.key_file, "holds no (unencrypted) PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return file_error(
        files.key_key, files.key_file,
        "does not match the certificate in " + files.cert_key + " " + files.cert_file);
  }

  if (!files.client_ca_file.empty()) {
    auto ca_text = read_file(files.client_ca_key, files.client_ca_file);
    if (!ca_text) return ca_text.error();
    int ca_count = 0;
    if (!first_certificate(ca_text.value(), &ca_count)) {
      return file_error(files.client_ca_key, files.client_ca_file, "holds no PEM certificate");
    }
  }
  return {};
}

}  // namespace jobgw::server
