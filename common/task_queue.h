// TaskQueue: how other threads hand work to a libuv loop's thread. post()
// queues a closure and wakes the loop (uv_async_send coalesces wake-ups, so
// the loop drains everything queued each time). The owning loop runs every
// task; nobody else touches its state.
//
// Two lanes: post() for work someone is waiting on (an operator's API call,
// a metrics scrape, a drill step) and postBackground() for bulk work nobody
// waits on (health results). The loop runs the first lane before, and
// between, background tasks, so a mass health change (3,000 pairs failing at
// once, each a rebuild) delays an API call by one task, not by the whole
// backlog (bench/soak_bench.sh found 1.4 s before this).
// Thread safety: init() and close() on the loop's thread (init may also run
// before the loop's thread starts); post() and postBackground() from any thread.
// Invariants:
//   1. After close(), posting returns false and the task is not queued.
//   2. Within a lane, tasks run in the order posted.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>

namespace switchyard {

class TaskQueue {
 public:
  void init(uv_loop_t* loop);
  // Returns false (and drops the task) once closed or before init().
  bool post(std::function<void()> task);
  bool postBackground(std::function<void()> task);
  // Stops accepting and closes the wake-up handle; queued tasks are dropped.
  void close();

 private:
  bool push(std::deque<std::function<void()>>& lane, std::function<void()> task);
  void runUrgent();
  static void onAsync(uv_async_t* handle);

  uv_async_t async_{};
  std::mutex mutex_;
  std::deque<std::function<void()>> urgent_;      // GUARDED_BY(mutex_)
  std::deque<std::function<void()>> background_;  // GUARDED_BY(mutex_)
  std::atomic<bool> urgent_pending_{false};       // a hint: urgent_ may be non-empty
  bool open_ = false;                             // GUARDED_BY(mutex_)
};

}  // namespace switchyard
