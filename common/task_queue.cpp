#include "common/task_queue.h"

namespace switchyard {

void TaskQueue::init(uv_loop_t* loop) {
  uv_async_init(loop, &async_, &TaskQueue::onAsync);
  async_.data = this;
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = true;
}

bool TaskQueue::push(std::deque<std::function<void()>>& lane, std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return false;
    lane.push_back(std::move(task));
    if (&lane == &urgent_) urgent_pending_.store(true, std::memory_order_release);
  }
  uv_async_send(&async_);
  return true;
}

bool TaskQueue::post(std::function<void()> task) { return push(urgent_, std::move(task)); }

bool TaskQueue::postBackground(std::function<void()> task) { return push(background_, std::move(task)); }

void TaskQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
    urgent_.clear();
    background_.clear();
    urgent_pending_.store(false);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void TaskQueue::runUrgent() {
  // Bounded by what was queued: each pass takes the lane as it is.
  for (int pass = 0; pass < 16 && urgent_pending_.load(std::memory_order_acquire); ++pass) {
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks.swap(urgent_);
      urgent_pending_.store(false, std::memory_order_relaxed);
    }
    for (auto& t : tasks) t();
  }
}

void TaskQueue::onAsync(uv_async_t* handle) {
  auto* self = static_cast<TaskQueue*>(handle->data);
  self->runUrgent();
  std::deque<std::function<void()>> background;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    background.swap(self->background_);
  }
  for (auto& t : background) {
    t();
    self->runUrgent();  // one atomic load when nothing is waiting
  }
  // Urgent tasks left after 16 passes are still queued: wake again for them.
  if (self->urgent_pending_.load(std::memory_order_acquire)) uv_async_send(&self->async_);
}

}  // namespace switchyard
