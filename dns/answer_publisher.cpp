#include "dns/answer_publisher.h"

#include <thread>

namespace switchyard::dns {

bool AnswerPublisher::Reader::refresh() {
  const AnswerSet* next = publisher_->latest_.load(std::memory_order_acquire);
  if (next == current_ || next == nullptr) return false;
  current_ = next;
  acked_.store(next->generation, std::memory_order_release);
  return true;
}

void AnswerPublisher::Reader::goOffline() {
  current_ = nullptr;
  acked_.store(kOffline, std::memory_order_seq_cst);
}

void AnswerPublisher::Reader::goOnline() {
  // Announce first, then load: a set reclaim() frees while we were offline is
  // older than what we announce, and the load below sees at least the set
  // that was newest when reclaim() looked (all seq_cst, so one total order).
  acked_.store(publisher_->latest_generation_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  current_ = publisher_->latest_.load(std::memory_order_seq_cst);
  if (current_) acked_.store(current_->generation, std::memory_order_release);
}

void AnswerPublisher::publish(std::shared_ptr<const AnswerSet> set) {
  const AnswerSet* raw = set.get();
  uint64_t generation = raw->generation;
  retained_.push_back(std::move(set));
  latest_.store(raw, std::memory_order_seq_cst);
  latest_generation_.store(generation, std::memory_order_seq_cst);
  for (auto& r : readers_)
    if (r->wake_) r->wake_();
  reclaim();
}

AnswerPublisher::Reader& AnswerPublisher::addReader(std::function<void()> wake) {
  auto r = std::make_unique<Reader>();
  r->publisher_ = this;
  r->wake_ = std::move(wake);
  r->refresh();
  readers_.push_back(std::move(r));
  return *readers_.back();
}

void AnswerPublisher::removeReaders() { readers_.clear(); }

bool AnswerPublisher::allAcked(uint64_t generation) const {
  for (const auto& r : readers_)
    if (r->acked() < generation) return false;
  return true;
}

std::optional<std::chrono::nanoseconds> AnswerPublisher::waitAcked(
    uint64_t generation, std::chrono::milliseconds limit) const {
  auto start = std::chrono::steady_clock::now();
  while (!allAcked(generation)) {
    if (std::chrono::steady_clock::now() - start > limit) return std::nullopt;
    std::this_thread::yield();
  }
  return std::chrono::steady_clock::now() - start;
}

void AnswerPublisher::reclaim() {
  uint64_t oldest_in_use = UINT64_MAX;  // offline readers (kOffline) hold nothing
  for (const auto& r : readers_) oldest_in_use = std::min(oldest_in_use, r->acked_.load(std::memory_order_seq_cst));
  while (retained_.size() > 1 && retained_.front()->generation < oldest_in_use) retained_.pop_front();
}

}  // namespace switchyard::dns
