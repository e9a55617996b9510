#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <string>

#include "jobsim/job_store.h"
#include "jobsim/stats.h"

namespace jobsim {

struct CallbackOptions {
  int retries = 3;           // extra attempts after a failed one
  int retry_delay_ms = 500;  // grows linearly: delay * attempt
  int timeout_ms = 5000;     // per attempt
};

// POSTs JOB's callback body to a job's callback_url when the job ends (http:// only), retrying
// on a non-200 answer or a transport error: the first try as application/json, the retries as
// application/x-www-form-urlencoded with the same body, as JOB does. Fully asynchronous on the
// io_context.
class CallbackSender {
 public:
  CallbackSender(boost::asio::io_context& ioc, Stats& stats, CallbackOptions options)
      : ioc_(ioc), stats_(stats), options_(options) {}

  // The callback body (docs/JOB_API.md "Callback") for a finished job.
  static std::string body_for(const Job& job);
  void send(const std::string& url, const std::string& body, int64_t job_id);

 private:
  struct Attempt;
  void attempt(const std::shared_ptr<Attempt>& a);
  void done(const std::shared_ptr<Attempt>& a, bool ok, const std::string& why);

  boost::asio::io_context& ioc_;
  Stats& stats_;
  CallbackOptions options_;
};

}  // namespace jobsim
