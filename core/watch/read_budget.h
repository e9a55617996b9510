#pragma once

#include <functional>

namespace jobgw::core {

// What every JOB status read waits for: a token of the read budget (watch.reads_per_second).
// One replica's is a TokenBucket; replicas on Redis share one budget for the deployment.
class ReadBudget {
 public:
  virtual ~ReadBudget() = default;
  // Runs fn once a read may be made: inline when one may be made now, later otherwise.
  // Priority waiters go first; others in order, so no job starves while the budget is spent.
  virtual void acquire(std::function<void()> fn, bool priority = false) = 0;
};

}  // namespace jobgw::core
