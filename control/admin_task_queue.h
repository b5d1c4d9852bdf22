// AdminTaskQueue: the admin listener's worker threads (cpp-httplib's
// `new_task_queue` hook). Each connection runs with a read budget
// (read_budget.h) of kAdminReadBudget bytes, far above any valid request
// (a head of a few KiB, a body of at most 64 KiB): a peer that sends more,
// in its request line, headers or body, is dropped instead of buffered.
// AdminServer serves one request per connection, so the budget is per
// request too.
// Thread safety: enqueue() from httplib's listener thread; tasks run on the
// pool's threads.
#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>

namespace switchyard::control {

inline constexpr long kAdminReadBudget = 256 * 1024;

class AdminTaskQueue : public httplib::TaskQueue {
 public:
  explicit AdminTaskQueue(size_t threads) : pool_(threads) {}
  void enqueue(std::function<void()> fn) override;
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

}  // namespace switchyard::control
