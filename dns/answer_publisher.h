// AnswerPublisher: hands the newest AnswerSet to every DNS worker without
// locks on the workers' side (read-copy-update).
//
// Thread safety:
//   - publish() and reclaim() are called by the control thread only.
//   - Each Reader belongs to one worker thread; refresh(), current(),
//     goOffline() and goOnline() are called by that worker only.
//   - addReader() happens before publish() is first called from another thread
//     than the workers' creator (the server registers readers at start-up).
// How it works:
//   1. publish() keeps the new set alive in `retained_`, stores its raw pointer
//      (release) and wakes every reader (the wake-up may coalesce: a reader
//      always takes the newest set, never a queue).
//   2. A reader loads the pointer (acquire), uses it for every later packet and
//      stores the generation it now uses in its `acked` slot.
//   3. reclaim() frees retained sets older than every reader's acknowledged
//      generation; the newest set is always retained.
//   4. A reader about to block for a long time (a UDP thread waiting in
//      recvmmsg) goes offline: it holds no set, so publish() need not wake it
//      and waitAcked() need not wait for it. goOnline() announces the newest
//      generation before loading the set (both seq_cst), so reclaim() either
//      sees the announcement or the reader loads a set newer than any freed
//      (the quiescent-state scheme of liburcu's rcu_thread_offline/online).
// Invariants:
//   1. Any pointer a reader may hold is in retained_.
//   2. Generations published are strictly increasing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "dns/answer_set.h"

namespace switchyard::dns {

class AnswerPublisher {
 public:
  class Reader {
   public:
    // Picks up the newest set; returns true if it changed.
    bool refresh();
    const AnswerSet* current() const { return current_; }
    // Holds no set until goOnline(); current() is null meanwhile.
    void goOffline();
    // Takes the newest set; the reader is an ordinary reader again.
    void goOnline();
    uint64_t acked() const { return acked_.load(std::memory_order_acquire); }

   private:
    friend class AnswerPublisher;
    AnswerPublisher* publisher_ = nullptr;
    const AnswerSet* current_ = nullptr;
    std::atomic<uint64_t> acked_{0};
    std::function<void()> wake_;
  };

  // REQUIRES: set->generation greater than any published before.
  void publish(std::shared_ptr<const AnswerSet> set);
  std::shared_ptr<const AnswerSet> latest() const { return retained_.empty() ? nullptr : retained_.back(); }

  // `wake` must be callable from the control thread (e.g. uv_async_send).
  Reader& addReader(std::function<void()> wake);
  void removeReaders();

  // True when every reader uses generation >= `generation`.
  bool allAcked(uint64_t generation) const;
  // Spins (yielding) until allAcked(generation) or `limit` passes; returns the
  // time it took, or nullopt on timeout. This is what makes a change "purged":
  // once it returns, every worker answers from the new set. A worker's wake-up
  // takes microseconds, so the control thread waits only that long.
  std::optional<std::chrono::nanoseconds> waitAcked(uint64_t generation,
                                                    std::chrono::milliseconds limit) const;
  void reclaim();
  size_t retainedCount() const { return retained_.size(); }

 private:
  static constexpr uint64_t kOffline = UINT64_MAX;  // an offline reader's acked(): newer than anything
  std::atomic<const AnswerSet*> latest_{nullptr};
  std::atomic<uint64_t> latest_generation_{0};  // stored after latest_ (see goOnline)
  std::deque<std::shared_ptr<const AnswerSet>> retained_;
  std::vector<std::unique_ptr<Reader>> readers_;
};

}  // namespace switchyard::dns
