#include "control/resolver_purger.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "control/resolver_flush.h"

namespace switchyard::control {

class ResolverPurger::Sender {
 public:
  Sender(policy::CachingResolver spec, std::string zone, std::function<void(const PurgeReport&)>& report,
         const Flush& flush)
      : report_(report), flush_(flush) {
    status_.resolver = std::move(spec);
    zone_ = std::move(zone);
    thread_ = std::thread([this] { run(); });
  }
  ~Sender() {
    requestStop();
    if (thread_.joinable()) thread_.join();
  }
  const std::string& name() const { return status_.resolver.name; }
  void update(const policy::CachingResolver& spec, const std::string& zone) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_.resolver = spec;
    zone_ = zone;
  }
  void purge(const std::string& name, Clock::time_point decided, bool subtree) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Waiting already (it keeps its earlier decision), or a waiting flush
      // of the zone's subtree will cover it: that flush now stands for one
      // more decision, which its report says (a drill that excludes and
      // reverts within a few ms gets one flush for both).
      auto waiting = waiting_.find(key(name, subtree));
      if (waiting == waiting_.end()) waiting = waiting_.find(key(zone_, true));
      if (waiting != waiting_.end()) {
        ++waiting->second->decisions;
        return;
      }
      if (pending_.size() >= kMaxPending) {
        // One subtree flush of the zone covers every waiting name.
        Entry all{zone_, true, decided, 1};
        for (const auto& e : pending_) {
          all.decided = std::min(all.decided, e.decided);
          all.decisions += e.decisions;
        }
        pending_.clear();
        waiting_.clear();
        pending_.push_back(std::move(all));
      } else {
        pending_.push_back({name, subtree, decided, 1});
      }
      waiting_.emplace(key(pending_.back().name, pending_.back().subtree), &pending_.back());
    }
    cv_.notify_one();
  }
  ResolverStatus status() const {
    std::lock_guard<std::mutex> lock(mutex_);
    ResolverStatus s = status_;
    s.pending = pending_.size();
    return s;
  }
  // run() has returned: joining is immediate.
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  void requestStop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  static std::string key(const std::string& name, bool subtree) { return (subtree ? "*" : "=") + name; }

  struct Entry {
    std::string name;
    bool subtree = false;
    Clock::time_point decided;
    uint32_t decisions = 1;  // purge() calls this flush answers: more than one when they coalesced
  };

  void run() {
    struct Finished {
      std::atomic<bool>& flag;
      ~Finished() { flag.store(true, std::memory_order_release); }
    } finished{finished_};
    while (true) {
      Entry entry;
      policy::CachingResolver spec;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        entry = std::move(pending_.front());
        pending_.pop_front();
        waiting_.erase(key(entry.name, entry.subtree));  // a change from now on queues it again
        spec = status_.resolver;
      }
      for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
        auto started = Clock::now();
        FlushOutcome out = flush_(spec, entry.name, entry.subtree, kTimeout);
        auto done = Clock::now();
        PurgeReport r;
        r.resolver = spec.name;
        r.name = entry.name;
        r.subtree = entry.subtree;
        r.ok = out.ok;
        r.final = out.ok || attempt == kMaxAttempts;
        r.attempt = attempt;
        r.decisions = entry.decisions;
        r.reason = out.reason;
        r.detail = out.detail;
        r.seconds = std::chrono::duration<double>(done - entry.decided).count();
        r.attempt_seconds = std::chrono::duration<double>(done - started).count();
        {
          std::lock_guard<std::mutex> lock(mutex_);
          status_.up = out.ok;
          status_.last = r;
          status_.last_at = std::chrono::system_clock::now();
          if (out.ok) ++status_.flushed;
          else ++status_.errors;
          if (!out.ok && r.final) ++status_.given_up;
        }
        report_(r);
        if (out.ok) break;
        std::unique_lock<std::mutex> lock(mutex_);
        // Backoff, cut short by stop(): a shutdown never waits on a dead resolver.
        if (attempt < kMaxAttempts &&
            cv_.wait_for(lock, std::chrono::milliseconds(100 << (attempt - 1)), [this] { return stopping_; }))
          return;
      }
    }
  }

  std::function<void(const PurgeReport&)>& report_;
  const Flush& flush_;
  std::atomic<bool> finished_{false};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  ResolverStatus status_;        // GUARDED_BY(mutex_)
  std::string zone_;             // GUARDED_BY(mutex_)
  std::deque<Entry> pending_;    // GUARDED_BY(mutex_); oldest first
  // GUARDED_BY(mutex_); key() of each pending_ entry, and the entry (a
  // deque's push_back and pop_front leave the other elements where they are).
  std::unordered_map<std::string, Entry*> waiting_;
  bool stopping_ = false;        // GUARDED_BY(mutex_)
  std::thread thread_;
};

ResolverPurger::ResolverPurger(std::function<void(const PurgeReport&)> report, Flush flush)
    : report_(std::move(report)), flush_(std::move(flush)) {}

ResolverPurger::~ResolverPurger() { stop(); }

void ResolverPurger::setResolvers(const std::string& zone, const std::vector<policy::CachingResolver>& resolvers) {
  zone_ = zone;
  std::vector<std::unique_ptr<Sender>> next;
  for (const auto& spec : resolvers) {
    auto it = std::find_if(senders_.begin(), senders_.end(), [&](const auto& s) { return s && s->name() == spec.name; });
    if (it != senders_.end()) {
      (*it)->update(spec, zone);
      next.push_back(std::move(*it));
    } else {
      next.push_back(std::make_unique<Sender>(spec, zone, report_, flush_));
    }
  }
  // Senders retired by earlier reloads that have ended are joined now, so
  // a config that keeps renaming resolvers holds at most the ones still
  // finishing an attempt (each within kTimeout).
  std::erase_if(retired_, [](const auto& s) { return s->finished(); });
  for (auto& gone : senders_)
    if (gone) {
      gone->requestStop();  // its current attempt ends within kTimeout; joined in stop()
      retired_.push_back(std::move(gone));
    }
  senders_ = std::move(next);
}

void ResolverPurger::purge(const std::string& name, Clock::time_point decided, bool subtree) {
  for (auto& s : senders_) s->purge(name, decided, subtree);
}

std::vector<ResolverStatus> ResolverPurger::status() const {
  std::vector<ResolverStatus> out;
  for (const auto& s : senders_) out.push_back(s->status());
  return out;
}

void ResolverPurger::stop() {
  for (auto& s : senders_) s->requestStop();
  senders_.clear();  // joins
  retired_.clear();
}

}  // namespace switchyard::control
