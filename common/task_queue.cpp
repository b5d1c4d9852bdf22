#include "common/task_queue.h"

namespace switchyard {

void TaskQueue::init(uv_loop_t* loop) {
  uv_async_init(loop, &async_, &TaskQueue::onAsync);
  async_.data = this;
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = true;
}

bool TaskQueue::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return false;
    tasks_.push_back(std::move(task));
  }
  uv_async_send(&async_);
  return true;
}

void TaskQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
    tasks_.clear();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void TaskQueue::onAsync(uv_async_t* handle) {
  auto* self = static_cast<TaskQueue*>(handle->data);
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    tasks.swap(self->tasks_);
  }
  for (auto& t : tasks) t();
}

}  // namespace switchyard
