#pragma once

#include <chrono>
#include <functional>

namespace jobgw::testing {

// Polls `predicate` every `interval` until it returns true (returns true) or `timeout` passes
// (returns false after one last try).
bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace jobgw::testing
