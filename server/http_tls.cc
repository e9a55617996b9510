#include "server/http_tls.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>

namespace jobgw::server {

namespace ssl = boost::asio::ssl;

core::Result<std::shared_ptr<ssl::context>> HttpTlsContext::build(const TlsFiles& files) {
  auto checked = check_tls_files(files);
  if (!checked) return checked.error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1,
                       ec);
  context->use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    return core::Error::invalid_argument(files.cert_key + " " + files.cert_file + ": " +
                                         ec.message());
  }
  context->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) {
    return core::Error::invalid_argument(files.key_key + " " + files.key_file + ": " +
                                         ec.message());
  }
  return context;
}

HttpTlsContext::Stamps HttpTlsContext::stamps() const {
  auto stamp = [](const std::string& path) {
    Stamp s;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      s.inode = st.st_ino;
      s.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      s.size = st.st_size;
    }
    return s;
  };
  return Stamps{stamp(files_.cert_file), stamp(files_.key_file)};
}

core::Result<std::shared_ptr<HttpTlsContext>> HttpTlsContext::load(TlsFiles files) {
  std::shared_ptr<HttpTlsContext> tls(new HttpTlsContext(std::move(files)));
  tls->loaded_ = tls->stamps();
  auto built = build(tls->files_);
  if (!built) return built.error();
  tls->context_ = std::move(built.value());
  return tls;
}

std::shared_ptr<ssl::context> HttpTlsContext::current() {
  // Two stat calls per new connection: scrapes and callbacks are far too rare for that to matter.
  Stamps now = stamps();
  std::lock_guard<std::mutex> lock(mu_);
  if (now == loaded_) return context_;
  loaded_ = now;
  auto built = build(files_);
  if (!built) {
    spdlog::error("event=tls_reload_failed key={} keeping=previous error=\"{}\"", files_.cert_key,
                  built.error().message);
    return context_;
  }
  context_ = std::move(built.value());
  spdlog::info("event=tls_reloaded key={} path={}", files_.cert_key, files_.cert_file);
  return context_;
}

}  // namespace jobgw::server
