#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/base/result.h"
#include "server/tls_files.h"

namespace boost::asio::ssl {
class context;
}

namespace jobgw::server {

// The certificate and key of an HTTPS listener (metrics, callback). Each new connection asks
// for current(), which looks at both files and, when either changed, builds a new context from
// them; a change that does not load (half-written files, a key that does not match) is logged
// and the previous context kept, so renewing a certificate needs no restart and a botched
// renewal does not take the listener down. Connections keep the context they started with.
class HttpTlsContext {
 public:
  // Fails, naming the key and the file, when the files cannot be used.
  static core::Result<std::shared_ptr<HttpTlsContext>> load(TlsFiles files);

  std::shared_ptr<boost::asio::ssl::context> current();

 private:
  struct Stamp {
    ino_t inode = 0;
    long long mtime_ns = 0;
    off_t size = 0;
    bool operator==(const Stamp& o) const {
      return inode == o.inode && mtime_ns == o.mtime_ns && size == o.size;
    }
  };
  struct Stamps {
    Stamp cert;
    Stamp key;
    bool operator==(const Stamps& o) const { return cert == o.cert && key == o.key; }
  };

  explicit HttpTlsContext(TlsFiles files) : files_(std::move(files)) {}
  Stamps stamps() const;
  static core::Result<std::shared_ptr<boost::asio::ssl::context>> build(const TlsFiles& files);

  const TlsFiles files_;
  std::mutex mu_;
  Stamps loaded_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace jobgw::server
