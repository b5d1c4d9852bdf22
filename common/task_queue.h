// TaskQueue: how other threads hand work to a libuv loop's thread. post()
// queues a closure and wakes the loop (uv_async_send coalesces wake-ups, so
// the loop drains everything queued each time). The owning loop runs every
// task; nobody else touches its state.
// Thread safety: init() and close() on the loop's thread (init may also run
// before the loop's thread starts); post() from any thread.
// Invariants:
//   1. After close(), post() returns false and the task is not queued.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <mutex>

namespace switchyard {

class TaskQueue {
 public:
  void init(uv_loop_t* loop);
  // Returns false (and drops the task) once closed or before init().
  bool post(std::function<void()> task);
  // Stops accepting and closes the wake-up handle; queued tasks are dropped.
  void close();

 private:
  static void onAsync(uv_async_t* handle);

  uv_async_t async_{};
  std::mutex mutex_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  bool open_ = false;                         // GUARDED_BY(mutex_)
};

}  // namespace switchyard
