#include "server/grpc_tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "server/tls_files.h"

namespace jobgw::server {

core::Result<std::shared_ptr<grpc::ServerCredentials>> grpc_server_credentials(
    const GrpcTlsOptions& options) {
  if (options.cert_file.empty()) return grpc::InsecureServerCredentials();
  TlsFiles files;
  files.cert_file = options.cert_file;
  files.key_file = options.key_file;
  files.client_ca_file = options.client_ca_file;
  auto checked = check_tls_files(files);
  if (!checked) return checked.error();

  using grpc::experimental::FileWatcherCertificateProvider;
  std::shared_ptr<FileWatcherCertificateProvider> provider;
  if (options.client_ca_file.empty()) {
    provider = std::make_shared<FileWatcherCertificateProvider>(options.key_file, options.cert_file,
                                                                options.reload_interval_s);
  } else {
    provider = std::make_shared<FileWatcherCertificateProvider>(
        options.key_file, options.cert_file, options.client_ca_file, options.reload_interval_s);
  }
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(options.require_client_cert
                                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                  : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace jobgw::server
