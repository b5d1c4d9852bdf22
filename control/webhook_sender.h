// WebhookSender: POSTs every event as JSON to each `announce.webhooks` URL,
// on its own thread so a slow or dead receiver never blocks routing.
//
// Per URL, events go in order; a failed POST (no answer, or a status outside
// 2xx) is retried after 0.5, 1, 2 and 4 s, then dropped with an error log.
// The queue is bounded: beyond kMaxQueued the oldest waiting event is dropped
// (and counted) rather than growing without limit behind a dead receiver.
// Thread safety: enqueue()/setUrls() from the control thread; the sender
// thread does the I/O.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchyard::control {

class WebhookSender {
 public:
  WebhookSender();
  ~WebhookSender();
  void setUrls(std::vector<std::string> urls);
  void enqueue(std::string json_body);
  void stop();

  uint64_t delivered() const;
  uint64_t dropped() const;
  static constexpr size_t kMaxQueued = 10000;
  static constexpr int kMaxAttempts = 5;

 private:
  void run();
  bool post(const std::string& url, const std::string& body);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> urls_;   // GUARDED_BY(mutex_)
  std::deque<std::string> queue_;   // GUARDED_BY(mutex_)
  bool stopping_ = false;           // GUARDED_BY(mutex_)
  uint64_t delivered_ = 0;          // GUARDED_BY(mutex_)
  uint64_t dropped_ = 0;            // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace switchyard::control
