#pragma once

#include <chrono>
#include <functional>

#include "bench_http.h"

namespace jobgw::bench {

// One poll of one caller on the worker's own connection: true when that caller is done.
using PollOnce = std::function<bool(HttpConn& conn, int caller)>;

// The baseline jobgw replaces: `callers` independent services, each polling JOB itself. Every
// caller is due at `start`; after a poll that leaves it not done it is due again `interval`
// later (a fixed delay after each answer). `workers` threads, each with its keep-alive
// connection to port, stand in for the services. Returns when every caller is done, or at
// `give_up`.
void run_pollers(int port, int callers, int workers, std::chrono::milliseconds interval,
                 std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point give_up, const PollOnce& poll);

}  // namespace jobgw::bench
