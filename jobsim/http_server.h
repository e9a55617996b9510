#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <string>

#include "jobsim/router.h"

namespace jobsim {

// Beast asynchronous HTTP/1.1 server: one session per connection, keep-alive, a timeout on every
// read and write. Requests go to the Router on the io thread (handlers never block).
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, Router& router);
  // Binds and listens; throws on failure. Returns the bound port.
  unsigned short listen(const std::string& host, unsigned short port);
  void stop();

 private:
  void accept();

  boost::asio::io_context& ioc_;
  Router& router_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

// Splits "HOST:PORT" or "[V6]:PORT"; throws std::invalid_argument.
std::pair<std::string, unsigned short> parse_listen(const std::string& spec);

}  // namespace jobsim
