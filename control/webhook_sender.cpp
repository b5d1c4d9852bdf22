#include "control/webhook_sender.h"

#include "common/thread_name.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace switchyard::control {

WebhookSender::WebhookSender() : thread_([this] {
  nameThisThread("sy-webhooks");
  run();
}) {}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WebhookSender::setUrls(std::vector<std::string> urls) {
  std::lock_guard<std::mutex> lock(mutex_);
  urls_ = std::move(urls);
}

void WebhookSender::enqueue(std::string body) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (urls_.empty()) return;
    if (queue_.size() >= kMaxQueued) {
      queue_.pop_front();
      ++dropped_;
    }
    queue_.push_back(std::move(body));
  }
  cv_.notify_one();
}

uint64_t WebhookSender::delivered() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return delivered_;
}

uint64_t WebhookSender::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

bool WebhookSender::post(const std::string& url, const std::string& body) {
  auto scheme_end = url.find("://");
  auto path_start = url.find('/', scheme_end + 3);
  std::string base = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(base);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  client.set_write_timeout(5);
  auto r = client.Post(path, body, "application/json");
  return r && r->status >= 200 && r->status < 300;
}

void WebhookSender::run() {
  while (true) {
    std::string body;
    std::vector<std::string> urls;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      body = std::move(queue_.front());
      queue_.pop_front();
      urls = urls_;
    }
    for (const auto& url : urls) {
      bool ok = false;
      for (int attempt = 1; attempt <= kMaxAttempts && !ok; ++attempt) {
        ok = post(url, body);
        if (ok) break;
        std::unique_lock<std::mutex> lock(mutex_);
        // Backoff, cut short by stop(): a shutdown never waits on a dead receiver.
        if (attempt < kMaxAttempts &&
            cv_.wait_for(lock, std::chrono::milliseconds(500 << (attempt - 1)), [this] { return stopping_; }))
          return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (ok) {
        ++delivered_;
      } else {
        ++dropped_;
        spdlog::error("event=webhook_failed url={} attempts={} (event dropped)", url, kMaxAttempts);
      }
    }
  }
}

}  // namespace switchyard::control
