// ScrapeCache: what /metrics serves, so a flood of scrapes (no token is
// needed for /metrics) costs the control loop at most one render per
// max_age. One render runs at a time; scrapes that arrive meanwhile wait for
// it and share its text, and a text younger than max_age is served as is.
// Prometheus scrapes every 15 s or so: a text up to 1 s old loses nothing.
// Thread safety: get() from any number of HTTP threads at once; `render`
// runs on the caller's thread (it posts to the loop and waits, bounded).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace switchyard::control {

class ScrapeCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ScrapeCache(Clock::duration max_age) : max_age_(max_age) {}

  // The current text: cached, or the one render in flight, or a new render.
  // `render` returns "" when the loop did not answer (stopping, stalled);
  // that is not cached.
  std::string get(const std::function<std::string()>& render) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!text_.empty() && Clock::now() - rendered_at_ < max_age_) return text_;
    if (rendering_) {
      uint64_t seen = renders_;
      done_.wait_for(lock, std::chrono::seconds(10), [&] { return renders_ != seen || !rendering_; });
      return text_;
    }
    rendering_ = true;
    uint64_t epoch = epoch_;
    lock.unlock();
    std::string text;
    try {
      text = render();
    } catch (...) {
      text.clear();  // the loop dropped it (stopping): no text, and the next scrape tries again
    }
    lock.lock();
    rendering_ = false;
    // A render that began before an invalidate() describes the old config:
    // served to its own scrapers, never cached.
    if (!text.empty() && epoch == epoch_) {
      text_ = text;
      rendered_at_ = Clock::now();
      ++renders_;
    }
    done_.notify_all();
    return text;
  }
  // The next get() renders anew (after a reload: series come and go).
  void invalidate() {
    std::lock_guard<std::mutex> lock(mutex_);
    text_.clear();
    ++epoch_;
  }
  uint64_t renders() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return renders_;
  }

 private:
  const Clock::duration max_age_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::string text_;            // GUARDED_BY(mutex_)
  Clock::time_point rendered_at_;  // GUARDED_BY(mutex_)
  bool rendering_ = false;      // GUARDED_BY(mutex_)
  uint64_t renders_ = 0;        // GUARDED_BY(mutex_)
  uint64_t epoch_ = 0;          // GUARDED_BY(mutex_): bumped by invalidate()
};

}  // namespace switchyard::control
