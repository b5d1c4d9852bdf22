// HealthMonitor's scheduling without sockets: the pure schedule (jitter
// bounds, first gap, never before now), and the monitor driven by a fake
// prober: a probe in flight is never doubled, the write check rides on every
// N-th content probe, the first round is reported once, fall/rise apply.
#include <catch2/catch.hpp>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "health/health_monitor.h"
#include "health/probe_schedule.h"

using namespace switchyard;
using namespace switchyard::health;

TEST_CASE("probe schedule: interval after the last start, jittered, the first gap wider, never before now") {
  ProbeSchedule s(7);
  for (int i = 0; i < 1000; ++i) {
    uint64_t first = s.nextDelay(1000, true, 0);
    CHECK(first >= 500);
    CHECK(first <= 1500);
    uint64_t next = s.nextDelay(1000, false, 0);
    CHECK(next >= 900);
    CHECK(next <= 1100);
    uint64_t after_slow = s.nextDelay(1000, false, 400);  // the probe took 400 ms
    CHECK(after_slow >= 500);
    CHECK(after_slow <= 700);
    CHECK(s.nextDelay(1000, false, 5000) == 0);  // overdue: at once, never negative
  }
  ProbeSchedule a(42), b(42);
  for (int i = 0; i < 10; ++i) CHECK(a.nextDelay(10'000, i == 0, 0) == b.nextDelay(10'000, i == 0, 0));
}

namespace {

// Answers every probe on the loop (never inside start()), or never.
class FakeProber final : public ProbeRunner {
 public:
  FakeProber(uv_loop_t* loop, Callback cb) : loop_(loop), cb_(std::move(cb)) {}
  uint64_t start(const ProbeTarget& t, bool write) override {
    uint64_t id = next_++;
    {
      std::lock_guard<std::mutex> lock(mutex);
      starts.push_back({t.key().str(), write});
    }
    if (hang) return id;
    auto* timer = new Pending{{}, this, id, result};
    uv_timer_init(loop_, &timer->timer);
    timer->timer.data = timer;
    pending_[id] = timer;
    uv_timer_start(&timer->timer, [](uv_timer_t* h) {
      auto* p = static_cast<Pending*>(h->data);
      FakeProber* self = p->owner;
      uint64_t id = p->id;
      ProbeReport r;
      r.result = p->result;
      self->drop(id);
      self->cb_(id, r);
    }, 1, 0);
    return id;
  }
  void cancel(uint64_t id) override { drop(id); }
  void close() override {
    while (!pending_.empty()) drop(pending_.begin()->first);
  }

  std::atomic<bool> hang{false};
  std::atomic<ProbeResult> result{ProbeResult::Ok};
  std::mutex mutex;
  std::vector<std::pair<std::string, bool>> starts;  // pair, write check

 private:
  struct Pending {
    uv_timer_t timer;
    FakeProber* owner;
    uint64_t id;
    ProbeResult result;
  };
  void drop(uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    uv_close(reinterpret_cast<uv_handle_t*>(&it->second->timer),
             [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
    pending_.erase(it);
  }
  uv_loop_t* loop_;
  Callback cb_;
  uint64_t next_ = 1;
  std::map<uint64_t, Pending*> pending_;
};

ProbeTarget target(const std::string& region, int interval_ms) {
  ProbeTarget t;
  t.registry = "reg";
  t.region = region;
  t.connect_host = "127.0.0.1";
  t.spec.interval = std::chrono::milliseconds(interval_ms);
  t.spec.timeout = std::chrono::milliseconds(interval_ms);
  t.spec.fall = 2;
  t.spec.rise = 2;
  return t;
}

struct Harness {
  FakeProber* fake = nullptr;
  std::mutex mutex;
  std::vector<HealthChange> changes;
  std::atomic<int> first_rounds{0};
  std::unique_ptr<HealthMonitor> monitor;
  Harness() {
    HealthMonitor::Callbacks cb;
    cb.on_change = [this](HealthChange c) {
      std::lock_guard<std::mutex> lock(mutex);
      changes.push_back(std::move(c));
    };
    cb.on_first_round = [this] { ++first_rounds; };
    MonitorOptions options;
    options.seed = 1;
    options.make_prober = [this](uv_loop_t* loop, ProbeRunner::Callback c) {
      auto p = std::make_unique<FakeProber>(loop, std::move(c));
      fake = p.get();
      return p;
    };
    monitor = std::make_unique<HealthMonitor>(cb, options);
  }
  size_t starts(const std::string& key) {
    std::lock_guard<std::mutex> lock(fake->mutex);
    return static_cast<size_t>(std::count_if(fake->starts.begin(), fake->starts.end(),
                                             [&](const auto& s) { return s.first == key; }));
  }
};

}  // namespace

TEST_CASE("HealthMonitor: a probe still in flight is never doubled, and an unanswered first round is not reported") {
  Harness h;
  h.fake->hang = true;
  h.monitor->start({target("eastus", 10), target("westus", 10)}, {});
  for (int i = 0; i < 400 && (h.starts("reg/eastus") == 0 || h.starts("reg/westus") == 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // 20 intervals more
  CHECK(h.starts("reg/eastus") == 1);
  CHECK(h.starts("reg/westus") == 1);
  CHECK(h.first_rounds == 0);
  h.monitor->stop();
}

TEST_CASE("HealthMonitor: first round once, fall and rise, and the write check every N-th content probe") {
  Harness h;
  auto t = target("eastus", 10);
  t.spec.check = policy::HealthCheck::Content;
  t.spec.canary = *policy::Canary::parse("canary/hb:latest");
  t.spec.write_check = policy::WriteCheck{"probe/w", 3};
  h.monitor->start({t, target("westus", 10)}, {});
  auto waitFor = [&](auto pred) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(h.mutex);
        if (pred()) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  CHECK(waitFor([&] { return h.changes.size() == 2; }));  // Unknown -> Up, each pair, at once
  CHECK(waitFor([&] { return h.first_rounds == 1; }));  // reported after the round's changes
  for (int i = 0; i < 100 && h.starts("reg/eastus") < 7; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    std::lock_guard<std::mutex> lock(h.fake->mutex);
    std::vector<bool> writes;
    for (const auto& [key, write] : h.fake->starts)
      if (key == "reg/eastus") writes.push_back(write);
    REQUIRE(writes.size() >= 7);
    for (size_t i = 0; i < 7; ++i) CHECK(writes[i] == (i % 3 == 0));  // probes 1, 4, 7 write
    for (const auto& [key, write] : h.fake->starts)
      if (key == "reg/westus") CHECK_FALSE(write);  // api probes never write
  }
  h.fake->result = ProbeResult::ContentError;
  CHECK(waitFor([&] { return h.changes.size() >= 4 && h.changes.back().to == policy::Health::Down; }));
  {
    std::lock_guard<std::mutex> lock(h.mutex);
    const auto& down = h.changes.back();
    CHECK(down.from == policy::Health::Up);
    REQUIRE(down.recent.size() >= 2);  // fall = 2: two failures in a row
    CHECK(down.recent.back().result == ProbeResult::ContentError);
  }
  h.fake->result = ProbeResult::Throttled;  // counts as up
  CHECK(waitFor([&] { return h.changes.back().to == policy::Health::Up; }));
  CHECK(h.first_rounds == 1);
  h.monitor->stop();
}
