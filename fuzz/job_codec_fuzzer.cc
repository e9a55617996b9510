// JOB's answers, byte for byte as the API gateway or ESB sent them, through every decoder of
// core/job_codec: whatever the body, a decoder returns a value or an Error naming the problem.
// The decoders do not depend on the API mode (apigw and esb answer the same envelope); the mode-
// specific encoders are fuzzed by request_validation_fuzzer.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/job/job_codec.h"
#include "fuzz/fuzz_check.h"

namespace {

using jobgw::core::Error;
using jobgw::core::ErrorKind;
using jobgw::core::JobCodec;

void check_error(const Error& e, int http_status) {
  FUZZ_CHECK(!e.message.empty(), "an error says what went wrong");
  if (http_status != 200) {
    FUZZ_CHECK(e.kind == ErrorKind::kHttp && e.http_status == http_status,
               "a non-200 answer is an HTTP error carrying its status");
  } else {
    FUZZ_CHECK(e.kind == ErrorKind::kDecode || e.kind == ErrorKind::kJob,
               "a 200 answer fails only as a decode or JOB business error");
  }
}

template <typename R>
void check(const R& result, int http_status) {
  if (!result) check_error(result.error(), http_status);
  FUZZ_CHECK(http_status == 200 || !result, "only HTTP 200 decodes to a value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto ref = JobCodec::decode_job_ref(200, body);
  check(ref, 200);
  if (ref) FUZZ_CHECK(ref->job_instance_id > 0, "a decoded JobRef names a job");

  auto status = JobCodec::decode_job_status(200, body);
  check(status, 200);
  if (status) {
    for (const auto& step : status->steps) {
      FUZZ_CHECK(step.hosts.size() <= size, "no more hosts than the body could hold");
    }
  }

  check(JobCodec::decode_batch_ip_log(200, body), 200);
  check(JobCodec::decode_ip_log(200, body), 200);
  check(JobCodec::decode_operate(200, body), 200);

  // The API gateway's own refusals (HTML or JSON of another shape) share one path.
  check(JobCodec::decode_job_status(429, body), 429);
  check(JobCodec::decode_job_ref(502, body), 502);
  return 0;
}
